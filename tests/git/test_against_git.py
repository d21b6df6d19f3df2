"""The extraction compared with git itself on a repository full of edge cases."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest

from extractors.git.scope import PathScope
from tests.git.conftest import SCOPE, Git
from tests.git.helpers import extract, git_numstat, git_patch_ids, git_trailers, table_set


@pytest.fixture(scope="module")
def rows(zoo: Git) -> dict[str, list[dict]]:
    return extract(zoo.path)


@pytest.fixture(scope="module")
def scoped_rows(zoo: Git) -> dict[str, list[dict]]:
    return extract(zoo.path, paths=SCOPE)


def _by_sha(rows: list[dict]) -> dict[str, dict]:
    return {r["sha"]: r for r in rows}


def _files_by_sha(rows: list[dict]) -> dict[str, list[tuple[int, int, bool]]]:
    out: dict[str, list[tuple[int, int, bool]]] = {}
    for r in rows:
        out.setdefault(r["sha"], []).append((r["lines_added"], r["lines_removed"], r["is_binary"]))
    return out


def test_every_commit_once(zoo: Git, rows) -> None:
    shas = zoo.text("log", "--format=%H").split()
    assert sorted(r["sha"] for r in rows["git_commits"]) == sorted(shas)
    merges = set(zoo.text("log", "--merges", "--format=%H").split())
    assert {r["sha"] for r in rows["git_commits"] if r["is_merge"]} == merges
    for r in rows["git_commits"]:
        if r["is_merge"]:
            assert r["parent_count"] == 2 and r["patch_id"] is None and r["files_changed"] == 0


def test_numstat_equals_git(zoo: Git, rows) -> None:
    expected = git_numstat(zoo)
    commits = _by_sha(rows["git_commits"])
    files = _files_by_sha(rows["git_file_changes"])
    assert set(expected) == {s for s, r in commits.items() if not r["is_merge"]}
    for sha, stats in expected.items():
        c = commits[sha]
        assert Counter(files.get(sha, [])) == Counter(stats), sha
        assert c["lines_added"] == sum(a for a, _, _ in stats), sha
        assert c["lines_removed"] == sum(r for _, r, _ in stats), sha
        assert c["files_changed"] == len(stats), sha
    # the cases the history was built for are really there
    kinds = Counter(r["change_type"] for r in rows["git_file_changes"])
    assert kinds["R"] >= 1 and kinds["D"] >= 1 and kinds["A"] >= 1
    assert any(r["is_binary"] for r in rows["git_file_changes"])
    assert any(r["lines_added"] == 120_000 for r in rows["git_file_changes"])
    assert any(c["files_changed"] == 0 and not c["is_merge"] for c in commits.values())  # empty commit


def test_rename_recorded(rows) -> None:
    renames = [r for r in rows["git_file_changes"] if r["change_type"] == "R"]
    assert {(r["old_path"], r["path"]) for r in renames} >= {("src/main.c", "src/app.c")}


def test_patch_ids_equal_git(zoo: Git, rows) -> None:
    expected = git_patch_ids(zoo)
    ours = {r["sha"]: r["patch_id"] for r in rows["git_commits"] if r["patch_id"]}
    assert ours == expected


def test_trailers_equal_git(zoo: Git, rows) -> None:
    ours: dict[str, list[tuple[int, str, str]]] = {}
    for r in rows["git_trailers"]:
        ours.setdefault(r["sha"], []).append((r["position"], r["kind"], r["raw_value"]))
    for sha in zoo.text("log", "--format=%H").split():
        got = [(k, v) for _, k, v in sorted(ours.get(sha, []))]
        assert got == git_trailers(zoo, sha), sha
    assert sum(len(v) for v in ours.values()) >= 14


def test_trailer_people(zoo: Git, rows) -> None:
    people = {(r["kind"], r["name"], r["address"]) for r in rows["git_trailers"]}
    assert ("acked-by", "Bob Builder", "bob@example.com") in people
    assert ("reviewed-by", "Jane Doe", "jane.doe@example.com") in people
    assert ("tested-by", None, "tester@example.net") in people
    assert ("reported-by", "Rep Orter", "rep@example.org") in people
    assert ("cc", None, "stable@vger.kernel.org") in people
    assert ("link", None, None) in people
    sha = next(c["sha"] for c in rows["git_commits"] if c["subject"] == "kvm: add a function")
    acks = [r for r in rows["git_trailers"] if r["kind"] == "acked-by" and r["sha"] == sha]
    assert len(acks) == 2  # two Acked-by lines are two acks


def test_headers_equal_git(zoo: Git, rows) -> None:
    fmt = "%H%x00%an%x00%ae%x00%at%x00%ad%x00%cn%x00%ce%x00%ct%x00%cd%x00%s"
    out = zoo("log", "--date=raw", f"--format={fmt}").split(b"\n")
    commits = _by_sha(rows["git_commits"])
    for line in filter(None, out):
        sha, an, ae, at, ad, cn, ce, ct, cd, s = line.split(b"\0")
        c = commits[sha.decode()]
        try:
            name = an.decode("utf-8")
        except UnicodeDecodeError:
            name = an.decode("latin-1")  # undeclared legacy bytes: git prints them raw
        assert c["author_name"] == name
        assert c["author_address"] == (ae.decode().lower() or None)
        assert c["committer_name"] == cn.decode() and c["committer_address"] == ce.decode().lower()
        assert c["authored_at"] == datetime(1970, 1, 1) + (
            datetime.utcfromtimestamp(int(at)) - datetime(1970, 1, 1)
        )
        assert c["committed_at"] == datetime.utcfromtimestamp(int(ct))
        tz = ad.split()[1].decode()
        minutes = (int(tz[1:3]) * 60 + int(tz[3:5])) * (-1 if tz[0] == "-" else 1)
        assert c["author_tz_offset"] == minutes
        assert c["subject"] == s.decode("utf-8", errors="replace")
    offsets = {c["author_tz_offset"] for c in commits.values()}
    assert {345, -570} <= offsets
    years = {c["authored_at"].year for c in commits.values()}
    assert 1970 in years and 2100 in years
    assert "J\xf6rg M\xfcller" in {c["author_name"] for c in commits.values()}


def test_scope_equals_git_log_paths(zoo: Git, scoped_rows) -> None:
    pathspecs = PathScope(SCOPE).git_pathspecs()
    assert pathspecs == ["virt/", "arch/*/kvm/*", "include/linux/kvm*.h"]
    expected = set(zoo.text("log", "--format=%H", "--", *pathspecs).split())
    full = set(zoo.text("log", "--full-history", "--format=%H", "--", *pathspecs).split())
    got = {r["sha"] for r in scoped_rows["git_commits"]}
    assert got == full == expected
    assert len(got) >= 8


def test_scoped_lines_and_patch_ids_equal_git(zoo: Git, scoped_rows) -> None:
    pathspecs = PathScope(SCOPE).git_pathspecs()
    expected = git_numstat(zoo, pathspecs)
    commits = _by_sha(scoped_rows["git_commits"])
    files = _files_by_sha(scoped_rows["git_file_changes"])
    for sha, stats in expected.items():
        assert Counter(files.get(sha, [])) == Counter(stats), sha
        assert commits[sha]["lines_added"] == sum(a for a, _, _ in stats)
    # no out-of-scope file is counted
    scope = PathScope(SCOPE)
    assert all(scope.matches(r["path"]) for r in scoped_rows["git_file_changes"])
    # the patch-id is the whole commit's (what was posted), not that of its in-scope files
    ids = {r["sha"]: r["patch_id"] for r in scoped_rows["git_commits"] if r["patch_id"]}
    whole = git_patch_ids(zoo)
    assert ids == {sha: whole[sha] for sha in expected if sha in whole}
    assert set(ids) == set(expected)
    in_scope_only = git_patch_ids(zoo, pathspecs)
    assert sum(in_scope_only[sha] != whole[sha] for sha in ids) >= 3  # commits that touch both sides


def test_since_until(zoo: Git) -> None:
    got = extract(zoo.path, since=date(1971, 1, 1), until=date(2099, 12, 31))
    years = {r["authored_at"].year for r in got["git_commits"]}
    assert 1970 not in years and 2100 not in years and got["git_commits"]


def test_two_workers_equal_one(zoo: Git, rows, scoped_rows) -> None:
    two = extract(zoo.path, workers=2)
    for table in ("git_commits", "git_file_changes", "git_trailers", "git_quarantine"):
        assert table_set(two.get(table, [])) == table_set(rows.get(table, [])), table
    three = extract(zoo.path, paths=SCOPE, workers=3)
    for table in ("git_commits", "git_file_changes", "git_trailers"):
        assert table_set(three.get(table, [])) == table_set(scoped_rows.get(table, [])), table


def test_progress_and_skip(zoo: Git, rows) -> None:
    seen: list[int] = []
    skip = {r["sha"] for r in rows["git_commits"][:5]}
    got = extract(zoo.path, skip=skip, progress=seen.append)
    assert len(got["git_commits"]) == len(rows["git_commits"]) - 5
    assert seen[-1] == len(rows["git_commits"]) - 5
