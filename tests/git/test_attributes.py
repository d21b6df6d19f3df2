"""extractors.git.attributes: attribute lookups are left out only where no attribute file exists.

A bare clone without attribute files gives the same rows with and without the lookups (and
git's); each file libgit2 reads attributes from turns the shortcut off, and the rows then follow
git's `binary` attribute.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest
from pygit2.enums import ConfigLevel

from extractors.git import diffstat
from extractors.git.attributes import no_attributes
from tests.git.conftest import Git, c_file, init_repo
from tests.git.helpers import extract, git_numstat, git_patch_ids


def _history(tmp_path: Path) -> tuple[Git, Git]:
    """A work tree with three commits touching a.dat and b.c, and its bare clone."""
    g = init_repo(tmp_path / "work", tmp_path / "home")
    for n in range(3):
        g.write("a.dat", c_file(3 + n, f"_{n}"))
        g.write("b.c", c_file(2 + n, f"_b{n}"))
        g.commit(f"change {n}\n")
    subprocess.run(["git", "clone", "-q", "--bare", str(g.path), str(tmp_path / "bare.git")], check=True)
    return g, Git(tmp_path / "bare.git", tmp_path / "home")


def _binary_rows(path: Path) -> int:
    return sum(r["is_binary"] for r in extract(path)["git_file_changes"])


def test_bare_clone_without_attribute_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, bare = _history(tmp_path)
    assert no_attributes(pygit2.Repository(str(bare.path)))
    assert not no_attributes(pygit2.Repository(str(work.path)))  # a work tree may hold .gitattributes
    rows = extract(bare.path)
    numstat = git_numstat(bare)
    got: dict[str, list] = {}
    for r in rows["git_file_changes"]:
        got.setdefault(r["sha"], []).append((r["lines_added"], r["lines_removed"], r["is_binary"]))
    assert {s: sorted(v) for s, v in got.items()} == {s: sorted(v) for s, v in numstat.items()}
    assert {r["sha"]: r["patch_id"] for r in rows["git_commits"]} == git_patch_ids(bare)
    monkeypatch.setattr(diffstat, "no_attributes", lambda repo: False)
    assert extract(bare.path) == rows


def test_info_attributes_keeps_the_lookups(tmp_path: Path) -> None:
    _, bare = _history(tmp_path)
    (bare.path / "info").mkdir(exist_ok=True)
    (bare.path / "info" / "attributes").write_text("*.dat binary\n")
    assert not no_attributes(pygit2.Repository(str(bare.path)))
    # git and the extraction: a.dat binary in each of its three commits
    assert sum(b for v in git_numstat(bare).values() for _, _, b in v) == 3
    assert _binary_rows(bare.path) == 3


def test_index_or_configured_file_keeps_the_lookups(tmp_path: Path) -> None:
    _, bare = _history(tmp_path)
    bare("config", "core.attributesFile", str(tmp_path / "nowhere"))
    assert not no_attributes(pygit2.Repository(str(bare.path)))
    bare("config", "--unset", "core.attributesFile")
    assert no_attributes(pygit2.Repository(str(bare.path)))
    bare("read-tree", "HEAD")  # an index in a bare repository
    assert (bare.path / "index").exists()
    assert not no_attributes(pygit2.Repository(str(bare.path)))


@pytest.mark.parametrize(
    ("level", "name"), [(ConfigLevel.XDG, "attributes"), (ConfigLevel.SYSTEM, "gitattributes")]
)
def test_global_or_system_file_keeps_the_lookups(tmp_path: Path, level: ConfigLevel, name: str) -> None:
    _, bare = _history(tmp_path)
    where = tmp_path / "search"
    where.mkdir()
    (where / name).write_text("*.dat binary\n")
    saved = pygit2.settings.search_path[level]
    pygit2.settings.search_path[level] = str(where)
    try:
        repo = pygit2.Repository(str(bare.path))
        assert not no_attributes(repo)
        assert repo.get_attr("a.dat", "diff") is not None  # libgit2 reads it: the lookups matter
        assert _binary_rows(bare.path) == 3
    finally:
        pygit2.settings.search_path[level] = saved
    assert no_attributes(pygit2.Repository(str(bare.path)))
