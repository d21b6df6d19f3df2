"""Unit tests of the pure parts: scopes, trailer values, patch-id paths, git's similarity."""

from __future__ import annotations

import pygit2
import pytest

from extractors.git.diffstat import tree_diff
from extractors.git.patchid import git_similarity_index, patch_id
from extractors.git.scope import PathScope
from extractors.git.trailers import parse_person, parse_trailers
from extractors.mail.patches import _walk_patch_id
from tests.git.conftest import Git


@pytest.mark.parametrize(
    ("patterns", "path", "expected"),
    [
        (["virt/"], "virt/kvm/kvm_main.c", True),
        (["virt"], "virt/kvm/kvm_main.c", True),
        (["virt"], "virtio/x.c", False),
        (["virt/kvm/kvm_main.c"], "virt/kvm/kvm_main.c", True),
        (["arch/*/kvm/"], "arch/x86/kvm/x86.c", True),
        (["arch/*/kvm/"], "arch/x86/kvm/vmx/vmx.c", True),
        (["arch/*/kvm/"], "arch/x86/kvmfile", False),
        (["arch/*/kvm/"], "arch/kvm/c.c", False),
        (["include/linux/kvm*.h"], "include/linux/kvm_host.h", True),
        (["include/linux/kvm*.h"], "include/linux/kvm/x.h", True),  # '*' crosses '/', as in git
        (["include/linux/kvm*.h"], "include/linux/kvm_host.c", False),
        (["*.c"], "deep/dir/file.c", True),
        (["arch/[xa]*/kvm/*"], "arch/arm64/kvm/arm.c", True),
        (["arch/[!xa]*/kvm/*"], "arch/arm64/kvm/arm.c", False),
        (["a?c"], "abc", True),
        ([], "anything", True),
        (["./virt/"], "virt/a", True),
    ],
)
def test_scope_matches(patterns: list[str], path: str, expected: bool) -> None:
    assert PathScope(patterns).matches(path) is expected


def test_scope_matches_git_ls_files(tmp_path, zoo: Git) -> None:
    files = zoo.text("ls-files").split("\n")
    for pattern in [
        "virt/",
        "arch/*/kvm/*",
        "include/linux/kvm*.h",
        "arch/*",
        "*kvm*",
        "arch/x86",
        "a?ch/x86/*",
    ]:
        expected = set(zoo.text("ls-files", "--", pattern).split("\n")) - {""}
        assert {f for f in files if f and PathScope([pattern]).matches(f)} == expected, pattern


def test_trees_differ_prunes_to_scope(zoo: Git) -> None:
    repo = pygit2.Repository(str(zoo.path))
    scope = PathScope(["virt/", "arch/*/kvm/"])
    for commit in repo.walk(repo.head.target):
        if len(commit.parents) != 1:
            continue
        old = commit.parents[0].tree
        diff = tree_diff(repo, old, commit.tree)
        touched = any(scope.matches(d.new_file.path) or scope.matches(d.old_file.path) for d in diff.deltas)
        assert scope.trees_differ(old, commit.tree) is touched, commit.message


@pytest.mark.parametrize(
    ("value", "name", "address"),
    [
        ("Jane Doe <Jane.Doe@Example.com>", "Jane Doe", "jane.doe@example.com"),
        ("Jane Doe jane.doe@example.com", "Jane Doe", "jane.doe@example.com"),
        ("<jane@example.com>", None, "jane@example.com"),
        ("jane@example.com", None, "jane@example.com"),
        ("Jane Doe (Red Hat) <jane@example.com>", "Jane Doe", "jane@example.com"),
        ('"Doe, Jane" <jane@example.com>', "Doe, Jane", "jane@example.com"),
        ("<stable@vger.kernel.org> # 5.10+", None, "stable@vger.kernel.org"),
        ("Jane Doe <jane@example.com> [rebased]", "Jane Doe", "jane@example.com"),
        ("Jane Doe", "Jane Doe", None),
        ("Jane Doe <>", "Jane Doe", None),
        ("https://lore.kernel.org/r/123@example.com", None, None),
        ("", None, None),
    ],
)
def test_parse_person(value: str, name: str | None, address: str | None) -> None:
    assert parse_person(value) == (name, address)


def test_trailer_rules() -> None:
    assert parse_trailers("Title only\n") == []
    assert parse_trailers("Signed-off-by: A <a@b>\n") == []  # the title is never trailers
    msg = "T\n\nbody\n\nAcked-by: A <a@x>\nReviewed-by: B\n <b@x>\n"
    assert [(t.key, t.value) for t in parse_trailers(msg)] == [
        ("Acked-by", "A <a@x>"),
        ("Reviewed-by", "B <b@x>"),
    ]
    # 25 % rule: one git-generated trailer among three other lines is enough
    msg = "T\n\nSigned-off-by: A <a@x>\nfoo\nbar\nbaz\n"
    assert len(parse_trailers(msg)) == 1
    msg = "T\n\nSigned-off-by: A <a@x>\nfoo\nbar\nbaz\nqux\n"
    assert parse_trailers(msg) == []
    msg = "T\n\nAcked-by: A <a@x>\nnot a trailer\n"
    assert parse_trailers(msg) == []


def test_fast_patch_id_equals_line_by_line(zoo: Git) -> None:
    repo = pygit2.Repository(str(zoo.path))
    checked = 0
    for commit in repo.walk(repo.head.target):
        if len(commit.parents) != 1:
            continue
        diff = tree_diff(repo, commit.parents[0].tree, commit.tree)
        texts = [p.data for p in diff if p is not None]
        assert patch_id(texts) == _walk_patch_id(b"".join(texts))
        checked += 1
    assert checked > 10


def test_git_similarity_index() -> None:
    old = b"".join(b"%d\n" % i for i in range(1, 101))
    new = old.replace(b"\n5\n", b"\nfive\n").replace(b"\n50\n", b"\nfifty\n")
    assert git_similarity_index(old, new) == 96  # what git prints for this rename
    assert git_similarity_index(old, old) == 100


def test_scoped_merges_follow_git(tmp_path) -> None:
    from tests.git.conftest import init_repo
    from tests.git.helpers import extract

    g = init_repo(tmp_path / "m", tmp_path)
    g.write("virt/a.c", "a\n")
    g.write("lib/b.c", "b\n")
    g.commit("base\n")
    g("checkout", "-q", "-b", "side")
    g.write("virt/a.c", "a\nside\n")
    g.commit("side touches the scope\n")
    g("checkout", "-q", "main")
    g.write("lib/b.c", "b\nmain\n")
    g.commit("main outside the scope\n")
    g("merge", "-q", "--no-ff", "-m", "merge side", "side")  # same as the side parent in virt/
    g("checkout", "-q", "-b", "side2", "HEAD~1")
    g.write("virt/c.c", "c\n")
    g.commit("side2 in scope\n")
    g("checkout", "-q", "main")
    g.write("virt/d.c", "d\n")
    g.commit("main in scope\n")
    g("merge", "-q", "--no-ff", "-m", "merge side2", "side2")  # differs from both parents in virt/
    rows = extract(g.path, paths=["virt/"])["git_commits"]
    got = {r["sha"] for r in rows}
    # merges as plain `git log -- virt/` shows them: only those differing from every parent
    assert got == set(g.text("log", "--format=%H", "--", "virt/").split())
    assert sum(r["is_merge"] for r in rows) == 1
    # non-merges as --full-history: every commit touching the scope, on any branch
    non_merges = {r["sha"] for r in rows if not r["is_merge"]}
    assert non_merges == set(
        g.text("log", "--full-history", "--no-merges", "--format=%H", "--", "virt/").split()
    )
    everything = extract(g.path)["git_commits"]
    assert {r["sha"] for r in everything} == set(g.text("log", "--format=%H").split())


@pytest.mark.parametrize(
    "patterns",
    [
        ["arch/x86/mm/init.c"],
        ["*.c"],
        ["README"],
        ["win"],
        ["include/linux/kvm*"],
        ["src/", "fw/"],
        ["vendor/sub"],
    ],
)
def test_scope_commit_sets_equal_git(zoo: Git, patterns: list[str]) -> None:
    from tests.git.helpers import extract

    got = {r["sha"] for r in extract(zoo.path, paths=patterns)["git_commits"]}
    specs = PathScope(patterns).git_pathspecs()
    assert got == set(zoo.text("log", "--format=%H", "--", *specs).split())
    assert got
