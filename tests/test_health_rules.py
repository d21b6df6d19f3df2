"""Community-health rules on small handwritten raw tables: outsider merges (dates, bot
committers, independent people), concentration units, what makes an organization active, and
epoch-0 commits. One warehouse, one project per case; every expected number is worked out by hand
in a comment from the rows written here.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from extractors.identities.build import ingest_identities
from tests.dbt_helpers import dbt_build, query, write_raw
from tests.test_marts_rules import commit, message

D = datetime
GRACE = "grace@gmail.com"  # OrgOld until 2023-01-31, OrgNew from 2023-02-01 (explicit, dated)
HANK = "hank@orgnew.example"  # OrgNew
GITHUB = "noreply@github.com"  # a bot by the seed pattern `noreply%`
RITA = "rita@gmail.com"  # OrgA until 2023-03-15, OrgB from 2023-03-16 (explicit, dated)
ACKERS = [(1, "Sam"), (2, "Sue"), (3, "Sid")]  # all at corp-s.example


def grace_commit(project: str) -> dict:
    """Authored 2023-01-15 (Grace at OrgOld), committed 2023-02-15 by Hank (OrgNew)."""
    row = commit("g1", GRACE, D(2023, 1, 15), committer=HANK, committed=D(2023, 2, 15), project=project)
    return {**row, "committer_name": "Hank"}


def outsider_commits() -> list[dict]:
    """Project "o", March 2023: 7 Red Hat commits committed by Red Hat, 1 Intel commit committed
    by Red Hat (an outsider merge), 1 Intel commit committed by GitHub's web UI (a bot)."""
    rows = [commit(f"o{i}", "rh@redhat.com", D(2023, 3, 1 + i), project="o") for i in range(7)]
    rows.append(commit("o7", "alice@intel.com", D(2023, 3, 10), project="o"))
    rows.append(
        {
            **commit("o8", "bob@intel.com", D(2023, 3, 11), committer=GITHUB, project="o"),
            "committer_name": "GitHub",
        }
    )
    return rows


def independent_committer_commits() -> list[dict]:
    """Project "i": two gmail people. ivy's own commit (not an outsider merge) and ivy's commit
    committed by jon (another person: an outsider merge although both are `(independent)`)."""
    return [
        commit("i1", "ivy@gmail.com", D(2023, 5, 1), committer="ivy@gmail.com", project="i"),
        commit("i2", "ivy@gmail.com", D(2023, 5, 2), committer="jon@gmail.com", project="i"),
    ]


def concentration_commits() -> list[dict]:
    """Project "c", 2023: three gmail users with 2 commits each, Intel 6 (two people, 3 each),
    two personal domains with 1 commit each (provisional organizations of their own)."""
    rows = []
    for user in ("u1", "u2", "u3"):
        rows += [commit(f"{user}-{k}", f"{user}@gmail.com", D(2023, 4, 1 + k), project="c") for k in range(2)]
    for who in ("i1", "i2"):
        rows += [commit(f"{who}-{k}", f"{who}@intel.com", D(2023, 4, 1 + k), project="c") for k in range(3)]
    rows.append(commit("p1", "ann@ann-smith.example", D(2023, 4, 9), project="c"))
    rows.append(commit("p2", "bo@bo-jones.example", D(2023, 4, 9), project="c"))
    return rows


def epoch_commits() -> list[dict]:
    """Project "e": an epoch-0 conversion commit (1970-01-01) and two commits of 2023."""
    return [
        commit("e0", "old@corp-e.example", D(1970, 1, 1), project="e"),
        commit("e1", "new@corp-e.example", D(2023, 6, 1), project="e"),
        commit("e2", "new@corp-e.example", D(2023, 7, 1), added=4, project="e"),
    ]


def rita_messages() -> list[dict]:
    """Project "r": Rita (OrgA until 2023-03-15, OrgB from 2023-03-16) posts a patch in February;
    Sam, Sue and Sid ack it on 2, 3 and 4 March (Rita still at OrgA); Rita posts a new patch on
    20 March."""
    rows = [
        {**message("rp1", RITA, D(2023, 2, 1), subject="[PATCH] r: one", project="r"), "is_patch": True},
        {**message("rp2", RITA, D(2023, 3, 20), subject="[PATCH] r: two", project="r"), "is_patch": True},
    ]
    rows += [
        message(
            f"r{i}",
            f"{name.lower()}@corp-s.example",
            D(2023, 3, 1 + i),
            reply_to="rp1",
            name=name,
            project="r",
        )
        for i, name in ACKERS
    ]
    return rows


def ack(mid: str, name: str, address: str, project: str = "k") -> dict:
    return {
        "project": project,
        "list_name": "l",
        "message_id": mid,
        "kind": "acked-by",
        "name": name,
        "address": address,
        "raw_value": f"{name} <{address}>",
        "position": 0,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("health")
    wh = tmp / "w.duckdb"
    write_raw(
        wh,
        {
            "git_commits": [
                grace_commit("ga"),  # periods by author date
                grace_commit("gc"),  # periods by committer date (var committer_date_projects)
                *outsider_commits(),
                *independent_committer_commits(),
                *concentration_commits(),
                *epoch_commits(),
            ],
            "mail_messages": [
                # Olga posts a patch in January; Peggy acks it (in her own name) in February
                {
                    **message(
                        "k1", "olga@corp-o.example", D(2023, 1, 10), subject="[PATCH] x: fix", project="k"
                    ),
                    "is_patch": True,
                    "subject_normalized": "x: fix",
                },
                message(
                    "k2", "peggy@corp-p.example", D(2023, 2, 10), reply_to="k1", name="Peggy", project="k"
                ),
                *rita_messages(),
            ],
            "mail_trailers": [
                ack("k2", "Peggy", "peggy@corp-p.example"),
                *[ack(f"r{i}", name, f"{name.lower()}@corp-s.example", project="r") for i, name in ACKERS],
            ],
        },
    )
    aff = tmp / "aff.yaml"
    aff.write_text(
        "affiliations:\n"
        f"  - {{address: {GRACE}, organization: OrgOld, until: 2023-01-31}}\n"
        f"  - {{address: {GRACE}, organization: OrgNew, from: 2023-02-01}}\n"
        f"  - {{address: {HANK}, organization: OrgNew}}\n"
        f"  - {{address: {RITA}, organization: OrgA, until: 2023-03-15}}\n"
        f"  - {{address: {RITA}, organization: OrgB, from: 2023-03-16}}\n"
    )
    ingest_identities(wh, affiliation_files=[aff])
    dbt_build(wh, tmp / "target", {"committer_date_projects": ["gc"]})
    return wh


def health(wh: Path, project: str, columns: str, grain: str = "year") -> list[tuple]:
    return query(
        wh,
        f"select period_start::varchar, {columns} from marts.community_health "
        f"where project = '{project}' and grain = '{grain}' order by period_start",
    )


# -- outsider merges ------------------------------------------------------------------------------


def test_outsider_merge_uses_each_sides_own_date(warehouse):
    # Grace (OrgOld on 2023-01-15) committed by Hank (OrgNew on 2023-02-15): an outsider merge
    # whichever date places the commit; placed in January by author date, February by committer
    flags = query(
        warehouse,
        "select project, organization, occurred_at::date::varchar, is_outsider_merge "
        "from intermediate.int_activity_events where event = 'commit' and project in ('ga', 'gc') "
        "order by project",
    )
    assert flags == [("ga", "OrgOld", "2023-01-15", True), ("gc", "OrgNew", "2023-02-15", True)]
    assert health(warehouse, "ga", "commits, outsider_merge_share", "month") == [("2023-01-01", 1, 1.0)]
    assert health(warehouse, "gc", "commits, outsider_merge_share", "month") == [("2023-02-01", 1, 1.0)]


def test_outsider_merge_under_the_global_committer_date(warehouse, tmp_path):
    # the same warehouse built again with var period_date: committer for every project: Grace's
    # commit moves to February in "ga" too and stays an outsider merge
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    dbt_build(copy, tmp_path / "target", {"period_date": "committer"})
    assert health(copy, "ga", "commits, outsider_merge_share", "month") == [("2023-02-01", 1, 1.0)]
    assert query(
        copy,
        "select occurred_at::date::varchar, is_outsider_merge from intermediate.int_activity_events "
        "where event = 'commit' and project = 'ga'",
    ) == [("2023-02-15", True)]


def test_bot_committer_is_left_out_of_the_outsider_share(warehouse):
    # 9 commits: o7 (Intel by Red Hat) is the one outsider merge of the 8 with a human committer;
    # o8, committed by GitHub (a bot), counts in neither numerator nor denominator -> 1/8
    assert health(warehouse, "o", "commits, outsider_merge_share") == [
        ("2023-01-01", 9, pytest.approx(1 / 8))
    ]
    flags = dict(
        query(
            warehouse,
            "select ref_id, is_outsider_merge from intermediate.int_activity_events "
            "where project = 'o' and ref_id in ('r:o7', 'r:o8')",
        )
    )
    assert flags == {"r:o7": True, "r:o8": None}


def test_independent_people_are_units_in_outsider_merges(warehouse):
    # ivy committing her own work is no outsider merge; jon committing ivy's is -> 1/2
    assert health(warehouse, "i", "outsider_merge_share") == [("2023-01-01", 0.5)]


# -- concentration --------------------------------------------------------------------------------


def test_each_independent_person_is_a_unit_of_concentration(warehouse):
    # units and commits: Intel 6, u1 2, u2 2, u3 2 (each gmail user alone), ann-smith 1, bo-jones 1
    # -> total 14; HHI = (6² + 3 x 2² + 2 x 1²) / 14² = (36 + 12 + 2) / 196 = 50/196 = 0.2551
    # (one `(independent)` block of 6 gave (36 + 36 + 1 + 1) / 196 = 0.378);
    # elephant factor: Intel 6 < 7, Intel + one gmail user = 8 >= 7 -> 2; top share 6/14;
    # lines: 1 per commit, so the top lines share is 6/14 too
    ((_, elephant, top, top_lines, hhi),) = health(
        warehouse, "c", "elephant_factor, top_org_share, top_org_lines_share, hhi"
    )
    assert hhi == pytest.approx(50 / 196)
    assert round(hhi, 3) == 0.255
    assert (elephant, top, top_lines) == (2, pytest.approx(6 / 14), pytest.approx(6 / 14))


def test_one_independent_person_with_most_commits_is_the_top_unit(warehouse):
    # project "i": ivy alone authored both commits -> one unit with everything
    assert health(warehouse, "i", "elephant_factor, top_org_share, hhi") == [("2023-01-01", 1, 1.0, 1.0)]


# -- what makes an organization active ------------------------------------------------------------


def test_receiving_an_ack_does_not_make_an_organization_active(warehouse):
    # January: Olga's patch (corp-o); February: Peggy's reply and ack (corp-p) -> 1 and 1
    assert health(warehouse, "k", "organizations_active", "month") == [("2023-01-01", 1), ("2023-02-01", 1)]
    # the year: both organizations did something
    assert health(warehouse, "k", "organizations_active") == [("2023-01-01", 2)]
    # corp-o's February row keeps the ack it received, with nobody active
    feb = query(
        warehouse,
        "select organization, people, messages, acks_given, acks_received "
        "from marts.organization_activity where project = 'k' and grain = 'month' "
        "and period_start = '2023-02-01' order by organization",
    )
    assert feb == [("corp-o.example", 0, 0, 0, 1), ("corp-p.example", 1, 1, 1, 0)]


def test_a_persons_organization_is_where_they_did_something(warehouse):
    # March: Rita's own acts (message, thread, patch, series: 4) count for OrgB; the 3 acks she
    # received on her February patch (ack_received + list_acked_received: 6 events) for OrgA.
    # Her row says OrgB, with the 3 acks received kept on it
    rows = query(
        warehouse,
        "select period_start::varchar, organization, patches_posted, acks_received "
        "from marts.person_activity where project = 'r' and grain = 'month' and person_id = 'rita@gmail.com' "
        "order by period_start",
    )
    assert rows == [("2023-02-01", "OrgA", 1, 0), ("2023-03-01", "OrgB", 1, 3)]
    # OrgA's March row keeps the acks received, with nobody active; March has OrgB and corp-s
    march = query(
        warehouse,
        "select organization, people, acks_received, acks_given from marts.organization_activity "
        "where project = 'r' and grain = 'month' and period_start = '2023-03-01' order by organization",
    )
    assert march == [("OrgA", 0, 3, 0), ("OrgB", 1, 0, 0), ("corp-s.example", 3, 0, 3)]
    assert health(warehouse, "r", "organizations_active", "month") == [("2023-02-01", 1), ("2023-03-01", 2)]


# -- epoch-0 commits ------------------------------------------------------------------------------


def test_epoch_commit_is_kept_flagged_and_in_no_period(warehouse):
    # kept in the activity events
    assert query(
        warehouse,
        "select count(*) from intermediate.int_activity_events where project = 'e' and event = 'commit'",
    ) == [(3,)]
    # periods start in 2023: no row for 1970 or any year between
    years = query(
        warehouse,
        "select grain, min(period_start)::varchar, count(*) from intermediate.int_periods "
        "where project = 'e' group by grain order by grain",
    )
    assert years == [
        ("cumulative", "2023-01-01", 1),
        ("month", "2023-06-01", 2),
        ("quarter", "2023-04-01", 2),
        ("year", "2023-01-01", 1),
    ]
    # the 1970 commit is in no period, cumulative included: 2 commits, 1 + 4 lines changed... each
    # commit adds `added` lines and removes none: e1 1, e2 4
    assert health(warehouse, "e", "commits, lines_changed, submitters") == [("2023-01-01", 2, 5, 1)]
    assert health(warehouse, "e", "commits, submitters", "cumulative") == [("2023-01-01", 2, 1)]
    assert query(
        warehouse,
        "select count(*) from intermediate.int_period_events where project = 'e' and ref_id = 'r:e0'",
    ) == [(0,)]
    assert query(
        warehouse,
        "select count, detail from marts.data_quality where project = 'e' and \"check\" = 'epoch_commit'",
    ) == [(1, "r:e0")]
    # every project carries the check, 0 where nothing happened
    assert query(
        warehouse,
        "select count from marts.data_quality where project = 'o' and \"check\" = 'epoch_commit'",
    ) == [(0,)]
