"""The metric rules of the dbt project, on small handwritten raw tables (no extractors involved).

Each expected number is worked out by hand in a comment from the rows written here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from extractors.identities.build import ingest_identities
from tests.dbt_helpers import dbt_build, query, write_raw

pytestmark = pytest.mark.xdist_group("dbt")


def commit(
    sha,
    author,
    when,
    *,
    committer="maint@redhat.com",
    committed=None,
    added=1,
    removed=0,
    project="p",
    name=None,
):
    return {
        "project": project,
        "repository": "r",
        "sha": sha,
        "author_name": name or author.split("@")[0],
        "author_address": author,
        "authored_at": when,
        "committer_name": "Maint",
        "committer_address": committer,
        "committed_at": committed or when,
        "is_merge": False,
        "parent_count": 1,
        "subject": f"change {sha}",
        "files_changed": 1,
        "lines_added": added,
        "lines_removed": removed,
    }


def trailer(sha, kind, address, name="X", position=0):
    return {
        "project": "p",
        "repository": "r",
        "sha": sha,
        "kind": kind,
        "name": name,
        "address": address,
        "raw_value": f"{name} <{address}>",
        "position": position,
    }


def message(mid, sender, when, *, name=None, reply_to=None, subject="hello", is_patch=False, project="p"):
    return {
        "project": project,
        "list_name": "l",
        "message_id": mid,
        "from_name": name or sender.split("@")[0],
        "from_address": sender,
        "sent_at": when,
        "date_source": "header",
        "subject": subject,
        "in_reply_to": reply_to,
        "references": [reply_to] if reply_to else [],
        "is_patch": is_patch,
        "is_cover_letter": False,
        "is_pull_request": False,
        "is_rfc": False,
        "is_resend": False,
        "patch_version": 1,
        "source_location": f"f:{mid}",
    }


D = datetime


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("rules")
    wh = tmp / "w.duckdb"
    write_raw(
        wh,
        {
            "git_commits": [
                # jd changes employer on 2021-07-01 (explicit dated affiliation of a gmail address)
                commit("c1", "jd@gmail.com", D(2021, 3, 1)),
                commit("c2", "jd@gmail.com", D(2021, 9, 1), added=10, removed=5),
                # two IBM sub-domains roll up to IBM
                commit("c3", "a@de.ibm.com", D(2021, 4, 1)),
                commit("c4", "b@linux.vnet.ibm.com", D(2021, 5, 1)),
                # unmapped company domain: provisional organization = registrable domain
                commit("c5", "x@dev.tinycloud.dev", D(2021, 5, 2)),
                commit("c6", "n@lab.ntt.co.jp", D(2021, 5, 3)),
                # authored in 2021, committed in 2022
                commit("c7", "a@de.ibm.com", D(2021, 12, 30, 12), committed=D(2022, 1, 3)),
                commit("g1", "a@de.ibm.com", D(2023, 1, 1), project="gitonly"),
            ],
            "git_trailers": [
                trailer("c3", "signed-off-by", "a@de.ibm.com"),
                trailer("c3", "signed-off-by", "maint@redhat.com", position=1),
                trailer("c3", "acked-by", "n@lab.ntt.co.jp", position=2),
                trailer("c3", "acked-by", "maint@redhat.com", position=3),
                trailer("c4", "reviewed-by", "a@de.ibm.com"),
            ],
            "mail_messages": [
                message("m1", "a@de.ibm.com", D(2021, 4, 1), subject="[PATCH] x", is_patch=True),
                message("m2", "n@lab.ntt.co.jp", D(2021, 4, 2), reply_to="m1", name="N"),
                message("m3", "q@qq.com", D(2021, 4, 3), reply_to="m1", name="Q"),
                message("m4", "syzbot+1@syzkaller.appspotmail.com", D(2021, 4, 4)),
                message("m5", "a@de.ibm.com", D(2023, 1, 1), project="mailonly"),
            ],
            "mail_trailers": [
                # N acks in their own name: a list ack given by N, received by a@de.ibm.com
                {
                    "project": "p",
                    "list_name": "l",
                    "message_id": "m2",
                    "kind": "acked-by",
                    "name": "N",
                    "address": "n@lab.ntt.co.jp",
                    "position": 0,
                },
                # Q forwards someone else's review: not Q's review
                {
                    "project": "p",
                    "list_name": "l",
                    "message_id": "m3",
                    "kind": "reviewed-by",
                    "name": "Other",
                    "address": "other@intel.com",
                    "position": 0,
                },
            ],
        },
    )
    aff = tmp / "aff.yaml"
    aff.write_text(
        "affiliations:\n"
        "  - {address: jd@gmail.com, organization: Intel, until: 2021-06-30}\n"
        "  - {address: jd@gmail.com, organization: Red Hat, from: 2021-07-01}\n"
    )
    ingest_identities(wh, affiliation_files=[aff])
    dbt_build(wh, tmp / "target")
    return wh


def org_year(wh, org, metric, year=2021, project="p"):
    rows = query(
        wh,
        f"select {metric} from marts.organization_activity where project = '{project}' "
        f"and grain = 'year' and year(period_start) = {year} and organization = '{org}'",
    )
    return rows[0][0] if rows else None


def test_employer_change_mid_year_splits_the_year(warehouse):
    # c1 (March) counts for Intel, c2 (September, +10 -5) for Red Hat
    assert org_year(warehouse, "Intel", "commits") == 1
    assert org_year(warehouse, "Red Hat", "commits") == 1
    assert org_year(warehouse, "Red Hat", "lines_changed") == 15
    quarters = query(
        warehouse,
        "select quarter(period_start), organization from marts.person_activity "
        "where person_id = 'jd@gmail.com' and grain = 'quarter' order by 1",
    )
    assert quarters == [(1, "Intel"), (3, "Red Hat")]


def test_subdomains_roll_up_and_rules_are_recorded(warehouse):
    # c3, c4, c7 by two IBM addresses (c7 authored 2021-12-30)
    assert org_year(warehouse, "IBM", "commits") == 3
    assert org_year(warehouse, "IBM", "people") == 2
    assert org_year(warehouse, "tinycloud.dev", "commits") == 1
    assert org_year(warehouse, "NTT", "commits") == 1
    rules = dict(query(warehouse, "select address, rule from marts.affiliations where priority > 1"))
    assert rules["b@linux.vnet.ibm.com"] == "domain_map"
    assert rules["x@dev.tinycloud.dev"] == "registrable_domain"
    assert rules["q@qq.com"] == "webmail"
    explicit = query(
        warehouse,
        "select organization, valid_from, valid_until from marts.affiliations "
        "where rule = 'explicit_address' order by organization",
    )
    assert [r[0] for r in explicit] == ["Intel", "Red Hat"]


def test_trailers_two_acks_and_non_author_signoff(warehouse):
    rows = dict(
        query(
            warehouse,
            "select person_id, acks_received from marts.person_activity "
            "where grain = 'year' and project = 'p' and year(period_start) = 2021",
        )
    )
    assert rows["a@de.ibm.com"] == 2  # two Acked-by lines on c3
    signoffs = dict(
        query(
            warehouse,
            "select person_id, signoffs_non_author from marts.person_activity "
            "where grain = 'year' and project = 'p' and year(period_start) = 2021",
        )
    )
    assert signoffs["maint@redhat.com"] == 1  # a@'s own Signed-off-by is not counted
    assert signoffs["a@de.ibm.com"] == 0


def test_list_trailers_count_only_when_they_name_the_sender(warehouse):
    rows = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select person_id, list_acks_given, list_acks_received, list_reviews_given from marts.person_activity "
            "where grain = 'year' and project = 'p' and year(period_start) = 2021",
        )
    }
    assert rows["n@lab.ntt.co.jp"][0] == 1
    assert rows["a@de.ibm.com"][1] == 1
    assert rows["q@qq.com"][2] == 0


def test_community_health_counts_and_bots(warehouse):
    row = query(
        warehouse,
        "select correspondents, submitters, submitter_to_correspondent_ratio, "
        "correspondents_who_submit from marts.community_health "
        "where project = 'p' and grain = 'year' and year(period_start) = 2021",
    )[0]
    # correspondents: a, n, q (syzbot is a bot); submitters: jd, a, b, x, n
    assert row == (3, 5, pytest.approx(5 / 3), 2)
    # c7 was committed in 2022 but periods use the author date by default
    years = [
        r[0]
        for r in query(
            warehouse,
            "select year(period_start) from marts.community_health "
            "where project = 'p' and grain = 'year' order by 1",
        )
    ]
    assert years == [2021]


def test_period_without_commits_and_concentration(warehouse):
    # project mailonly: one message, no commits -> ratio 0, no concentration figures
    row = query(
        warehouse,
        "select correspondents, submitters, submitter_to_correspondent_ratio, elephant_factor "
        "from marts.community_health where project = 'mailonly' and grain = 'year'",
    )[0]
    assert row == (1, 0, 0.0, None)
    # project gitonly: a commit, no correspondent -> the ratio is null, not a division error
    row = query(
        warehouse,
        "select correspondents, submitters, submitter_to_correspondent_ratio "
        "from marts.community_health where project = 'gitonly' and grain = 'year'",
    )[0]
    assert row == (0, 1, None)
    # 2021 commits per organization: IBM 3, Intel 1, Red Hat 1, tinycloud.dev 1, NTT 1 -> total 7;
    # IBM alone is 3/7 < 50 %, IBM + the next (ties by name: Intel) = 4/7 -> elephant factor 2
    row = query(
        warehouse,
        "select elephant_factor, top_org_share, hhi, contributor_absence_factor "
        "from marts.community_health where project = 'p' and grain = 'year'",
    )[0]
    assert row[0] == 2
    assert row[1] == pytest.approx(3 / 7)
    assert row[2] == pytest.approx((9 + 1 + 1 + 1 + 1) / 49)
    # people: a 2, jd 2, b 1, x 1, n 1 -> a + jd = 4/7 >= 50 % -> 2
    assert row[3] == 2


def test_committer_date_option_moves_the_year_boundary_commit(warehouse, tmp_path):
    dbt_build(warehouse, tmp_path / "t2", {"period_date": "committer", "committer_date_projects": []})
    try:
        years = dict(
            query(
                warehouse,
                "select year(period_start), commits from marts.community_health "
                "where project = 'p' and grain = 'year' order by 1",
            )
        )
        assert years == {2021: 6, 2022: 1}
    finally:
        dbt_build(warehouse, tmp_path / "t3")
