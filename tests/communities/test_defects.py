"""The defects of the small communities, each proved through the real command line: one
`commstats run` over a config holding one project per defect (tests/communities/builder.py), then
the numbers the marts give compared with what METRICS.md wants and with recounts by git and the
stdlib (tests/independent.py)."""

from __future__ import annotations

import mailbox
import re
import subprocess
from collections import Counter
from datetime import date

import pytest

from tests import independent as ind
from tests.communities import builder as b
from tests.communities.conftest import failure_tail

pytestmark = pytest.mark.slow

BUILD = b.build_defects


def health(con, project: str, grain: str, period: str, column: str):
    """One figure of marts.community_health for one project and period."""
    rows = con.execute(
        f"select {column} from marts.community_health where project = ? and grain = ? and period_start = ?",
        [project, grain, date.fromisoformat(period)],
    ).fetchall()
    assert len(rows) == 1, f"{project} {grain} {period}: {len(rows)} community_health rows"
    return rows[0][0]


def organizations_of(con, address: str) -> set[str]:
    rows = con.execute("select distinct organization from marts.affiliations where address = ?", [address])
    return {r[0] for r in rows.fetchall()}


def person_figure(con, project: str, period: str, person: str, column: str):
    rows = con.execute(
        f"select {column} from marts.person_activity where project = ? and grain = 'month' "
        "and period_start = ? and person_id = ?",
        [project, date.fromisoformat(period), person],
    ).fetchall()
    assert len(rows) == 1, f"{project} {period} {person}: {len(rows)} person_activity rows"
    return rows[0][0]


# -- the build itself ---------------------------------------------------------------------------


def test_run_exits_0_with_every_dbt_test_green(community_run):
    assert community_run["returncode"] == 0, failure_tail(community_run)
    output = community_run["stdout"] + community_run["stderr"]
    summary = re.findall(r"Done\. PASS=\d+ WARN=\d+ ERROR=(\d+)", output)
    assert summary and summary[-1] == "0", failure_tail(community_run)


def test_every_person_of_person_activity_is_in_people(con):
    missing = con.execute(
        "select distinct person_id from marts.person_activity "
        "where person_id not in (select person_id from marts.people) order by 1"
    ).fetchall()
    assert missing == []


# -- 1. .mailmap form 4 -------------------------------------------------------------------------


def test_01_mailmap_form_4_keeps_two_people_sharing_an_address_apart(con, built):
    shortlog = ind.git(
        built.projects["d01"]["repo"], "-c", f"mailmap.file={built.mailmap}", "shortlog", "-sne", "HEAD"
    )
    people = {line[line.rindex("<") + 1 : line.rindex(">")].lower() for line in shortlog.splitlines()}
    assert len(people) == 6  # git's own count
    assert health(con, "d01", "month", "2023-03-01", "submitters") == len(people) == 6
    rows = con.execute(
        "select person_id from marts.person_activity where project = 'd01' and grain = 'year' and commits > 0"
    ).fetchall()
    assert {r[0] for r in rows} == people


# -- 2. the list's own address ------------------------------------------------------------------


def test_02_senders_rewritten_by_the_list_are_recovered_from_reply_to(con):
    assert health(con, "d02", "month", "2023-03-01", "correspondents") == 3
    rows = con.execute(
        "select person_id, messages from marts.person_activity "
        "where project = 'd02' and grain = 'month' and messages > 0"
    ).fetchall()
    assert dict(rows) == {"erin@example.net": 1, "frank@example.net": 1, "carol@d02.example": 1}


# -- 3. robots ----------------------------------------------------------------------------------


def test_03_test_robot_is_not_a_correspondent(con):
    assert health(con, "d03", "month", "2023-03-01", "correspondents") == 1


# -- 4 and 5. webmail families and project-issued addresses -------------------------------------


@pytest.mark.parametrize("address", [a for _, a in b.WEBMAIL_FAMILY_AUTHORS])
def test_04_every_webmail_family_is_independent(con, address):
    assert organizations_of(con, address) == {"(independent)"}


def test_04_webmail_commits_count_for_independent(con):
    rows = con.execute(
        "select organization, commits from marts.organization_activity "
        "where project = 'd04' and grain = 'year' and commits > 0"
    ).fetchall()
    assert dict(rows) == {"(independent)": len(b.WEBMAIL_FAMILY_AUTHORS)}


@pytest.mark.parametrize("address", [a for _, a in b.PROJECT_ISSUED])
def test_05_project_issued_address_is_independent_and_on_the_worklist(con, address):
    assert organizations_of(con, address) == {"(independent)"}
    listed = con.execute("select count(*) from marts.unaffiliated_addresses where address = ?", [address])
    assert listed.fetchone()[0] == 1


# -- 6. patch-id of a path-scoped commit --------------------------------------------------------


def test_06_scoped_commit_matches_its_posting_by_whole_commit_patch_id(con, built):
    spec = built.projects["d06"]
    # the harness: git itself gives both postings the patch-id of a commit of the repository
    commit_ids = ind.whole_commit_patch_ids(
        spec["repo"], set(ind.git(spec["repo"], "rev-list", "HEAD").split())
    )
    texts = {str(i): m.as_string() for i, m in enumerate(mailbox.mbox(str(spec["mbox"])))}
    assert set(ind.patch_ids(texts, built.root).values()) <= commit_ids
    assert health(con, "d06", "month", "2023-06-01", "patches_posted") == 2
    assert health(con, "d06", "month", "2023-06-01", "patches_merged") == 2


# -- 7 and 8. outsider merges -------------------------------------------------------------------


@pytest.mark.parametrize(("project", "month"), [("d07a", "2023-01-01"), ("d07c", "2023-02-01")])
def test_07_outsider_judged_on_author_and_committer_dates_under_both_settings(con, project, month):
    # Grace was OrgOld on her author date, Hank OrgNew on his committer date
    assert health(con, project, "month", month, "commits") == 1
    assert health(con, project, "month", month, "outsider_merge_share") == 1.0


@pytest.mark.parametrize("project", ["d08a", "d08c"])
def test_08_bot_committer_is_left_out_of_the_outsider_share(con, project):
    assert health(con, project, "month", "2023-03-01", "commits") == 9
    assert health(con, project, "month", "2023-03-01", "outsider_merge_share") == pytest.approx(1 / 8)


# -- 9. first reply -----------------------------------------------------------------------------


def test_09_unanswered_share_of_january(con):
    # three series: Kim's 0/2..2/2 (2/2 answered), Mia's v1 (answered only through v2), Mia's v2
    assert health(con, "d09", "month", "2023-01-01", "unanswered_patch_share") == pytest.approx(1 / 3)
    assert health(con, "d09", "month", "2023-01-01", "patches_posted") == 4


def test_09_first_reply_counts_only_direct_replies(con):
    # 1/2 has no reply of its own (the reply is to 2/2, two hours after 2/2)
    assert person_figure(con, "d09", "2023-01-01", "kim@d09.example", "median_hours_to_first_reply") == 2.0
    assert person_figure(con, "d09", "2023-01-01", "kim@d09.example", "series_unanswered") == 0
    # v1 is unanswered (the reply is to v2); v2 was answered a day after it was posted
    assert person_figure(con, "d09", "2023-01-01", "mia@d09.example", "median_hours_to_first_reply") == 24.0
    assert person_figure(con, "d09", "2023-01-01", "mia@d09.example", "series_unanswered") == 1
    # the project: 2/2 after 2.0 h, v2 after 24 h
    assert health(con, "d09", "month", "2023-01-01", "median_hours_to_first_reply") == pytest.approx(13.0)


# -- 10. concentration --------------------------------------------------------------------------


def concentration_unit(address: str) -> str:
    """Each independent (webmail) person is a unit of their own; others count for their employer."""
    domain = address.rsplit("@", 1)[1]
    if domain == "gmail.com":
        return address
    return {"intel.com": "Intel"}.get(domain, domain)


def test_10_each_independent_person_is_a_unit_of_concentration(con, built):
    authors = ind.git(built.projects["d10"]["repo"], "log", "--format=%ae").split()
    units = Counter(concentration_unit(a) for a in authors)
    total = sum(units.values())
    expected = sum((n / total) ** 2 for n in units.values())
    assert expected == pytest.approx(50 / 196)  # 6² + 3·2² + 2·1² over 14²
    assert round(expected, 3) == 0.255
    assert health(con, "d10", "month", "2023-06-01", "hhi") == pytest.approx(expected)


# -- 11. receiving an ack -----------------------------------------------------------------------


def test_11_receiving_an_ack_does_not_make_an_organization_active(con):
    assert health(con, "d11", "month", "2023-02-01", "organizations_active") == 1


# -- 12. obfuscated trailer address -------------------------------------------------------------


def test_12_obfuscated_trailer_address_rolls_up_to_the_registrable_domain(con):
    assert organizations_of(con, "quinn@lab.acme.co.jp") == {"acme.co.jp"}
    rows = con.execute(
        "select organization, acks_given from marts.organization_activity "
        "where project = 'd12' and grain = 'year' and acks_given > 0"
    ).fetchall()
    assert dict(rows) == {"acme.co.jp": 1}


# -- malformed authors --------------------------------------------------------------------------


def test_malformed_author_merges_with_the_clean_address_and_no_at_is_its_own_person(con):
    rows = con.execute(
        "select person_id, commits from marts.person_activity "
        "where project = 'malformed' and grain = 'year' and commits > 0"
    ).fetchall()
    assert dict(rows) == {"jane.doe@example.com": 2, "janeiexample.com": 1, "ken@example.com": 1}
    assert health(con, "malformed", "year", "2010-01-01", "submitters") == 3


def test_malformed_submitters_equal_an_independent_count(con, built):
    figures = ind.community_figures(built.config)
    assert figures[("malformed", 2010)]["submitters"] == 3
    assert (
        health(con, "malformed", "year", "2010-01-01", "submitters")
        == figures[("malformed", 2010)]["submitters"]
    )


def test_address_without_at_is_flagged_invalid(con):
    people = con.execute("select count(*) from marts.people where person_id = 'janeiexample.com'")
    assert people.fetchone()[0] == 1
    flagged = con.execute("""select sum(count) from marts.data_quality where "check" = 'invalid_address'""")
    assert flagged.fetchone()[0] == 1


# -- epoch-0 root commit ------------------------------------------------------------------------


def test_epoch_root_commit_is_kept_flagged_and_in_no_period(con, built):
    stored = con.execute("select count(*) from raw.git_commits where project = 'epoch'").fetchone()[0]
    assert stored == 3
    first = con.execute(
        "select min(period_start) from marts.community_health where project = 'epoch' and grain = 'year'"
    ).fetchone()[0]
    assert first == date(2023, 1, 1)
    early = con.execute(
        "select count(*) from marts.community_health where project = 'epoch' and period_start < date '1985-01-01'"
    ).fetchone()[0]
    assert early == 0
    flagged = con.execute(
        """select sum(count) from marts.data_quality where project = 'epoch' and "check" = 'epoch_commit'"""
    ).fetchone()[0]
    assert flagged == 1


# -- the regenerated pipermail month ------------------------------------------------------------


def test_regenerated_pipermail_copies_are_one_message(con):
    ids = con.execute(
        "select message_id from raw.mail_messages where project = 'pipermail' order by message_id"
    ).fetchall()
    kept = [r[0] for r in ids]
    # a different message (other sender and date) reusing an ID keeps a derived one
    assert [i for i in kept if "#" not in i] == [
        "pm-0@pm.example",
        "pm-1@pm.example",
        "pm-2@pm.example",
        "pm-same@pm.example",
    ]
    assert len([i for i in kept if re.fullmatch(r"pm-0@pm\.example#dup\d+", i)]) == 1
    assert len(kept) == b.PIPERMAIL_DISTINCT
    issues = con.execute(
        "select check_name, count(*) from raw.mail_issues where project = 'pipermail' group by 1"
    ).fetchall()
    checks = dict(issues)
    assert checks.get("duplicate_copy") == 3
    assert checks.get("duplicate_identical") == 1
    assert health(con, "pipermail", "year", "2010-01-01", "messages") == b.PIPERMAIL_DISTINCT


# -- nothing counted twice or lost --------------------------------------------------------------


def test_every_archived_message_is_stored_quarantined_or_a_skipped_copy(con, built):
    for project, spec in built.projects.items():
        if not spec.get("mbox"):
            continue
        held = len(mailbox.mbox(str(spec["mbox"])))
        owner = [project, spec["list_name"]]
        stored = con.execute(
            "select count(*) from raw.mail_messages where project = ? and list_name = ?", owner
        ).fetchone()[0]
        quarantined = con.execute(
            "select count(*) from raw.mail_quarantine where project = ? and list_name = ?", owner
        ).fetchone()[0]
        skipped = con.execute(
            "select count(*) from raw.mail_issues where project = ? and list_name = ? "
            "and check_name in ('duplicate_identical', 'duplicate_copy')",
            owner,
        ).fetchone()[0]
        assert stored + quarantined + skipped == held, project
    assert len(mailbox.mbox(str(built.projects["pipermail"]["mbox"]))) == b.PIPERMAIL_COPIES


def test_every_commit_is_stored_once(con, built):
    for project, spec in built.projects.items():
        if not spec.get("repo"):
            continue
        scope = ind.pathspecs(spec.get("paths") or [])
        expected = int(ind.git(spec["repo"], "rev-list", "--count", "--no-merges", "HEAD", "--", *scope))
        stored = con.execute(
            "select count(*) from raw.git_commits where project = ? and not is_merge", [project]
        ).fetchone()[0]
        assert stored == expected, project
        quarantined = con.execute("select count(*) from raw.git_quarantine where project = ?", [project])
        assert quarantined.fetchone()[0] == 0, project
        # every commit dated after 1985 is in exactly one year
        dated = int(
            ind.git(
                spec["repo"], "rev-list", "--count", "--no-merges", "--since=1985-01-01", "HEAD", "--", *scope
            )
        )
        in_years = con.execute(
            "select sum(commits) from marts.community_health where project = ? and grain = 'year'", [project]
        ).fetchone()[0]
        assert in_years == dated, project


# -- the independent recount --------------------------------------------------------------------


@pytest.mark.parametrize("column", ["correspondents", "submitters", "patches_merged"])
def test_community_health_equals_the_independent_recount(con, built, column):
    expected = ind.community_figures(built.config)
    rows = con.execute(
        f"select project, year(period_start), {column} from marts.community_health where grain = 'year'"
    ).fetchall()
    got = {(p, y): n for p, y, n in rows}
    assert {k for k, v in expected.items() if v[column]} <= set(got)
    wrong = {
        k: (n, expected.get(k, {}).get(column, 0))
        for k, n in got.items()
        if n != expected.get(k, {}).get(column, 0)
    }
    assert wrong == {}, "(project, year): (mart, recount)"


def test_git_agrees_on_the_malformed_headers(built):
    """The harness: the raw objects hold exactly the broken author lines of the real repository."""
    repo = built.projects["malformed"]["repo"]
    headers = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%an|%ae"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "Jane Doe jane.doe@example.com|Jane Doe jane.doe@example.com" in headers
    assert "Jane Doe|janeiexample.com" in headers


# -- the shapes found at scale, in one repository and archive -----------------------------------


def git_file_counts(repo) -> dict[str, list[tuple[int, int, bool]]]:
    """sha -> sorted [(added, removed, is_binary)] per file, from `git log --numstat`."""
    out: dict[str, list[tuple[int, int, bool]]] = {}
    sha = ""
    for line in ind.git(repo, "log", "--no-merges", "--numstat", "--format=@%H").splitlines():
        if line.startswith("@"):
            sha = line[1:]
            out[sha] = []
        elif line.strip():
            added, removed, _path = line.split("\t", 2)
            binary = added == "-"
            out[sha].append((0 if binary else int(added), 0 if binary else int(removed), binary))
    return {k: sorted(v) for k, v in out.items()}


def test_quirks_line_counts_equal_git_numstat_on_every_commit(con, built):
    expected = git_file_counts(built.projects["quirks"]["repo"])
    rows = con.execute(
        "select sha, lines_added, lines_removed, is_binary from raw.git_file_changes where project = 'quirks'"
    ).fetchall()
    got: dict[str, list] = {sha: [] for sha in expected}
    for sha, added, removed, binary in rows:
        got.setdefault(sha, []).append((added, removed, bool(binary)))
    assert {k: sorted(v) for k, v in got.items()} == expected
    # the history holds what the comparison is about: renames edited near the threshold, binaries
    assert sum(f[2] for files in expected.values() for f in files) == 2
    changes = [f for files in expected.values() for f in files]
    assert (14, 14, False) in changes and (34, 32, False) in changes


def test_quirks_patch_ids_equal_git_patch_id_on_every_commit(con, built):
    repo = built.projects["quirks"]["repo"]
    diffs = ind.git(repo, "log", "--no-merges", "-p", "--format=commit %H")
    out = subprocess.run(
        ["git", "-C", str(repo), "patch-id", "--stable"],
        input=diffs.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    expected = {sha: pid for pid, sha in (line.split() for line in out.splitlines())}
    rows = con.execute("select sha, patch_id from raw.git_commits where project = 'quirks'").fetchall()
    assert dict(rows) == expected


def quirks_person(con, person: str, column: str):
    rows = con.execute(
        f"select {column} from marts.person_activity where project = 'quirks' and grain = 'year' "
        "and period_start = date '2022-01-01' and person_id = ?",
        [person],
    ).fetchall()
    return rows[0][0] if rows else None


def test_quirks_conflicts_block_hides_no_trailer_and_unarchived_parents_keep_acts(con):
    # one Acked-by above a cherry-pick Conflicts: block, one in a reply whose parent is not archived
    assert quirks_person(con, b.ADA[1], "acks_given") == 2
    assert quirks_person(con, b.ADA[1], "list_acks_given") == 1


def test_quirks_a_trailer_naming_two_people_is_two_reviews(con):
    assert quirks_person(con, "rev1@quirks.example", "reviews_given") == 1
    assert quirks_person(con, "rev2@quirks.example", "reviews_given") == 1


def test_quirks_self_sign_off_under_an_old_address_is_not_a_maintainer_sign_off(con):
    total = con.execute(
        "select sum(signoffs_non_author) from marts.person_activity where project = 'quirks' and grain = 'year'"
    ).fetchone()[0]
    assert total == 0


def test_quirks_the_pull_request_robot_is_no_correspondent(con):
    assert quirks_person(con, "pr-tracker-bot@kernel.org", "messages") is None
    assert health(con, "quirks", "year", "2022-01-01", "correspondents") == 2


def test_quirks_series_without_its_cover_letter_is_one_series(con):
    assert health(con, "quirks", "year", "2022-01-01", "patches_posted") == 4
    assert health(con, "quirks", "year", "2022-01-01", "series_posted") == 2
