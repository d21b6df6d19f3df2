"""Unit tests of the pure parts: scopes, trailer values, patch-id paths, git's similarity."""

from __future__ import annotations

import random
from collections import Counter

import pygit2
import pytest

from core.patchid import _walk_patch_id
from extractors.git.diffstat import tree_diff
from extractors.git.patchid import git_similarity_index, patch_id
from extractors.git.scope import PathScope
from extractors.git.trailers import parse_person, parse_trailers
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


def _reference_similarity(old: bytes, new: bytes) -> int:
    """git's diffcore-delta estimate byte by byte, as git's C code does it."""

    def spans(data: bytes, is_text: bool) -> Counter[int]:
        counts: Counter[int] = Counter()
        accum1 = accum2 = n = i = 0
        mask = 0xFFFFFFFF
        while i < len(data):
            c = data[i]
            i += 1
            if is_text and c == 13 and i < len(data) and data[i] == 10:
                continue
            old_1 = accum1
            accum1 = ((accum1 << 7) ^ (accum2 >> 25)) & mask
            accum2 = ((accum2 << 7) ^ (old_1 >> 25)) & mask
            accum1 = (accum1 + c) & mask
            n += 1
            if n < 64 and c != 10:
                continue
            counts[((accum1 + accum2 * 0x61) & mask) % 107927] += n
            n = accum1 = accum2 = 0
        if n > 0:
            counts[((accum1 + accum2 * 0x61) & mask) % 107927] += n
        return counts

    if old == new:
        return 100
    max_size = max(len(old), len(new))
    if not max_size:
        return 100
    src = spans(old, b"\0" not in old[:8000])
    dst = spans(new, b"\0" not in new[:8000])
    copied = sum(min(cnt, dst.get(h, 0)) for h, cnt in src.items())
    return copied * 60000 // max_size * 100 // 60000


def test_git_similarity_index_equals_byte_by_byte() -> None:
    rng = random.Random(5)

    def sample() -> bytes:
        parts = []
        for _ in range(rng.randint(0, 120)):
            r = rng.random()
            if r < 0.05:
                parts.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 150))))
            elif r < 0.1:
                parts.append(b"x" * rng.randint(60, 200) + b"\n")
            elif r < 0.15:
                parts.append(b"line\r\n" if rng.random() < 0.5 else b"\r\r\n")
            else:
                parts.append(b"\t%d %s\n" % (rng.randrange(50), b"ab" * rng.randrange(40)))
        return b"".join(parts)

    for _ in range(400):
        old = sample()
        new = bytearray(old)
        for _ in range(rng.randint(0, 12)):
            at = rng.randrange(len(new) + 1)
            new[at : at + rng.randint(0, 30)] = sample()[: rng.randint(0, 80)]
        pair = (old, bytes(new) if rng.random() > 0.05 else b"")
        assert git_similarity_index(*pair) == _reference_similarity(*pair)
        assert git_similarity_index(pair[1], pair[0]) == _reference_similarity(pair[1], pair[0])


def test_heap_settings_apply_and_restore() -> None:
    from extractors.git.extract import _keep_heap, _libc

    _keep_heap()
    _keep_heap(False)  # and the defaults come back (a no-op without glibc)
    assert _libc() is None or hasattr(_libc(), "mallopt")


def _subject_reference(message: str) -> str:
    # git's %s, line by line: the first paragraph's lines, stripped, joined with spaces
    lines = []
    for line in message.lstrip("\n").split("\n"):
        if not line.strip():
            break
        lines.append(line.strip())
    return " ".join(lines)


def test_subject_shortcut_equals_the_line_by_line_rule() -> None:
    import itertools

    from extractors.git import extract as extract_module

    subject = extract_module._subject
    assert subject("\n\n  fix: a thing \n\nbody\n") == "fix: a thing"
    assert subject("two\nlines\n\nbody") == "two lines"
    assert subject(" \nbody") == ""
    assert subject("one") == "one"
    parts = ["", "\n", "a", " b ", "\t", "c d", "\u00a0", "x\n", " \n"]
    for combo in itertools.product(parts, repeat=4):
        message = "".join(combo)
        assert subject(message) == _subject_reference(message), repr(message)


def test_trailer_end_without_comments_or_conflicts_equals_the_line_walk() -> None:
    # messages without comment lines or conflict blocks take a shortcut (only empty lines can
    # be left out at their end): the same end as the walk over every line
    from extractors.git.trailers import _ignored_run, _trailer_end

    rng = random.Random(17)
    pool = ["", "", " ", "\t", "Title", "Signed-off-by: A <a@x.org>", "  cont", "\r", "text"]
    for _ in range(3000):
        message = "\n".join(rng.choice(pool) for _ in range(rng.randint(0, 7)))
        message += rng.choice(["", "\n", "\n\n", "\n\n\n"])
        for end in {len(message), rng.randint(0, len(message))}:
            assert _trailer_end(message, end) == _ignored_run(message, end), (message, end)
