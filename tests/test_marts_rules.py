"""The metric rules of the dbt project, on small handwritten raw tables (no extractors involved).

Each expected number is worked out by hand in a comment from the rows written here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from extractors.identities.build import ingest_identities
from tests.dbt_helpers import dbt_build, query, write_raw


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
    # two Acked-by lines on c3, plus N's ack on the list for m1 (a patch no commit matches)
    assert rows["a@de.ibm.com"] == 3
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


# -- threads, series, patch matching, replies, combined acks (project "m") -----------------------


def mail(mid, sender, when, subject, *, name=None, reply_to=None, references=None, **patch):
    row = message(mid, sender, when, name=name, reply_to=reply_to, subject=subject, project="m")
    row["references"] = references if references is not None else ([reply_to] if reply_to else [])
    row["subject_normalized"] = patch.pop("normalized", subject.lower())
    row.update(patch)
    return row


def mail_trailer(mid, kind, name, address, position=0):
    return {
        "project": "m",
        "list_name": "l",
        "message_id": mid,
        "kind": kind,
        "name": name,
        "address": address,
        "raw_value": f"{name} <{address}>",
        "position": position,
    }


def git_trailer(sha, kind, raw, address=None, name=None, position=0):
    return {
        "project": "m",
        "repository": "r",
        "sha": sha,
        "kind": kind,
        "name": name,
        "address": address,
        "raw_value": raw,
        "position": position,
    }


ALICE = "alice@intel.com"
COVER = {"is_cover_letter": True, "patch_version": 1, "patch_counter": 0, "patch_total": 2}


@pytest.fixture(scope="module")
def mail_warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("mailrules")
    wh = tmp / "w.duckdb"
    jan1 = D(2024, 1, 1)
    write_raw(
        wh,
        {
            "mail_messages": [
                # a two-patch series: cover letter p0, patches p1 and p2@x in its thread
                mail("p0", ALICE, jan1, "[PATCH 0/2] mm: rework", normalized="mm: rework", **COVER),
                mail(
                    "p1",
                    ALICE,
                    jan1,
                    "[PATCH 1/2] mm: part one",
                    reply_to="p0",
                    normalized="mm: part one",
                    is_patch=True,
                    patch_counter=1,
                    patch_total=2,
                    patch_id="pid1",
                ),
                mail(
                    "p2@x",
                    ALICE,
                    jan1,
                    "[PATCH 2/2] mm: part two",
                    reply_to="p0",
                    normalized="mm: part two",
                    is_patch=True,
                    patch_counter=2,
                    patch_total=2,
                ),
                # Bob acks the cover letter after 10 hours; the author's own and a bot's replies
                # come earlier but are nobody else's
                mail(
                    "r1",
                    "bob@b.org",
                    D(2024, 1, 1, 10),
                    "Re: [PATCH 0/2] mm: rework",
                    name="Bob",
                    reply_to="p0",
                ),
                mail("r2", ALICE, D(2024, 1, 1, 1), "Re: [PATCH 1/2] mm: part one", reply_to="p1"),
                mail(
                    "r3",
                    "patchwork-bot+m@kernel.org",
                    D(2024, 1, 1, 2),
                    "Re: [PATCH 2/2] mm: part two",
                    reply_to="p2@x",
                ),
                # a lone patch first answered after 15 days: unanswered; Carol forwards Zed's review
                mail(
                    "l1",
                    ALICE,
                    D(2024, 2, 1),
                    "[PATCH] mm: fix leak",
                    normalized="mm: fix leak",
                    is_patch=True,
                ),
                mail(
                    "r4",
                    "carol@c.com",
                    D(2024, 2, 16),
                    "Re: [PATCH] mm: fix leak",
                    name="Carol",
                    reply_to="l1",
                ),
                # a lone patch five days before the archive ends: too early to call unanswered
                # dated by the mbox From_ line: its Date header could not be read
                mail(
                    "m1",
                    ALICE,
                    D(2024, 3, 10),
                    "[PATCH] mm: other",
                    normalized="mm: other",
                    is_patch=True,
                    date_source="from_line",
                ),
                # threading: References when In-Reply-To is not archived; subject for a bare Re:;
                # a fresh post with an old subject starts its own thread
                mail("d1", "dave@d.org", D(2024, 3, 1), "Question about x", date_source="received"),
                mail(
                    "d2",
                    "erin@e.org",
                    D(2024, 3, 2),
                    "Re: Question about x",
                    reply_to="missing@x",
                    references=["d1", "missing@x"],
                    normalized="question about x",
                ),
                mail(
                    "d3", "frank@f.org", D(2024, 3, 3), "Re: Question about x", normalized="question about x"
                ),
                mail("d5", "gina@g.org", D(2024, 3, 4), "Question about x"),
                mail("e1", "dave@d.org", D(2024, 3, 15), "Last"),
            ],
            "mail_trailers": [
                mail_trailer("r1", "acked-by", "Bob", "bob@b.org"),
                mail_trailer("r4", "reviewed-by", "Zed", "zed@z.org"),
            ],
            "git_commits": [
                # p1 by patch-id (Bob's ack carried into the commit), p2 by its Link:, l1 by subject
                {**commit("c1", ALICE, D(2024, 1, 5), project="m"), "patch_id": "pid1"},
                commit("c2", ALICE, D(2024, 1, 5), committer=ALICE, project="m"),
                {**commit("c3", ALICE, D(2024, 2, 20), project="m"), "subject": "mm: fix leak"},
            ],
            "git_trailers": [
                git_trailer("c1", "acked-by", "Bob <bob@b.org>", "bob@b.org", "Bob"),
                git_trailer("c2", "link", "https://lore.kernel.org/r/p2%40x", position=1),
                # an obfuscated address, de-obfuscated at extraction
                git_trailer("c3", "acked-by", "Bob <bob at b.org>", "bob@b.org", "Bob"),
            ],
        },
    )
    ingest_identities(wh)
    dbt_build(wh, tmp / "target")
    return wh


def health_2024(wh, columns: str) -> tuple:
    return query(
        wh,
        f"select {columns} from marts.community_health where project = 'm' and grain = 'year'",
    )[0]


def test_threads_by_references_then_subject(mail_warehouse):
    parents = dict(
        query(
            mail_warehouse,
            "select message_id, coalesce(parent_id, '-') || ' ' || coalesce(parent_rule, '-') "
            "from intermediate.int_mail_messages_threaded where message_id like 'd%'",
        )
    )
    assert parents == {"d1": "- -", "d2": "d1 references", "d3": "d1 subject", "d5": "- -"}
    # roots: p0, l1, m1, d1, d5, e1
    assert health_2024(mail_warehouse, "threads_started") == (6,)


def test_series_and_patch_matching(mail_warehouse):
    rules = dict(query(mail_warehouse, "select message_id, match_rule from intermediate.int_patches"))
    assert rules == {"p0": None, "p1": "patch_id", "p2@x": "link", "l1": "subject_author", "m1": None}
    assert health_2024(mail_warehouse, "series_posted, patches_posted, patches_merged") == (3, 4, 3)


def test_first_reply_and_unanswered_series(mail_warehouse):
    hours = dict(
        query(mail_warehouse, "select message_id, hours_to_first_reply from intermediate.int_patches")
    )
    # Bob's reply to the cover letter answers both patches; the author and the bot do not count
    assert hours == {"p0": 10.0, "p1": 10.0, "p2@x": 10.0, "l1": 360.0, "m1": None}
    # median over p1, p2, l1; series: p0 answered, l1 not, m1 too recent to tell
    assert health_2024(mail_warehouse, "median_hours_to_first_reply, unanswered_patch_share") == (10.0, 0.5)


def test_cover_letter_ack_counts_once_per_patch(mail_warehouse):
    rows = {
        r[0]: r[1:]
        for r in query(
            mail_warehouse,
            "select person_id, acks_given, list_acks_given, acks_received, reviews_given "
            "from marts.person_activity where project = 'm' and grain = 'year'",
        )
    }
    # one act on c1 (list and commit agree), one on c2 (p2's commit, given on the list only),
    # one on c3 (in git only, written `bob at b.org`)
    assert rows["bob@b.org"] == (3, 2, 0, 0)
    assert rows[ALICE][2] == 3
    # Carol forwarded Zed's review: counted for nobody, listed as a mismatch
    assert rows["carol@c.com"][3] == 0
    assert query(mail_warehouse, "select trailer_address from marts.trailer_mismatches") == [("zed@z.org",)]
    exchange = query(
        mail_warehouse,
        "select reviewer_organization, author_organization, acks from marts.review_exchange "
        "where project = 'm' and grain = 'year'",
    )
    assert exchange == [("b.org", "Intel", 3)]


def test_outsider_merges_and_data_quality(mail_warehouse):
    # c1 and c3: Intel author, Red Hat committer; c2 committed by its author
    assert health_2024(mail_warehouse, "outsider_merge_share")[0] == pytest.approx(2 / 3)
    checks = dict(
        query(mail_warehouse, "select \"check\", count from marts.data_quality where project = 'm'")
    )
    assert checks["trailer_mismatch"] == 1
    assert checks["thread_by_subject"] == 1
    assert checks["messages"] == 14
    # two of the fourteen messages were dated otherwise than by their Date header
    assert query(
        mail_warehouse,
        "select count, share, detail from marts.data_quality where project = 'm' and \"check\" = 'date_fallback'",
    ) == [(2, pytest.approx(2 / 14), "from_line, received")]


def test_unaffiliated_worklist_ranks_by_activity(mail_warehouse):
    rows = query(
        mail_warehouse,
        "select activity_rank, address, messages from marts.unaffiliated_addresses order by 1 limit 2",
    )
    # dave@d.org sent two messages; bob, carol, ... one each (ties by address)
    assert rows == [(1, "dave@d.org", 2), (2, "bob@b.org", 1)]


def test_include_bots_var_counts_bots(mail_warehouse, tmp_path):
    bot = "patchwork-bot+m@kernel.org"
    sql = f"select count(*) from marts.person_activity where person_id = '{bot}'"
    assert query(mail_warehouse, sql) == [(0,)]
    dbt_build(mail_warehouse, tmp_path / "bots", {"include_bots": True}, command="run")
    try:
        assert query(mail_warehouse, sql)[0][0] > 0
        assert query(mail_warehouse, f"select is_counted from marts.people where person_id = '{bot}'") == [
            (True,)
        ]
    finally:
        dbt_build(mail_warehouse, tmp_path / "back", command="run")
