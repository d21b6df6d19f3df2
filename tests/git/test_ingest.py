"""Incremental ingestion: clone and fetch by URL, force-pushes, errors naming the repository."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.config import RepositoryConfig
from extractors.git.ingest import ingest_repository
from extractors.git.repository import GitSourceError
from tests.git.conftest import SCOPE, Git, c_file, init_repo


def _origin(tmp_path: Path, n: int = 5) -> Git:
    g = init_repo(tmp_path / "origin", tmp_path)
    for i in range(n):
        g.write(f"virt/f{i}.c", c_file(2 + i))
        g.write(f"other/o{i}.c", c_file(1))
        g.commit(f"commit {i}\n\nSigned-off-by: Ann Author <ann@example.com>\nAcked-by: B <b@example.com>\n")
    return g


def _table(warehouse: Path, table: str, project: str = "p") -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"SELECT * FROM raw.{table} WHERE project = ? ORDER BY ALL", [project]).fetchall()
    finally:
        con.close()


def _snapshot(warehouse: Path, project: str = "p") -> dict[str, list[tuple]]:
    return {
        t: _table(warehouse, t, project)
        for t in ("git_commits", "git_file_changes", "git_trailers", "git_quarantine")
    }


def test_clone_then_fetch_reads_only_new_commits(tmp_path: Path) -> None:
    origin = _origin(tmp_path)
    cfg = RepositoryConfig(name="r", url=f"file://{origin.path}")
    wh = tmp_path / "wh.duckdb"
    cache = tmp_path / "cache"
    first = ingest_repository(wh, "p", cfg, cache)
    assert first["new_commits"] == 5 and first["git_commits"] == 5
    assert first["git_trailers"] == 10
    assert (cache / "git").is_dir()

    for i in range(3):
        origin.write(f"virt/new{i}.c", c_file(3))
        origin.commit(f"new {i}\n")
    seen: list[int] = []
    second = ingest_repository(wh, "p", cfg, cache, progress=seen.append)
    assert second["new_commits"] == 3 and second["removed_commits"] == 0
    assert second["examined_commits"] == 3 and seen[-1] == 3
    assert second["git_commits"] == 8

    third = ingest_repository(wh, "p", cfg, cache)
    assert third["new_commits"] == 0 and third["examined_commits"] == 0 and third["git_commits"] == 8


def test_force_push_is_reconciled(tmp_path: Path) -> None:
    origin = _origin(tmp_path, 6)
    cfg = RepositoryConfig(name="r", url=f"file://{origin.path}")
    wh = tmp_path / "wh.duckdb"
    cache = tmp_path / "cache"
    ingest_repository(wh, "p", cfg, cache)
    old = set(origin.text("rev-list", "HEAD").split())

    # rewrite the last three commits
    origin("reset", "-q", "--hard", "HEAD~3")
    for i in range(4):
        origin.write(f"virt/rewritten{i}.c", c_file(4))
        origin.commit(f"rewritten {i}\n\nReviewed-by: R <r@example.com>\n")
    new = set(origin.text("rev-list", "HEAD").split())
    counts = ingest_repository(wh, "p", cfg, cache, workers=2)
    assert counts["removed_commits"] == 3 and counts["new_commits"] == 4
    shas = {r[2] for r in _table(wh, "git_commits")}
    assert shas == new and not (old - new) & shas
    assert not (old - new) & {r[2] for r in _table(wh, "git_file_changes")}
    assert not (old - new) & {r[2] for r in _table(wh, "git_trailers")}

    # equal to a fresh ingest of the new history
    fresh = tmp_path / "fresh.duckdb"
    ingest_repository(fresh, "p", cfg, tmp_path / "cache2", workers=1)
    assert _snapshot(wh) == _snapshot(fresh)


def test_scoped_projects_share_one_clone(tmp_path: Path) -> None:
    origin = _origin(tmp_path)
    url = f"file://{origin.path}"
    wh = tmp_path / "wh.duckdb"
    cache = tmp_path / "cache"
    whole = ingest_repository(wh, "all", RepositoryConfig(name="r", url=url), cache)
    scoped_cfg = RepositoryConfig(name="r", url=url, paths=["virt/f1.c", "virt/f3*"])
    scoped = ingest_repository(wh, "kvm", scoped_cfg, cache)
    assert whole["git_commits"] == 5 and scoped["git_commits"] == 2
    assert len(list((cache / "git").glob("*.git"))) == 1
    files = {r[3] for r in _table(wh, "git_file_changes", "kvm")}
    assert files == {"virt/f1.c", "virt/f3.c"}

    # a scope change triggers a full reconciliation
    scoped_cfg.paths = ["virt/f1.c"]
    again = ingest_repository(wh, "kvm", scoped_cfg, cache)
    assert again["git_commits"] == 1 and again["removed_commits"] == 1 and again["new_commits"] == 0
    assert {r[3] for r in _table(wh, "git_file_changes", "kvm")} == {"virt/f1.c"}
    assert len(_table(wh, "git_commits", "all")) == 5


def test_local_path_and_since_until(tmp_path: Path, zoo: Git) -> None:
    wh = tmp_path / "wh.duckdb"
    cfg = RepositoryConfig(name="zoo", path=zoo.path, paths=SCOPE)
    counts = ingest_repository(wh, "kvm", cfg, tmp_path / "cache")
    expected = set(
        zoo.text("log", "--format=%H", "--", "virt/", "arch/*/kvm/*", "include/linux/kvm*.h").split()
    )
    assert counts["git_commits"] == len(expected)
    assert {r[2] for r in _table(wh, "git_commits", "kvm")} == expected


def test_missing_path_is_one_line(tmp_path: Path) -> None:
    cfg = RepositoryConfig(name="ghost", path=tmp_path / "nope")
    with pytest.raises(GitSourceError) as err:
        ingest_repository(tmp_path / "wh.duckdb", "p", cfg, tmp_path / "cache")
    msg = str(err.value)
    assert "ghost" in msg and "\n" not in msg and "does not exist" in msg

    (tmp_path / "plain").mkdir()
    cfg = RepositoryConfig(name="plain", path=tmp_path / "plain")
    with pytest.raises(GitSourceError) as err:
        ingest_repository(tmp_path / "wh.duckdb", "p", cfg, tmp_path / "cache")
    assert "plain" in str(err.value) and "\n" not in str(err.value)


def test_unreachable_url_is_one_line(tmp_path: Path) -> None:
    cfg = RepositoryConfig(name="gone", url=f"file://{tmp_path}/no/such/repo.git")
    with pytest.raises(GitSourceError) as err:
        ingest_repository(tmp_path / "wh.duckdb", "p", cfg, tmp_path / "cache")
    msg = str(err.value)
    assert "gone" in msg and "\n" not in msg
    assert not (tmp_path / "wh.duckdb").exists()


def test_unknown_branch_is_one_line(tmp_path: Path) -> None:
    origin = _origin(tmp_path, 1)
    cfg = RepositoryConfig(name="r", path=origin.path, branch="nope")
    with pytest.raises(GitSourceError) as err:
        ingest_repository(tmp_path / "wh.duckdb", "p", cfg, tmp_path / "cache")
    assert "'r'" in str(err.value) and "nope" in str(err.value)


def test_branch_of_a_clone(tmp_path: Path) -> None:
    origin = _origin(tmp_path, 2)
    origin("checkout", "-q", "-b", "dev")
    origin.write("virt/dev.c", "dev\n")
    origin.commit("dev only\n")
    origin("checkout", "-q", "main")
    url = f"file://{origin.path}"
    main = ingest_repository(tmp_path / "a.duckdb", "p", RepositoryConfig(name="r", url=url), tmp_path / "c")
    dev = ingest_repository(
        tmp_path / "b.duckdb", "p", RepositoryConfig(name="r", url=url, branch="dev"), tmp_path / "c"
    )
    assert main["git_commits"] == 2 and dev["git_commits"] == 3


def test_shallow_clone_is_flagged(tmp_path: Path) -> None:
    origin = _origin(tmp_path, 4)
    shallow = tmp_path / "shallow"
    origin("clone", "-q", "--depth", "2", f"file://{origin.path}", str(shallow))
    counts = ingest_repository(
        tmp_path / "wh.duckdb", "p", RepositoryConfig(name="s", path=shallow), tmp_path / "c"
    )
    assert counts["git_commits"] == 2
    reasons = [r[3] for r in _table(tmp_path / "wh.duckdb", "git_quarantine")]
    assert reasons == ["shallow_boundary"]
