"""The subtree-pruning fast path (extractors.git.fastdiff) against git and the whole-tree diff.

A repository with a deep tree, changes in several subtrees at once and every shape the fast path
must hand over to libgit2's whole-tree diff (renames across directories, mode changes, symlinks,
submodules, type changes, binary, empty and oddly named files). Every commit is compared with git
itself (`git log --numstat`, `git patch-id --stable`, `git log -- <paths>`), whole and scoped, and
the fast path's result with the whole-tree diff's wherever the fast path applies.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pygit2
import pytest

from extractors.git import diffstat
from extractors.git.diffstat import ChangeReader, commit_changes
from extractors.git.fastdiff import TreeComparer, Unusual
from extractors.git.scope import PathScope
from tests.git.conftest import Git, c_file, init_repo
from tests.git.helpers import extract, git_numstat, git_patch_ids
from tests.git.test_regression import EXPECTED_DIGEST, _canonical, _digest, build_fixed

DEEP_SCOPE = ["virt/", "arch/*/kvm/", "include/linux/kvm*.h", "drivers/a/b/c/d/e.c"]
ARCHES = ["x86", "arm64", "s390", "riscv", "mips"]


def _deep_paths() -> list[str]:
    paths = []
    for arch in ARCHES:
        for sub in ("kvm", "kvm/vmx", "kvm/mmu", "mm", "lib"):
            for i in range(3):
                paths.append(f"arch/{arch}/{sub}/f{i}.c")
    for d in ("virt/kvm", "virt/lib", "mm", "fs/ext4", "fs/xfs/libxfs", "drivers/a/b/c/d", "lib"):
        for i in range(4):
            paths.append(f"{d}/g{i}.c")
    paths += ["drivers/a/b/c/d/e.c", "include/linux/kvm_host.h", "include/linux/kvmx.h", "include/linux/mm.h"]
    return paths


def build_deep(path: Path, home: Path) -> Git:
    g = init_repo(path, home)
    paths = _deep_paths()
    for n, p in enumerate(paths):
        g.write(p, c_file(3 + n % 5, f"_{n}"))
    g.commit("import a deep tree\n")

    def edit(p: str, tag: str) -> None:
        text = (path / p).read_text()
        g.write(p, text.replace("return 1;", f"return {tag};", 1) + f"/* {tag} */\n")

    # plain edits in several subtrees at once, in and out of the scope
    edit("arch/x86/kvm/vmx/f0.c", "11")
    edit("arch/arm64/mm/f1.c", "12")
    edit("fs/xfs/libxfs/g2.c", "13")
    edit("include/linux/kvm_host.h", "14")
    g.commit("edits across the tree\n")
    edit("fs/ext4/g0.c", "21")
    edit("lib/g3.c", "22")
    g.commit("edits outside the scope only\n")
    # additions (a new deep directory too) without deletions
    g.write("arch/s390/kvm/new/deeper/h.c", c_file(4, "_new"))
    g.write("virt/kvm/added.c", c_file(2, "_added"))
    g.write("mm/added.c", c_file(2, "_mm"))
    os.chmod(path / "virt/kvm/added.c", 0o755)
    g.commit("additions, one executable\n")
    # deletions, a whole directory among them, without additions
    g("rm", "-q", "-r", "arch/mips/kvm")
    g("rm", "-q", "fs/ext4/g1.c")
    g.commit("deletions\n")
    # an addition and a deletion in different directories: a rename for git
    g("mv", "arch/riscv/kvm/f2.c", "virt/lib/moved.c")
    g.commit("move across directories\n")
    g("mv", "virt/lib/moved.c", "lib/moved_again.c")
    edit("lib/moved_again.c", "31")
    g.commit("move out of the scope with an edit\n")
    # an addition in the scope and a deletion outside it (a deletion only, within the scope)
    g.write("virt/kvm/fresh.c", c_file(3, "_fresh"))
    g("rm", "-q", "fs/xfs/libxfs/g0.c")
    g.commit("add in scope, delete outside\n")
    # mode change, with and without an edit
    os.chmod(path / "arch/x86/kvm/f0.c", 0o755)
    g.commit("mode change only\n")
    os.chmod(path / "virt/kvm/g0.c", 0o755)
    edit("virt/kvm/g0.c", "41")
    g.commit("mode change and edit\n")
    edit("virt/kvm/added.c", "42")  # an executable file edited: mode unchanged
    g.commit("edit an executable file\n")
    # symlinks
    os.symlink("g1.c", path / "virt/kvm/link.c")
    g.commit("add a symlink\n")
    os.unlink(path / "virt/kvm/link.c")
    os.symlink("g2.c", path / "virt/kvm/link.c")
    g.commit("retarget a symlink\n")
    # type change: a file becomes a directory
    g("rm", "-q", "mm/g3.c")
    g.write("mm/g3.c/inner.c", c_file(2, "_inner"))
    g.commit("file to directory\n")
    # a submodule (gitlink) added and moved on
    head = g.text("rev-parse", "HEAD").strip()
    g("update-index", "--add", "--cacheinfo", f"160000,{head},virt/sub")
    g("commit", "-q", "-m", "add a submodule")
    g("update-index", "--cacheinfo", f"160000,{g.text('rev-parse', 'HEAD~2').strip()},virt/sub")
    g("commit", "-q", "-m", "move the submodule")
    g("reset", "-q", "--hard")
    # binary, empty, unterminated and oddly named files
    g.write("virt/kvm/fw.bin", bytes(range(256)) * 4)
    g.commit("add a binary file\n")
    g.write("virt/kvm/fw.bin", bytes(range(255, -1, -1)) * 4)
    g.commit("change a binary file\n")
    g.write("virt/kvm/empty.c", "")
    g.commit("add an empty file\n")
    g.write("virt/kvm/empty.c", "now\n")
    g.commit("fill an empty file\n")
    g.write("virt/kvm/g1.c", (path / "virt/kvm/g1.c").read_text() + "no newline")
    g.commit("no newline at the end\n")
    g.write("virt/kvm/with space.c", c_file(2, "_sp"))
    g.commit("a name with a space\n")
    g.write("virt/kvm/with space.c", c_file(3, "_sp"))
    g.commit("edit a name with a space\n")
    g.write("virt/kvm/caf\u00e9.c", c_file(2, "_utf"))
    g.commit("a non-ASCII name\n")
    g.write("virt/kvm/caf\u00e9.c", c_file(3, "_utf"))
    edit("arch/arm64/kvm/f0.c", "51")
    g.commit("edit a non-ASCII name and another file\n")
    # indent-heuristic sensitive edit in a deep directory
    g.write(
        "arch/x86/kvm/mmu/f1.c",
        (path / "arch/x86/kvm/mmu/f1.c")
        .read_text()
        .replace("int f1_", "int inserted(int y)\n{\n\treturn y;\n}\n\nint f1_", 1),
    )
    g.commit("insert a function deep down\n")
    edit("drivers/a/b/c/d/e.c", "61")
    edit("drivers/a/b/c/d/g0.c", "62")
    g.commit("a scoped file next to an unscoped one\n")
    return g


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> Git:
    base = tmp_path_factory.mktemp("deep")
    return build_deep(base / "repo", base)


def _files(rows: list[dict]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for r in rows:
        out.setdefault(r["sha"], Counter())[(r["lines_added"], r["lines_removed"], r["is_binary"])] += 1
    return out


@pytest.mark.parametrize("scope", [None, DEEP_SCOPE, ["arch/x86/"], ["*.c"]], ids=str)
def test_deep_tree_equals_git(deep: Git, scope: list[str] | None) -> None:
    rows = extract(deep.path, paths=scope)
    specs = PathScope(scope).git_pathspecs() if scope else None
    numstat = git_numstat(deep, specs)
    files = _files(rows["git_file_changes"])
    commits = {r["sha"]: r for r in rows["git_commits"]}
    if scope:
        assert set(commits) == set(deep.text("log", "--format=%H", "--", *specs).split())
    else:
        assert set(commits) == set(deep.text("log", "--format=%H").split())
    for sha, stats in numstat.items():
        assert files.get(sha, Counter()) == Counter(stats), sha
        assert commits[sha]["lines_added"] == sum(a for a, _, _ in stats), sha
        assert commits[sha]["lines_removed"] == sum(r for _, r, _ in stats), sha
    # the patch-id is always the whole commit's, scope or not
    ids = {sha: r["patch_id"] for sha, r in commits.items() if r["patch_id"]}
    whole = git_patch_ids(deep)
    assert ids == {sha: whole[sha] for sha in commits if sha in whole}
    if scope:
        scope_ = PathScope(scope)
        assert all(scope_.matches(r["path"]) for r in rows["git_file_changes"])


def test_deep_tree_renames_and_paths(deep: Git) -> None:
    rows = extract(deep.path)["git_file_changes"]
    renames = {(r["old_path"], r["path"]) for r in rows if r["change_type"] == "R"}
    assert ("arch/riscv/kvm/f2.c", "virt/lib/moved.c") in renames
    assert ("virt/lib/moved.c", "lib/moved_again.c") in renames
    paths = {r["path"] for r in rows}
    assert {"virt/kvm/with space.c", "virt/kvm/caf\u00e9.c", "arch/s390/kvm/new/deeper/h.c"} <= paths


def test_workers_agree_on_deep_tree(deep: Git) -> None:
    for scope in (None, DEEP_SCOPE):
        one = extract(deep.path, paths=scope)
        two = extract(deep.path, paths=scope, workers=2)
        for table in ("git_commits", "git_file_changes", "git_trailers"):
            key = sorted(repr(sorted(r.items())) for r in one.get(table, []))
            assert key == sorted(repr(sorted(r.items())) for r in two.get(table, [])), table


def _fast_and_slow(repo: pygit2.Repository, scope: PathScope) -> tuple[int, int]:
    """Compare the fast path with the whole-tree diff on every non-merge; (fast, fell back)."""
    reader = ChangeReader(repo, scope)
    fast = fallback = 0
    for commit in repo.walk(repo.head.target):
        if len(commit.parents) > 1:
            continue
        old = commit.parents[0].tree if commit.parents else None
        results: list = [None]
        reader._fast_many([(old.id if old is not None else None, commit.tree_id)], results, True)
        got = results[0]
        if got is None:  # not taken by the fast path
            fallback += 1
            continue
        fast += 1
        files, pid = commit_changes(repo, old, commit.tree, scope)
        want = sorted((f.path, f.change_type, f.lines_added, f.lines_removed) for f in files)
        assert sorted((f.path, f.change_type, f.lines_added, f.lines_removed) for f in got[0]) == want
        assert got[1] == pid, commit.message
    return fast, fallback


def test_fast_path_equals_whole_tree_diff(deep: Git, zoo: Git) -> None:
    for g in (deep, zoo):
        repo = pygit2.Repository(str(g.path))
        for scope in (PathScope([]), PathScope(DEEP_SCOPE)):
            fast, fallback = _fast_and_slow(repo, scope)
            assert fast > 5, (g.path, scope.patterns)
    # the unusual shapes really fall back: modes, symlinks, submodules, binary, renames without hunks, ...
    fast, fallback = _fast_and_slow(pygit2.Repository(str(deep.path)), PathScope([]))
    assert fallback >= 12


def test_tree_comparer_prunes_by_scope(deep: Git) -> None:
    repo = pygit2.Repository(str(deep.path))
    head = repo[repo.head.target]
    first = head
    while first.parents:
        first = first.parents[0]
    tip = head.tree_id.raw
    x86 = TreeComparer(repo, PathScope(["arch/x86/"])).changes(None, tip)
    assert [c[0] for c in x86] == deep.text("ls-tree", "-r", "--name-only", "HEAD", "--", "arch/x86/").split()
    assert all(c[1] is None and c[3] in (b"100644", b"100755") for c in x86)
    assert TreeComparer(repo, PathScope([])).changes(tip, tip) == []
    # the whole tree holds a symlink, a submodule and a non-ASCII name: the fast path declines
    with pytest.raises(Unusual):
        TreeComparer(repo, PathScope([])).changes(None, tip)
    # from the first commit to the tip (edits, additions in a new subtree, a directory deleted),
    # outside arch/x86 (a mode change there), against git's own list
    arches = ["arch/arm64/", "arch/s390/", "arch/mips/", "arch/riscv/"]
    expected = deep.text("diff", "--no-renames", "--name-status", str(first.id), "HEAD", "--", *arches)
    got = TreeComparer(repo, PathScope(arches)).changes(first.tree_id.raw, tip)
    kinds = ["A" if c[1] is None else "D" if c[3] is None else "M" for c in got]
    assert [f"{k}\t{c[0]}" for k, c in zip(kinds, got, strict=True)] == expected.splitlines()
    assert set(kinds) == {"A", "D", "M"}


def test_fast_path_keeps_the_pinned_rows(tmp_path: Path) -> None:
    g = build_fixed(tmp_path / "repo", tmp_path / "home")
    one = extract(g.path, workers=1)
    assert _digest(one) == EXPECTED_DIGEST
    assert _canonical(extract(g.path, workers=2)) == _canonical(one)


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_split_into_blocks_agree(deep: Git, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    from extractors.git import extract as extract_module

    # small blocks, so that every worker gets several on a short history
    monkeypatch.setattr(extract_module, "MIN_BLOCK", 1)
    for scope in (None, DEEP_SCOPE):
        one = extract(deep.path, paths=scope)
        many = extract(deep.path, paths=scope, workers=workers)
        for table in ("git_commits", "git_file_changes", "git_trailers"):
            key = sorted(repr(sorted(r.items())) for r in one.get(table, []))
            assert key == sorted(repr(sorted(r.items())) for r in many.get(table, [])), table


def test_blocks_dealt_in_turn() -> None:
    from extractors.git.extract import split_blocks

    ids = [pygit2.Oid(raw=bytes([k]) * 20) for k in range(10)]
    got = split_blocks(ids, 2, 3)
    # blocks [0-2] [3-5] [6-8] [9]: the first and third to share 0, the others to share 1
    assert got == [[ids[k] for k in (0, 1, 2, 6, 7, 8)], [ids[k] for k in (3, 4, 5, 9)]]
    assert split_blocks(ids, 3, 4) == [ids[0:4], ids[4:8], ids[8:10]]


@pytest.mark.parametrize("workers", [2, 3])
def test_history_walked_once_and_parent_takes_a_share(
    deep: Git, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: int
) -> None:
    """The parent walks the history once and deals the commit ids out: no worker walks it, and
    the parent diffs the first share itself, so `workers - 1` processes are forked."""
    import multiprocessing as mp

    from extractors.git import extract as extract_module

    log = tmp_path / "walks"
    walk = extract_module.iter_commits

    def logged_walk(*args, **kw):  # type: ignore[no-untyped-def]
        with log.open("a") as f:
            f.write(f"{os.getpid()}\n")
        return walk(*args, **kw)

    monkeypatch.setattr(extract_module, "iter_commits", logged_walk)
    monkeypatch.setattr(extract_module, "MIN_BLOCK", 1)
    forked = []
    start = mp.context.ForkProcess.start

    def counted_start(self):  # type: ignore[no-untyped-def]
        forked.append(self)
        return start(self)

    monkeypatch.setattr(mp.context.ForkProcess, "start", counted_start)
    many = extract(deep.path, workers=workers)
    assert log.read_text().split() == [str(os.getpid())]
    assert len(forked) == workers - 1
    one = extract(deep.path)
    for table in ("git_commits", "git_file_changes", "git_trailers"):
        key = sorted(repr(sorted(r.items())) for r in one.get(table, []))
        assert key == sorted(repr(sorted(r.items())) for r in many.get(table, [])), table


@pytest.mark.parametrize("batch", [1, 3])
def test_batches_agree(deep: Git, zoo: Git, monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    from extractors.git import extract as extract_module

    for g in (deep, zoo):
        for scope in (None, DEEP_SCOPE):
            whole = _canonical(extract(g.path, paths=scope))  # one batch: these histories are short
            monkeypatch.setattr(extract_module, "BATCH_COMMITS", batch)
            assert _canonical(extract(g.path, paths=scope)) == whole
            monkeypatch.undo()


def test_missing_blob_fails_only_its_commit(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "repo", tmp_path / "home")
    for n in range(6):
        g.write("virt/kvm/a.c", c_file(40, f"a{n}"))
        g.write(f"virt/kvm/b{n}.c", c_file(10, f"b{n}"))
        g.commit(f"change {n}")
    # lose the blob that the fourth commit gave a.c (loose objects: one file each)
    fourth = g.text("rev-parse", "HEAD~2").strip()
    blob = g.text("rev-parse", f"{fourth}:virt/kvm/a.c").strip()
    (g.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    rows = extract(g.path)
    failed = {r["sha"]: r["reason"] for r in rows["git_quarantine"]}
    # the commit that wrote the blob and the next one, which diffs against it
    assert failed == {fourth: "diff_failed", g.text("rev-parse", "HEAD~1").strip(): "diff_failed"}
    by_sha = {r["sha"]: r for r in rows["git_commits"]}
    assert len(by_sha) == 6  # every commit still has its row
    assert by_sha[fourth]["files_changed"] is None
    files = [r for r in rows["git_file_changes"] if r["sha"] not in failed]
    assert len(files) == 8  # the four others: a.c and their own b<n>.c each


def test_whole_tree_cache_dropped_when_full(deep: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractors.git import extract as extract_module

    want = _canonical(extract(deep.path))
    # a cache this small is full after any fallback: each one starts with a fresh repository
    monkeypatch.setattr(extract_module, "WHOLE_TREE_CACHE_BYTES", 4096)
    opened: list[str] = []
    real = pygit2.Repository

    def counting(path: str, *a: object, **kw: object) -> pygit2.Repository:
        opened.append(path)
        return real(path, *a, **kw)

    monkeypatch.setattr(diffstat.pygit2, "Repository", counting)
    got = _canonical(extract(deep.path))
    assert got == want
    assert pygit2.settings.cached_memory[1] == 4096
    assert len(opened) >= 12  # the extraction's own, then one per fallback commit (renames, modes, ...)


@pytest.mark.parametrize("workers", [1, 2])
def test_collector_off_while_rows_arrive_and_restored(deep: Git, workers: int) -> None:
    import gc

    from extractors.git.extract import iter_repository_rows

    repo = pygit2.Repository(str(deep.path))
    assert gc.isenabled()
    rows = iter_repository_rows(
        "proj", "repo", repo, branch=None, paths=[], since=None, until=None, workers=workers
    )
    first = next(rows)
    assert first[0] in ("git_commits", "git_file_changes", "git_trailers")
    assert not gc.isenabled()  # in the parent too, while it receives the workers' rows
    assert sum(1 for _ in rows) > 50
    assert gc.isenabled()
    # a caller that had it off keeps it off
    gc.disable()
    try:
        list(
            iter_repository_rows(
                "proj", "repo", repo, branch=None, paths=[], since=None, until=None, workers=workers
            )
        )
        assert not gc.isenabled()
    finally:
        gc.enable()
