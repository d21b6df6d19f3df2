"""The whole pipeline on the generated sample: `commstats run` into a temporary warehouse, then
the marts compared with values computed independently from the git repositories and mailboxes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tests import independent as ind

pytestmark = pytest.mark.slow

# the config's scope [virt/, "arch/*/kvm/", include/linux/kvm*.h] spelled as git pathspecs: a
# directory glob needs git's glob magic to match the files below it
KVM_PATHS = ["virt/", ":(glob)arch/*/kvm/**", "include/linux/kvm*.h"]
PROJECTS = {
    # project -> (repository, path scope, mailbox)
    "vmcore": ("vmcore.git", [], "vmcore-devel.mbox"),
    "kernel-virt": ("minikernel.git", KVM_PATHS, "kvm.mbox"),
}


@pytest.fixture(scope="module")
def run(pipeline_run: dict) -> dict:
    con = duckdb.connect(str(pipeline_run["warehouse"]), read_only=True)
    state = {**pipeline_run, "con": con}
    yield state
    state["con"].close()


@pytest.fixture(scope="module")
def mailmap(sample_dir: Path) -> ind.Mailmap:
    return ind.Mailmap(sample_dir / "repos" / "vmcore.git", sample_dir / "identities" / "mailmap")


def mart(con, sql: str) -> dict:
    return {tuple(r[:-1]) if len(r) > 2 else r[0]: r[-1] for r in con.execute(sql).fetchall()}


def test_summary_names_outputs(run):
    out = run["stdout"]
    assert str(run["warehouse"]) in out
    charts = sorted((run["sample"] / "output" / "charts").glob("*.png"))
    assert f"charts:    {run['sample'] / 'output' / 'charts'} ({len(charts)} PNG)" in out
    assert (run["sample"] / "output" / "charts" / "correspondents_vs_submitters.png").stat().st_size > 10_000


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_commits_and_lines_per_person_per_year_equal_git_log(run, mailmap, project):
    repo, paths, _ = PROJECTS[project]
    commits = ind.commits(run["sample"] / "repos" / repo, paths)
    people = mailmap.resolve({c["author"] for c in commits})
    expected_commits = Counter((people[c["author"]], c["at"].year) for c in commits)
    expected_lines: Counter = Counter()
    for c in commits:
        expected_lines[(people[c["author"]], c["at"].year)] += c["added"] + c["removed"]
    rows = (
        run["con"]
        .execute(
            "select person_id, year(period_start), commits, lines_changed from marts.person_activity "
            "where project = ? and grain = 'year' and commits > 0",
            [project],
        )
        .fetchall()
    )
    assert {(p, y): n for p, y, n, _ in rows} == dict(expected_commits)
    assert {(p, y): n for p, y, _, n in rows} == dict(expected_lines)
    # and the scope mattered for the path-filtered project
    if paths:
        everything = ind.commits(run["sample"] / "repos" / repo, [])
        assert len(everything) > len(commits) > 0


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_correspondents_submitters_and_ratio_per_year(run, mailmap, project):
    repo, paths, mbox = PROJECTS[project]
    msgs = [m for m in ind.messages(run["sample"] / "mail" / mbox) if not ind.is_bot(m["address"])]
    commits = ind.commits(run["sample"] / "repos" / repo, paths)
    people = mailmap.resolve({m["address"] for m in msgs} | {c["author"] for c in commits})
    corr = ind.distinct_per_year((m["at"].year, people[m["address"]]) for m in msgs)
    subs = ind.distinct_per_year((c["at"].year, people[c["author"]]) for c in commits)
    both: dict[int, int] = {}
    for year in corr:
        writers = {people[m["address"]] for m in msgs if m["at"].year == year}
        authors = {people[c["author"]] for c in commits if c["at"].year == year}
        both[year] = len(writers & authors)
    rows = (
        run["con"]
        .execute(
            "select year(period_start), correspondents, submitters, submitter_to_correspondent_ratio, "
            "correspondents_who_submit from marts.community_health where project = ? and grain = 'year'",
            [project],
        )
        .fetchall()
    )
    got = {r[0]: r[1:] for r in rows}
    assert sorted(got) == sorted(set(corr) | set(subs))
    for year, (c, s, ratio, overlap) in got.items():
        assert (c, s, overlap) == (corr.get(year, 0), subs.get(year, 0), both.get(year, 0)), year
        assert ratio == pytest.approx(s / c)


def test_messages_per_person_per_year(run, mailmap):
    msgs = [
        m for m in ind.messages(run["sample"] / "mail" / "vmcore-devel.mbox") if not ind.is_bot(m["address"])
    ]
    people = mailmap.resolve({m["address"] for m in msgs})
    expected = Counter((people[m["address"]], m["at"].year) for m in msgs)
    rows = (
        run["con"]
        .execute(
            "select person_id, year(period_start), messages from marts.person_activity "
            "where project = 'vmcore' and grain = 'year' and messages > 0"
        )
        .fetchall()
    )
    assert {(p, y): n for p, y, n in rows} == dict(expected)


def test_acks_given_per_person_per_year(run, mailmap):
    acks = ind.trailers(run["sample"] / "repos" / "vmcore.git", "Acked-by", [])
    people = mailmap.resolve({a for _, a, _ in acks})
    expected = Counter((people[a], at.year) for _, a, at in acks)
    rows = (
        run["con"]
        .execute(
            "select person_id, year(period_start), acks_given from marts.person_activity "
            "where project = 'vmcore' and grain = 'year' and acks_given > 0"
        )
        .fetchall()
    )
    assert {(p, y): n for p, y, n in rows} == dict(expected)
    assert sum(expected.values()) > 50


@pytest.mark.parametrize("organization", ["IBM", "Red Hat", "Intel"])
def test_organization_commits_per_year(run, organization):
    sample = run["sample"]
    aff = ind.Affiliations(sample / "identities" / "affiliations.yaml")
    for project, (repo, paths, _) in PROJECTS.items():
        commits = ind.commits(sample / "repos" / repo, paths)
        expected = Counter(
            c["at"].year for c in commits if aff.organization(c["author"], c["at"].date()) == organization
        )
        rows = (
            run["con"]
            .execute(
                "select year(period_start), commits from marts.organization_activity "
                "where project = ? and grain = 'year' and organization = ? and commits > 0",
                [project, organization],
            )
            .fetchall()
        )
        assert dict(rows) == dict(expected), project
        assert sum(expected.values()) > 0


def test_quarters_and_months_add_up_to_years(run):
    rows = (
        run["con"]
        .execute(
            "select grain, sum(commits), sum(messages) from marts.community_health group by grain order by grain"
        )
        .fetchall()
    )
    totals = {g: (c, m) for g, c, m in rows}
    assert totals["month"] == totals["quarter"] == totals["year"]


def test_rerun_replaces_rather_than_duplicates(run):
    cli = Path(sys.executable).with_name("commstats")
    before = run["con"].execute("select count(*) from raw.mail_messages").fetchone()[0]
    run["con"].close()
    proc = subprocess.run(
        [
            str(cli),
            "run",
            "--config",
            str(run["sample"] / "communities.yaml"),
            "--warehouse",
            str(run["warehouse"]),
            "--select",
            "group:mail",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    run["con"] = duckdb.connect(str(run["warehouse"]), read_only=True)
    assert run["con"].execute("select count(*) from raw.mail_messages").fetchone()[0] == before


def test_sql_command_prints_rows_and_refuses_writes(run):
    cli = Path(sys.executable).with_name("commstats")
    run["con"].close()
    try:
        out = subprocess.run(
            [
                str(cli),
                "sql",
                "--warehouse",
                str(run["warehouse"]),
                "--csv",
                "select project, count(*) as n from marts.community_health group by 1 order by 1",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        lines = out.strip().splitlines()
        assert lines[0] == "project,n"
        assert [ln.split(",")[0] for ln in lines[1:]] == ["kernel-virt", "vmcore"]
        bad = subprocess.run(
            [str(cli), "sql", "--warehouse", str(run["warehouse"]), "drop table marts.people"],
            capture_output=True,
            text=True,
        )
        assert bad.returncode == 1
        assert (
            bad.stderr.strip()
            == "commstats: the warehouse is opened read-only: queries that write are refused"
        )
    finally:
        run["con"] = duckdb.connect(str(run["warehouse"]), read_only=True)
