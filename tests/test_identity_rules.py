"""Who is who (METRICS.md): mailmap forms, robots, webmail families, project-issued addresses,
obfuscated trailers, malformed addresses, self sign-offs and dated domain rows, on small raw
tables and one real git repository, through the identity loader and `dbt build`.

Each expected number is worked out by hand in a comment from the rows written here (or read
from git itself for the mailmap).
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from core.config import RepositoryConfig
from extractors.git.ingest import ingest_repository
from extractors.identities.build import ingest_identities
from tests.dbt_helpers import dbt_build, query, write_raw

D = datetime


def commit(sha, author, when, *, name=None, committer="maint@redhat.com", project="ids"):
    return {
        "project": project,
        "repository": "r",
        "sha": sha,
        "author_name": name if name is not None else author.split("@")[0],
        "author_address": author,
        "authored_at": when,
        "committer_name": "Maint",
        "committer_address": committer,
        "committed_at": when,
        "is_merge": False,
        "parent_count": 1,
        "subject": f"change {sha}",
        "files_changed": 1,
        "lines_added": 1,
        "lines_removed": 0,
    }


def git_trailer(sha, kind, raw, *, name, address, position=0, project="ids"):
    return {
        "project": project,
        "repository": "r",
        "sha": sha,
        "kind": kind,
        "name": name,
        "address": address,
        "raw_value": raw,
        "position": position,
    }


def message(mid, sender, when, *, name, project="bots"):
    return {
        "project": project,
        "list_name": "l",
        "message_id": mid,
        "from_name": name,
        "from_address": sender,
        "sent_at": when,
        "date_source": "header",
        "subject": f"hello {mid}",
        "in_reply_to": None,
        "references": [],
        "is_patch": False,
        "is_cover_letter": False,
        "is_pull_request": False,
        "is_rfc": False,
        "is_resend": False,
        "patch_version": 1,
        "source_location": f"f:{mid}",
    }


# -- a real repository: six authors, two of them sharing a placeholder address ------------------

SHARED = "shared@localhost.localdomain"
AUTHORS = [
    ("Alice", SHARED),
    ("Bob", SHARED),
    ("Carol", "carol@corp-c.com"),
    ("Dave", "dave@corp-d.com"),
    ("Dave D", "dave.old@corp-d.com"),  # Dave again, mapped by a form-3 line
    ("Erin", "erin@corp-e.com"),
    ("Frank", "frank@corp-f.com"),
]
MAILMAP = (
    f"Alice A <alice@corp-a.com> Alice <{SHARED}>\n"  # form 4: name AND address must match
    f"Bob B <bob@corp-b.com> Bob <{SHARED}>\n"
    "Dave <dave@corp-d.com> <dave.old@corp-d.com>\n"  # form 3
    "<erin@corp-e.com> <ERIN@corp-e.com>\n"  # form 2 (no effect here, addresses are case-folded)
    "Carol C <carol@corp-c.com>\n"  # form 1: the name only
)


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    ).stdout


def make_repository(path: Path) -> Path:
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    for i, (name, address) in enumerate(AUTHORS):
        (path / f"f{i}.txt").write_text(f"{i}\n")
        _git(path, "add", ".")
        when = f"2024-0{1 + i % 6}-10T12:00:00+00:00"
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": address,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": "Carol",
            "GIT_COMMITTER_EMAIL": "carol@corp-c.com",
            "GIT_COMMITTER_DATE": when,
        }
        _git(path, "commit", "-q", "-m", f"change {i}", env=env)
    (path / ".mailmap").write_text(MAILMAP)
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("identity_rules")
    wh = tmp / "w.duckdb"
    repo = make_repository(tmp / "repo")
    write_raw(
        wh,
        {
            "mail_messages": [
                # two test-robot reports and one message from Ann in March: one correspondent
                message("o1", "osstest-admin@xenproject.org", D(2024, 3, 1), name="osstest service owner"),
                message("o2", "osstest-admin@xenproject.org", D(2024, 3, 2), name="osstest service owner"),
                message("a1", "ann@corp-a.com", D(2024, 3, 3), name="Ann"),
                message("r1", "pr-tracker-bot@kernel.org", D(2024, 3, 4), name="pr-tracker-bot"),
                message("r2", "lkp@intel.com", D(2024, 3, 5), name="kernel test robot"),
                message("r3", "lkft@linaro.org", D(2024, 3, 6), name="LKFT"),
                message("r4", "noreply@github.com", D(2024, 3, 7), name="GitHub"),
                # Alice and Bob write from the shared placeholder too: two correspondents
                message("s1", SHARED, D(2024, 1, 5), name="Alice", project="mm"),
                message("s2", SHARED, D(2024, 1, 6), name="Bob", project="mm"),
            ],
            "mail_trailers": [
                # Bob acks from the shared placeholder under his commit name: his own address
                {
                    "project": "mm",
                    "list_name": "l",
                    "message_id": "s2",
                    "kind": "acked-by",
                    "name": "Bob",
                    "address": SHARED,
                    "position": 0,
                },
            ],
            "git_commits": [
                # webmail families under other public suffixes, and the Chinese providers
                commit("w1", "carol@yahoo.co.in", D(2024, 1, 1)),
                commit("w2", "h@hotmail.co.uk", D(2024, 1, 1)),
                commit("w3", "o@outlook.fr", D(2024, 1, 1)),
                commit("w4", "p@protonmail.ch", D(2024, 1, 1)),
                commit("w5", "s@sohu.com", D(2024, 1, 1)),
                commit("w6", "y@yeah.net", D(2024, 1, 1)),
                commit("w7", "c@139.com", D(2024, 1, 1)),
                commit("w8", "g@gmx.at", D(2024, 1, 1)),
                # a company that merely has a webmail-like word inside its name stays a company
                commit("w9", "x@yahoo-inc.com", D(2024, 1, 1)),
                # project-issued personal addresses: (independent) and on the worklist
                commit("k1", "maz@kernel.org", D(2024, 1, 2)),
                commit("k2", "maz@kernel.org", D(2024, 1, 3)),
                commit("k3", "oliver.upton@linux.dev", D(2024, 1, 4)),
                # malformed author values the extractor could not repair
                commit("m1", "jane doe jane.doe@example.com", D(2024, 2, 1), name="Jane Doe"),
                commit("m2", "janeiexample.com", D(2024, 2, 2), name="Jane Doe"),
                commit("m3", "janeiexample.com", D(2024, 2, 3), name="Jane Doe"),
                commit("m4", "jane.doe@example.com", D(2024, 2, 4), name="Jane Doe"),
                # Dan signs off his own patches under his old employer's address
                commit("s1", "dan@newco.com", D(2024, 4, 1), name="Dan Author"),
                commit("s2", "dan@newco.com", D(2024, 4, 2), name="Dan Author"),
                # a Qumranet engineer before and after Red Hat bought Qumranet (2008-09-04)
                commit("q1", "avi@qumranet.com", D(2008, 6, 1), project="kvm"),
                commit("q2", "avi@qumranet.com", D(2008, 10, 1), project="kvm"),
                # XenSource -> Citrix (2007-10-22), Cloud.com -> Citrix (2011-07-12); Citrix kept
                # its brand under Cloud Software Group: the shipped seed keeps the name
                commit("x1", "k@xensource.com", D(2007, 10, 21), project="kvm"),
                commit("x2", "k@xensource.com", D(2007, 10, 22), project="kvm"),
                commit("x3", "r@cloud.com", D(2011, 7, 11), project="kvm"),
                commit("x4", "r@cloud.com", D(2011, 7, 12), project="kvm"),
                commit("x5", "r@citrix.com", D(2023, 1, 1), project="kvm"),
            ],
            "git_trailers": [
                # an obfuscated trailer, de-obfuscated at extraction: it rolls up by public suffix
                git_trailer(
                    "w1",
                    "acked-by",
                    "Quinn <quinn at lab.acme.co.jp>",
                    name="Quinn",
                    address="quinn@lab.acme.co.jp",
                ),
                git_trailer(
                    "s1",
                    "signed-off-by",
                    "Dan Author <dan@oldco.com>",
                    name="Dan Author",
                    address="dan@oldco.com",
                ),
                git_trailer(
                    "s1",
                    "signed-off-by",
                    "Maint <maint@redhat.com>",
                    name="Maint",
                    address="maint@redhat.com",
                    position=1,
                ),
                # spacing and case differ: still Dan's own
                git_trailer(
                    "s2",
                    "signed-off-by",
                    "dan  author <dan@home.example.net>",
                    name="dan  author",
                    address="dan@home.example.net",
                ),
                git_trailer(
                    "s2",
                    "signed-off-by",
                    "Maint <maint@redhat.com>",
                    name="Maint",
                    address="maint@redhat.com",
                    position=1,
                ),
                # a leftover malformed trailer value is its own person too
                git_trailer(
                    "m4", "reviewed-by", "Rita <rita.example.org>", name="Rita", address="rita.example.org"
                ),
            ],
        },
    )
    ingest_repository(wh, "mm", RepositoryConfig(name="repo", path=repo), tmp / "cache")
    ingest_identities(wh, mailmaps=[repo / ".mailmap"])
    dbt_build(wh, tmp / "target")
    return wh, repo


def org_of(wh: Path, address: str, event: str = "commit") -> list[tuple]:
    return query(
        wh,
        "select distinct organization, affiliation_rule from intermediate.int_activity_events "
        f"where address = '{address}' and event = '{event}' order by 1",
    )


# -- mailmap ---------------------------------------------------------------------------------------


def test_mailmap_form_4_keeps_people_sharing_an_address_apart(warehouse):
    wh, repo = warehouse
    # git's own count of authors under the mailmap
    shortlog = _git(repo, "shortlog", "-sne", "HEAD").splitlines()
    assert len(shortlog) == 6
    counts = query(
        wh,
        "select submitters, correspondents, correspondents_who_submit from marts.community_health "
        "where project = 'mm' and grain = 'cumulative'",
    )
    assert counts == [(6, 2, 2)]
    # every author resolves to the address git's check-mailmap gives
    for name, address in AUTHORS:
        expected = _git(repo, "check-mailmap", f"{name} <{address}>").strip()
        git_address = expected.rsplit("<", 1)[1].rstrip(">").lower()
        person = query(
            wh,
            "select distinct e.person_id from intermediate.int_activity_events as e "
            "join staging.stg_raw__git_commits as c on e.ref_id = c.repository || ':' || c.sha "
            f"where e.project = 'mm' and e.event = 'commit' and c.author_name = '{name}'",
        )
        assert person == [(git_address,)], (name, expected)
    people = {r[0] for r in query(wh, "select person_id from marts.people")}
    assert {"alice@corp-a.com", "bob@corp-b.com", "dave@corp-d.com"} <= people
    # nobody committed under the bare placeholder with another name: it is no person's address
    assert query(
        wh, "select count(*) from marts.person_activity where person_id = 'shared@localhost.localdomain'"
    ) == [(0,)]


def test_mailmap_form_4_applies_to_mail_trailers(warehouse):
    wh, _ = warehouse
    rows = query(wh, "select address from staging.stg_raw__mail_trailers where message_id = 's2'")
    assert rows == [("bob@corp-b.com",)]


def test_mailmap_form_4_matches_name_case_insensitively(warehouse):
    wh, _ = warehouse
    rows = query(
        wh,
        "select address, canonical_address, match_name from staging.stg_raw__identity_aliases "
        "where match_name is not null order by 1, 3",
    )
    assert rows == [(SHARED, "alice@corp-a.com", "Alice"), (SHARED, "bob@corp-b.com", "Bob")]


# -- bots ------------------------------------------------------------------------------------------


def test_test_robots_are_not_correspondents(warehouse):
    wh, _ = warehouse
    # March: osstest x2, pr-tracker-bot, lkp, lkft, GitHub (all robots) and Ann -> 1
    march = query(
        wh,
        "select correspondents from marts.community_health "
        "where project = 'bots' and grain = 'month' and period_start = date '2024-03-01'",
    )
    assert march == [(1,)]
    bots = dict(
        query(
            wh,
            "select address, is_bot from intermediate.int_addresses_resolved where address in "
            "('osstest-admin@xenproject.org', 'pr-tracker-bot@kernel.org', 'lkp@intel.com', "
            "'lkft@linaro.org', 'noreply@github.com', 'ann@corp-a.com')",
        )
    )
    assert bots == {
        "osstest-admin@xenproject.org": True,
        "pr-tracker-bot@kernel.org": True,
        "lkp@intel.com": True,
        "lkft@linaro.org": True,
        "noreply@github.com": True,
        "ann@corp-a.com": False,
    }


# -- organizations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "carol@yahoo.co.in",
        "h@hotmail.co.uk",
        "o@outlook.fr",
        "p@protonmail.ch",
        "s@sohu.com",
        "y@yeah.net",
        "c@139.com",
        "g@gmx.at",
    ],
)
def test_webmail_families_under_any_public_suffix(warehouse, address):
    assert org_of(warehouse[0], address) == [("(independent)", "webmail")]


def test_a_webmail_word_inside_a_company_domain_is_not_webmail(warehouse):
    assert org_of(warehouse[0], "x@yahoo-inc.com") == [("yahoo-inc.com", "registrable_domain")]


def test_project_issued_addresses_are_independent_and_on_the_worklist(warehouse):
    wh, _ = warehouse
    assert org_of(wh, "maz@kernel.org") == [("(independent)", "project_personal")]
    assert org_of(wh, "oliver.upton@linux.dev") == [("(independent)", "project_personal")]
    rows = query(
        wh,
        "select address, domain, rule, commits from marts.unaffiliated_addresses "
        "where rule = 'project_personal' order by activity_rank",
    )
    # maz: 2 commits, oliver: 1
    assert rows == [
        ("maz@kernel.org", "kernel.org", "project_personal", 2),
        ("oliver.upton@linux.dev", "linux.dev", "project_personal", 1),
    ]


def test_obfuscated_trailer_address_rolls_up_by_public_suffix(warehouse):
    wh, _ = warehouse
    assert org_of(wh, "quinn@lab.acme.co.jp", "ack_given") == [("acme.co.jp", "registrable_domain")]
    assert query(
        wh,
        "select registrable_domain from staging.stg_raw__address_domains where address = 'quinn@lab.acme.co.jp'",
    ) == [("acme.co.jp",)]


def test_dated_domain_rows_follow_acquisitions(warehouse):
    wh, _ = warehouse
    rows = query(
        wh,
        "select c.sha, e.organization from intermediate.int_activity_events as e "
        "join staging.stg_raw__git_commits as c on e.ref_id = c.repository || ':' || c.sha "
        "where e.project = 'kvm' and e.event = 'commit' order by 1",
    )
    assert rows == [
        ("q1", "Qumranet"),
        ("q2", "Red Hat"),
        ("x1", "XenSource"),
        ("x2", "Citrix"),
        ("x3", "Cloud.com"),
        ("x4", "Citrix"),
        ("x5", "Citrix"),
    ]


# -- malformed addresses ---------------------------------------------------------------------------


def test_malformed_addresses_are_their_own_people_and_flagged(warehouse):
    wh, _ = warehouse
    people = {
        r[0]: r[1]
        for r in query(
            wh,
            "select person_id, is_invalid_address from marts.people where person_id in "
            "('jane doe jane.doe@example.com', 'janeiexample.com', 'jane.doe@example.com', 'rita.example.org')",
        )
    }
    assert people == {
        "jane doe jane.doe@example.com": True,
        "janeiexample.com": True,
        "jane.doe@example.com": False,
        "rita.example.org": True,
    }
    assert org_of(wh, "janeiexample.com") == [("(unknown)", None)]
    assert org_of(wh, "jane doe jane.doe@example.com") == [("(unknown)", None)]
    # three values (two authors, one reviewer), five acts: 3 commits + review given + received
    # (the review received goes to the valid jane.doe@example.com)
    row = query(
        wh,
        "select count, detail from marts.data_quality "
        "where project = 'ids' and source = 'identities' and \"check\" = 'invalid_address'",
    )
    assert row == [(3, "4 acts; e.g. jane doe jane.doe@example.com")]
    # every person of the activity marts is in marts.people (also a dbt relationships test)
    orphans = query(
        wh,
        "select count(*) from marts.person_activity as a "
        "left join marts.people as p using (person_id) where p.person_id is null",
    )
    assert orphans == [(0,)]


# -- self sign-offs --------------------------------------------------------------------------------


def test_sign_off_in_the_authors_name_under_another_address_is_their_own(warehouse):
    wh, _ = warehouse
    rows = query(
        wh,
        "select address, count(*) from intermediate.int_activity_events "
        "where project = 'ids' and event = 'signoff_non_author' group by 1 order by 1",
    )
    # s1, s2: Dan's own (dan@oldco.com, `dan  author` at home) are not counted; Maint's two are
    assert rows == [("maint@redhat.com", 2)]


# -- the dated employer map shipped for KVM, QEMU and Xen ------------------------------------------


def _employer_map() -> Path:
    from core.config import REPO_ROOT, load_config

    cfg = load_config(REPO_ROOT / "configs" / "virtualization.yaml")
    files = cfg.identities.affiliations
    assert [f.name for f in files] == ["virtualization-employers.yaml"]
    return files[0]


def test_employer_map_intervals_never_overlap(monkeypatch):
    from extractors.identities.files import read_affiliations

    monkeypatch.delenv("COMMSTATS_WAREHOUSE", raising=False)
    entries = read_affiliations(_employer_map()).affiliations
    by_domain: dict[str, list] = {}
    for e in entries:
        assert e.domain, e
        by_domain.setdefault(e.domain, []).append(e)
    for domain, rows in by_domain.items():
        rows.sort(key=lambda e: e.valid_from or datetime.min.date())
        for before, after in zip(rows, rows[1:], strict=False):
            # each interval ends the day before the next one starts: no gap, no overlap
            assert before.valid_until is not None and after.valid_from is not None, domain
            assert (after.valid_from - before.valid_until).days == 1, domain
    # the acquisitions of METRICS.md are dated
    dated = {d for d, rows in by_domain.items() if len(rows) > 1}
    assert {"qumranet.com", "xensource.com", "sun.com", "novell.com", "citrix.com", "vmware.com"} <= dated


def test_employer_map_dates_a_qumranet_address(tmp_path, monkeypatch):
    monkeypatch.delenv("COMMSTATS_WAREHOUSE", raising=False)
    wh = tmp_path / "w.duckdb"
    write_raw(
        wh,
        {
            "git_commits": [
                commit("q1", "avi@qumranet.com", D(2008, 9, 3, 23), project="kvm"),
                commit("q2", "avi@qumranet.com", D(2008, 9, 4, 1), project="kvm"),
                commit("n1", "jbeulich@novell.com", D(2010, 6, 1), project="kvm"),
                commit("n2", "jbeulich@novell.com", D(2012, 6, 1), project="kvm"),
                commit("l1", "a@linux.vnet.ibm.com", D(2012, 6, 1), project="kvm"),
                commit("c1", "r@citrix.com", D(2022, 9, 29), project="kvm"),
                commit("c2", "r@citrix.com", D(2022, 9, 30), project="kvm"),
            ]
        },
    )
    ingest_identities(wh, affiliation_files=[_employer_map()])
    dbt_build(wh, tmp_path / "target")
    rows = query(
        wh,
        "select c.sha, e.organization, e.affiliation_rule from intermediate.int_activity_events as e "
        "join staging.stg_raw__git_commits as c on e.ref_id = c.repository || ':' || c.sha "
        "where e.event = 'commit' order by 1",
    )
    assert rows == [
        ("c1", "Citrix", "explicit_domain"),
        ("c2", "Cloud Software Group", "explicit_domain"),
        ("l1", "IBM", "explicit_domain"),
        ("n1", "Novell", "explicit_domain"),
        ("n2", "SUSE", "explicit_domain"),
        ("q1", "Qumranet", "explicit_domain"),
        ("q2", "Red Hat", "explicit_domain"),
    ]
