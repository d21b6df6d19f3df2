"""The compiled fast path (extractors/git/_gitdiff.c) against its Python reference.

`tree_delta` against `fastdiff.entries_delta` on seeded random trees (type changes, mode changes,
names that sort differently as trees and as files); `blob_diff` against libgit2's printed patch
on seeded random file versions (whitespace, CRLF, unterminated last lines, empty and binary
files), added, deleted and modified; `tree_changes` (a commit's whole walk in one call) against
the Python walk of fastdiff.TreeComparer on seeded random nested trees, whole and scoped;
`plain_changes_many` (a batch's plain changes, rows and patch-ids) against ChangeReader's Python
bookkeeping on a seeded random history (renames, binary, empty and missing blobs); and the
whole extraction with all of them turned off, which must give the pinned rows of the seeded
history and the same rows as with them on the deep tree.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pygit2
import pytest

from extractors.git import diffstat, fastdiff, native
from extractors.git.diffstat import ChangeReader
from extractors.git.fastdiff import Unusual, entries_delta
from extractors.git.scope import PathScope
from tests.c_modules import require
from tests.git.conftest import Git, init_repo
from tests.git.helpers import extract, git_numstat, git_patch_ids
from tests.git.test_regression import EXPECTED_DIGEST, _canonical, _digest, build_fixed

_gitdiff = pytest.importorskip("extractors.git._gitdiff")

MODES = [b"100644", b"100755", b"120000", b"160000", b"40000"]


def _raw_tree(entries: dict[bytes, tuple[bytes, bytes]]) -> bytes:
    """A raw tree object in git's order (a tree's name sorts as if it ended in '/')."""

    def key(name: bytes) -> bytes:
        return name + b"/" if entries[name][0] == b"40000" else name

    return b"".join(b"%s %s\0%s" % (entries[n][0], n, entries[n][1]) for n in sorted(entries, key=key))


def _random_trees(rng: random.Random) -> tuple[dict, dict]:
    names = [b"foo", b"foo.c", b"foo-bar", b"foo0", b"a", b"b b", b"z", b"\xc3\xa9"]
    names += [b"n%d" % i for i in range(rng.randint(0, 30))]
    old: dict[bytes, tuple[bytes, bytes]] = {}
    for name in rng.sample(names, rng.randint(0, len(names))):
        old[name] = (rng.choice(MODES), rng.randbytes(20))
    new = dict(old)
    for name in list(new):
        r = rng.random()
        if r < 0.15:
            del new[name]
        elif r < 0.3:
            new[name] = (new[name][0], rng.randbytes(20))
        elif r < 0.4:
            new[name] = (rng.choice(MODES), new[name][1])  # a mode or type change
    for name in rng.sample(names, 3):
        if name not in new:
            new[name] = (rng.choice(MODES), rng.randbytes(20))
    return old, new


def test_tree_delta_equals_reference() -> None:
    rng = random.Random(5)
    seen_type_change = 0
    for _ in range(3000):
        old, new = _random_trees(rng)
        a, b = _raw_tree(old), _raw_tree(new)
        want = entries_delta(fastdiff.entry_set(a), fastdiff.entry_set(b))
        assert _gitdiff.tree_delta(a or None, b or None) == want
        assert _gitdiff.tree_delta(b or None, a or None) == entries_delta(
            fastdiff.entry_set(b), fastdiff.entry_set(a)
        )
        seen_type_change += any((o == b"40000") != (n == b"40000") for _, o, _, n, _ in want if o and n)
    assert seen_type_change > 50  # a file and a directory of one name, merged into one change
    one = {b"x": (b"100644", b"\1" * 20)}
    assert _gitdiff.tree_delta(None, None) == []
    assert _gitdiff.tree_delta(_raw_tree(one), _raw_tree(one)) == []
    assert _gitdiff.tree_delta(None, _raw_tree(one)) == [(b"x", None, None, b"100644", b"\1" * 20)]


def test_tree_delta_declines_trees_out_of_order() -> None:
    unordered = b"100644 b\0" + b"\1" * 20 + b"100644 a\0" + b"\2" * 20
    assert _gitdiff.tree_delta(unordered, None) is None
    assert _gitdiff.tree_delta(None, b"100644 truncated\0" + b"\1" * 5) is None


def _line(rng: random.Random) -> str:
    k = rng.random()
    if k < 0.1:
        return ""
    if k < 0.2:
        return "\t}" + " " * rng.randint(0, 2)
    if k < 0.3:
        return "int f(void)\r"
    return rng.choice(["\tx = y;", "\t\treturn 0;", "  a  b ", "{", "/* c */", "if (x)"])


def _version(rng: random.Random, lines: list[str]) -> bytes:
    text = "\n".join(lines)
    if lines and rng.random() < 0.8:
        text += "\n"  # else the last line is unterminated
    return text.encode()


def test_blob_diff_equals_printed_patch(tmp_path: Path) -> None:
    assert native.blob_diff is not None, "libgit2 not found in this process"
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    rng = random.Random(11)
    compared = declined = 0
    for n in range(600):
        lines = [_line(rng) for _ in range(rng.randint(0, 40))]
        old = _version(rng, lines)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(lines) + 1)
            if rng.random() < 0.5:
                lines[at:at] = [_line(rng) for _ in range(rng.randint(1, 5))]
            else:
                del lines[at : at + rng.randint(1, 3)]
        new = _version(rng, lines)
        if n % 50 == 0:
            new = b"\0binary" + new
        ob = repo[repo.create_blob(old)]
        nb = repo[repo.create_blob(new)]
        path = rng.choice(["a.c", "dir/with space.c", "x/y/z.h"])
        for kind, o, nw in (("M", ob, nb), ("A", None, nb), ("D", ob, None)):
            args = (path, kind, b"100644" if o else None, o, b"100755" if nw else None, nw)
            try:
                want = ChangeReader._file_patch(*args)  # type: ignore[arg-type]
            except Unusual:
                with pytest.raises(Unusual):
                    ChangeReader._file_native(*args, b"")  # type: ignore[arg-type]
                declined += 1
                continue
            for driver_path in (b"", path.encode()):
                got = ChangeReader._file_native(*args, driver_path)  # type: ignore[arg-type]
                assert got == want, (kind, old, new)
            compared += 1
    assert compared > 1500 and declined > 30  # empty and binary files decline


def test_python_reference_gives_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.git.test_fastdiff import DEEP_SCOPE, build_deep

    g = build_fixed(tmp_path / "fixed", tmp_path / "home")
    deep: Git = build_deep(tmp_path / "deep", tmp_path / "home")
    native_rows = {
        (name, str(scope)): _canonical(extract(repo.path, paths=scope))
        for name, repo in (("fixed", g), ("deep", deep))
        for scope in (None, DEEP_SCOPE)
    }
    monkeypatch.setattr(diffstat, "blob_diff", None)
    monkeypatch.setattr(fastdiff, "tree_delta", None)
    assert ChangeReader(pygit2.Repository(str(g.path)), PathScope([])).trees._native is None
    reference = extract(g.path)
    assert _digest(reference) == EXPECTED_DIGEST
    for (name, scope), rows in native_rows.items():
        repo = g if name == "fixed" else deep
        assert _canonical(extract(repo.path, paths=None if scope == "None" else DEEP_SCOPE)) == rows


def test_diff_attributes_follow_git(tmp_path: Path) -> None:
    # a `diff` attribute (here through the `binary` macro) makes a text file binary for git;
    # the compiled path must let libgit2 see it for the paths it applies to
    g = init_repo(tmp_path / "repo", tmp_path / "home")
    g.write(".gitattributes", "*.dat binary\n")
    g.write("a.dat", "one\ntwo\n")
    g.write("b.c", "x\n")
    g.commit("add")
    g.write("a.dat", "one\nthree\n")
    g.write("b.c", "y\nz\n")
    g.commit("edit")
    g("rm", "-q", "a.dat")
    g.commit("delete")
    rows = extract(g.path)
    numstat = git_numstat(g)
    got: dict[str, list[tuple[int, int, bool]]] = {}
    for r in rows["git_file_changes"]:
        got.setdefault(r["sha"], []).append((r["lines_added"], r["lines_removed"], r["is_binary"]))
    assert {sha: sorted(v) for sha, v in got.items()} == {sha: sorted(v) for sha, v in numstat.items()}
    assert sum(b for v in numstat.values() for _, _, b in v) == 3  # a.dat added, edited, deleted
    ids = {r["sha"]: r["patch_id"] for r in rows["git_commits"]}
    assert ids == git_patch_ids(g)


def test_raw_reader_reads_what_pygit2_reads(tmp_path: Path) -> None:
    g = build_fixed(tmp_path / "repo", tmp_path / "home", commits=5)
    repo = pygit2.Repository(str(g.path))
    read = native.raw_reader(repo)
    assert read is not None
    objects = [c.id for c in repo.walk(repo.head.target)]
    objects += [repo[c].tree_id for c in objects]
    objects += [e.id for e in repo[repo.head.target].tree]
    for oid in objects:
        assert read(oid.raw) == repo.odb.read(oid)[1]
    with pytest.raises(KeyError, match="00" * 20):
        read(b"\0" * 20)


def test_file_entry_naming_a_tree_is_no_blob(tmp_path: Path) -> None:
    # a damaged tree whose file entry names a tree object: never handed to libgit2 as a blob
    pygit2.settings.enable_strict_object_creation(False)
    try:
        repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
        inner = repo.TreeBuilder()
        inner.insert("x.c", repo.create_blob(b"int x;\n"), pygit2.enums.FileMode.BLOB)
        sub = inner.write()
        tb = repo.TreeBuilder()
        tb.insert("a.c", sub, pygit2.enums.FileMode.BLOB)
        bad = tb.write()
    finally:
        pygit2.settings.enable_strict_object_creation(True)
    blob = repo[repo.create_blob(b"int a;\n")]
    assert isinstance(repo[sub], pygit2.Tree)
    for old, new in ((repo[sub], blob), (blob, repo[sub])):
        with pytest.raises(Unusual, match="not a blob"):
            ChangeReader._file_native("a.c", "M", b"100644", old, b"100644", new, b"")
    reader = ChangeReader(repo, PathScope([]))
    empty = repo.TreeBuilder().write()
    # the whole-tree diff takes it and fails as the extraction reports (the commit quarantined)
    with pytest.raises((KeyError, pygit2.GitError, ValueError, OSError), match="type"):
        reader.changes(empty, bad)


# --- the compiled walk (tree_changes) against the Python walk -----------------------------------

WALK_NAMES = [b"a", b"b b", b"foo", b"foo.c", b"foo-bar", b"foo0", b"kvm", b"x.h", b"caf\xc3\xa9", b'q"x']
WALK_SCOPES = [[], ["kvm/"], ["*.c"], ["foo/", "a"], ["*/kvm/*", "x.h"], ["b b/foo.c"]]


def _random_nested(rng: random.Random, depth: int) -> dict:
    """name -> (mode, id) for a file, or name -> dict for a directory."""
    tree: dict = {}
    for name in rng.sample(WALK_NAMES, rng.randint(0, 6)):
        if name in (b'q"x', b"caf\xc3\xa9") and rng.random() < 0.8:
            continue  # keep most trees free of names the fast path declines
        if depth > 0 and rng.random() < 0.45:
            tree[name] = _random_nested(rng, depth - 1)
        else:
            mode = b"100644" if rng.random() < 0.8 else rng.choice(MODES[1:4])
            tree[name] = (mode, rng.randbytes(20))
    return tree


def _mutate(rng: random.Random, tree: dict, depth: int) -> dict:
    out = dict(tree)
    for name in list(out):
        r = rng.random()
        if isinstance(out[name], dict):
            if r < 0.6:
                out[name] = _mutate(rng, out[name], depth - 1)
            elif r < 0.65:
                del out[name]
            elif r < 0.68:
                out[name] = (b"100644", rng.randbytes(20))  # a directory becomes a file
        elif r < 0.25:
            out[name] = (out[name][0], rng.randbytes(20))
        elif r < 0.3:
            del out[name]
        elif r < 0.33:
            out[name] = (b"100755" if out[name][0] == b"100644" else b"100644", out[name][1])
        elif r < 0.35 and depth > 0:
            out[name] = _random_nested(rng, depth - 1)  # a file becomes a directory
    if rng.random() < 0.3:
        extra = _random_nested(rng, depth)
        for name, value in extra.items():
            out.setdefault(name, value)
    return out


def _write_nested(repo: pygit2.Repository, tree: dict) -> bytes:
    entries = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            entries[name] = (b"40000", _write_nested(repo, value))
        else:
            entries[name] = value
    return repo.odb.write(pygit2.enums.ObjectType.TREE, _raw_tree(entries)).raw


def _walk_both(repo: pygit2.Repository, scope: PathScope, old: bytes | None, new: bytes) -> tuple:
    """(compiled walk's result, Python walk's result): a list of changes or the Unusual reason."""
    got = []
    for compiled in (True, False):
        comparer = fastdiff.TreeComparer(repo, scope)
        if not compiled:
            comparer._walker = None
        else:
            assert comparer._walker is not None
        try:
            got.append(comparer.changes(old, new))
        except Unusual as exc:
            got.append(str(exc))
    return tuple(got)


def test_tree_changes_equals_python_walk(tmp_path: Path) -> None:
    require(native.tree_walker(pygit2.init_repository(str(tmp_path / "probe.git"), bare=True)), "_gitdiff.c")
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    rng = random.Random(23)
    outcomes: Counter = Counter()
    batches: dict[tuple[str, ...], list] = {}  # scope -> [(old, new, the Python walk's result)]
    for n in range(1500):
        old = _random_nested(rng, 3)
        new = _mutate(rng, old, 3)
        a = _write_nested(repo, old) if n % 10 else None  # sometimes from the empty tree
        b = _write_nested(repo, new)
        patterns = rng.choice(WALK_SCOPES) if rng.random() < 0.5 else []
        scope = PathScope(patterns)
        for x, y in ((a, b), (b, a)):
            if y is None:
                continue
            compiled, python = _walk_both(repo, scope, x, y)
            assert compiled == python, (old, new, scope.patterns)
            outcomes[python if isinstance(python, str) else "changes" if python else "none"] += 1
            batches.setdefault(tuple(patterns), []).append((x, y, python))
    # all pairs of a scope at once, level by level (tree_changes_many): the same changes, and
    # declined where the Python walk declines (the reason may be another one the walk meets)
    for patterns, batch in batches.items():
        comparer = fastdiff.TreeComparer(repo, PathScope(list(patterns)))
        assert comparer._walker_many is not None
        for whole in (False, True):
            got = comparer.changes_many([(x, y) for x, y, _ in batch], whole=whole)
            for (x, y, python), many in zip(batch, got, strict=True):
                if whole:
                    python = _walk_both(repo, PathScope([]), x, y)[1]
                if isinstance(python, str):
                    assert isinstance(many, Unusual), (x, y, patterns)
                else:
                    assert many == python, (x, y, patterns)
    # every outcome is exercised: changes, nothing in scope, and each reason to decline
    assert outcomes["changes"] > 400 and outcomes["none"] > 50, outcomes
    for reason in (
        "type change",
        "path needs quoting",
        "mode change",
        "symlink, submodule or other special file",
    ):
        assert outcomes[reason] > 20, outcomes


def test_tree_changes_shares_the_cache_and_reads_each_tree_once(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    walker = require(native.tree_walker(repo), "_gitdiff.c")
    file = (b"100644", b"\1" * 20)
    old = _write_nested(repo, {b"d": {b"e": {b"f.c": file}}, b"g.c": file})
    new = _write_nested(repo, {b"d": {b"e": {b"f.c": (b"100644", b"\2" * 20)}}, b"g.c": file})
    cache: dict = {}
    found, loaded = walker(cache, {}, old, new, None, None)
    assert found == [("d/e/f.c", b"100644", b"\1" * 20, b"100644", b"\2" * 20)]
    # both roots, both `d` and both `d/e`: six trees, stored with their raw bytes
    assert len(cache) == 6 and loaded == sum(len(raw) for raw in cache.values())
    assert cache[new] == repo.odb.read(pygit2.Oid(raw=new))[1]
    # trees found in the older generation move to the current one and count as loaded
    older, cache2 = dict(cache), {}
    assert walker(cache2, older, old, new, None, None) == (found, loaded)
    assert cache2 == cache
    # a scope's filters see directories with their slash, files without
    seen: list[str] = []
    walker({}, {}, old, new, lambda d: seen.append(d) or True, lambda f: seen.append(f) or False)
    assert seen == ["d/", "d/e/", "d/e/f.c"]
    # equal trees: nothing read; a missing tree: KeyError with its id
    assert walker({}, {}, new, new, None, None) == ([], 0)
    with pytest.raises(KeyError, match="03" * 20):
        walker({}, {}, None, b"\3" * 20, None, None)


def test_tree_changes_declines_trees_out_of_order(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    walker = require(native.tree_walker(repo), "_gitdiff.c")
    unordered = b"100644 b\0" + b"\1" * 20 + b"100644 a\0" + b"\2" * 20
    bad = repo.odb.write(pygit2.enums.ObjectType.TREE, unordered).raw
    ok = _write_nested(repo, {b"a": (b"100644", b"\2" * 20)})
    assert walker({}, {}, ok, bad, None, None)[0] is None
    # the Python walk then compares the entries as sets
    want = [("b", None, None, b"100644", b"\1" * 20)]
    assert fastdiff.TreeComparer(repo, PathScope([])).changes(ok, bad) == want
    many = native.tree_walker_many(repo)
    assert many is not None
    assert many([(ok, bad)], None, None) == [False]
    assert fastdiff.TreeComparer(repo, PathScope([])).changes_many([(ok, bad)]) == [want]


def test_tree_changes_many_fails_only_the_pair_with_a_missing_tree(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    many = require(native.tree_walker_many(repo), "_gitdiff.c")
    file = (b"100644", b"\1" * 20)
    one = _write_nested(repo, {b"d": {b"f.c": file}})
    two = _write_nested(repo, {b"d": {b"f.c": (b"100644", b"\2" * 20)}})
    # a tree naming a subtree that is not in the repository
    broken = repo.odb.write(pygit2.enums.ObjectType.TREE, _raw_tree({b"d": (b"40000", b"\3" * 20)})).raw
    pairs = [(one, two), (one, broken), (None, b"\4" * 20), (two, two), (None, one), (b"\5" * 20, b"\6" * 20)]
    got = many(pairs, None, None)
    assert got[0] == [("d/f.c", b"100644", b"\1" * 20, b"100644", b"\2" * 20)]
    assert isinstance(got[1], KeyError) and "03" * 20 in str(got[1])
    assert isinstance(got[2], KeyError) and "04" * 20 in str(got[2])
    assert got[3] == [] and got[4] == [("d/f.c", None, None, b"100644", b"\1" * 20)]
    # both trees missing: the old one named, as the Python walk reads it first
    assert isinstance(got[5], KeyError) and "05" * 20 in str(got[5])


def test_has_diff_attr_equals_pygit2(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "repo", tmp_path / "home")
    # set, unset, a driver's name, a macro that sets it, and an explicit unspecified
    g.write(".gitattributes", "*.dat binary\n*.txt -diff\n*.py diff=python\nsub/*.c diff\nsub/x.c !diff\n")
    g.write("sub/.gitattributes", "*.h diff=cpp\n")
    g.commit("attributes")
    (g.path / ".git" / "info").mkdir(exist_ok=True)
    (g.path / ".git" / "info" / "attributes").write_text("*.log -diff\n")
    repo = pygit2.Repository(str(g.path))
    has = require(native.diff_attr_reader(repo), "_gitdiff.c")
    paths = [
        "a.dat",
        "a.txt",
        "a.py",
        "a.c",
        "sub/a.c",
        "sub/x.c",
        "sub/a.h",
        "a.h",
        "x.log",
        "d/e/f.log",
        "b",
    ]
    want = {p: repo.get_attr(p, "diff") is not None for p in paths}
    assert {p: has(p.encode()) for p in paths} == want
    assert sum(want.values()) == 7 and not want["sub/x.c"] and not want["a.h"]


def test_blob_diffs_equal_blob_diff(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    diffs = require(native.blob_differ(repo), "_gitdiff.c")
    rng = random.Random(31)
    # one file's versions, newest first, as the extraction asks: each item's new version is
    # the previous item's old one (taken over without a second lookup)
    lines = [_line(rng) for _ in range(30)]
    versions = []
    for n in range(120):
        versions.append(repo.create_blob(_version(rng, lines) if n % 40 else b"\0binary"))
        at = rng.randrange(len(lines) + 1)
        lines[at:at] = [_line(rng) for _ in range(rng.randint(1, 3))]
        del lines[rng.randrange(len(lines)) :][:1]
    versions.reverse()
    items: list[tuple[bytes | None, bytes | None, bytes]] = []
    for k in range(len(versions) - 1):
        items.append((versions[k + 1].raw, versions[k].raw, b""))
    items += [(None, versions[0].raw, b"a.c"), (versions[-1].raw, None, b"")]  # added, deleted
    got = diffs(items)
    want = []
    for a, b, p in items:
        # (the blob objects must outlive the call that reads their pointers)
        old, new = (repo[pygit2.Oid(raw=x)] if x else None for x in (a, b))
        want.append(native.blob_diff(old._pointer if old else None, new._pointer if new else None, p))  # type: ignore[misc, union-attr]
    assert got == want
    assert sum(g is None for g in got) >= 4 and sum(g is not None for g in got) > 100  # binary: no hunks
    # a missing blob fails its item alone; an id naming a tree is no blob
    tree = repo.odb.write(pygit2.enums.ObjectType.TREE, b"").raw
    odd = diffs([(b"\5" * 20, versions[0].raw, b""), (tree, versions[0].raw, b""), items[0]])
    assert isinstance(odd[0], KeyError) and "05" * 20 in str(odd[0])
    assert odd[1] == "not a blob" and odd[2] == want[0]


@pytest.mark.parametrize("openssl", [True, False])
def test_sha1_equals_hashlib(openssl: bool) -> None:
    import hashlib

    try:
        assert native.bind_sha1(openssl) is openssl  # OpenSSL's, or the module's own
        rng = random.Random(41)
        # every length around the 64-byte block and its 56-byte padding edge, then random ones
        for n in [*range(0, 200), *(rng.randint(200, 200_000) for _ in range(40))]:
            data = rng.randbytes(n)
            assert _gitdiff.sha1(data) == hashlib.sha1(data).digest(), n
        assert _gitdiff.sha1(b"abc").hex() == "a9993e364706816aba3e25717850c26c9cd0d89d"  # FIPS 180 example
    finally:
        native.bind_sha1()


@pytest.mark.parametrize("openssl", [True, False])
def test_hashed_blob_diffs_equal_native_row(tmp_path: Path, openssl: bool) -> None:
    # blob_diffs with `hashed` gives each file's patch-id share computed in C: the same as the
    # Python row (_native_row) from the unhashed body, for modified, added and deleted files,
    # with spaces in paths and both file modes
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    diffs = require(native.blob_differ(repo), "_gitdiff.c")
    rng = random.Random(43)
    items: list[tuple[bytes | None, bytes | None, bytes]] = []
    changes: list[tuple[str, bytes | None, bytes | None, bytes | None, bytes | None]] = []
    for n in range(300):
        lines = [_line(rng) for _ in range(rng.randint(0, 60))]
        old = repo.create_blob(_version(rng, lines)).raw
        at = rng.randrange(len(lines) + 1)
        lines[at:at] = [_line(rng) for _ in range(rng.randint(1, 4))]
        new = repo.create_blob(_version(rng, lines) if n % 60 else b"\0binary").raw
        path = rng.choice(["a.c", "dir/with space.c", "x/y/z.h", "  lead.txt"])
        mode = rng.choice([b"100644", b"100755"])
        for a, b in ((old, new), (None, new), (old, None)):
            items.append((a, b, b""))
            changes.append((path, mode if a else None, a, mode if b else None, b))
    try:
        assert native.bind_sha1(openssl) is openssl
        plain = diffs(items)
        hashed = diffs(
            [(a, b, d, c[0].encode(), c[1], c[3]) for (a, b, d), c in zip(items, changes, strict=True)], True
        )
    finally:
        native.bind_sha1()
    compared = 0
    for change, body, got in zip(changes, plain, hashed, strict=True):
        if body is None:  # binary or empty: no hunks either way
            assert got is None
            continue
        fc, h = ChangeReader._native_row(change, body)
        assert got == (fc.lines_added, fc.lines_removed, h)
        assert got[2] > 0 and (got[0] or got[1])
        compared += 1
    assert compared > 800


# --- the compiled batch (plain_changes_many) against the Python bookkeeping ----------------------


def _write_files(repo: pygit2.Repository, files: dict[str, bytes | None]) -> pygit2.Oid:
    """A tree of `files` (path -> content; None names a missing blob)."""
    tree: dict = {}
    for path, data in files.items():
        *dirs, name = path.split("/")
        node = tree
        for d in dirs:
            node = node.setdefault(d, {})
        node[name] = data

    def write(node: dict) -> pygit2.Oid:
        tb = repo.TreeBuilder()
        for name, value in node.items():
            if isinstance(value, dict):
                tb.insert(name, write(value), pygit2.enums.FileMode.TREE)
            else:
                oid = repo.create_blob(value) if value is not None else pygit2.Oid(raw=b"\5" * 20)
                tb.insert(name, oid, pygit2.enums.FileMode.BLOB)
        return tb.write()

    return write(tree)


def _random_history(repo: pygit2.Repository, rng: random.Random, commits: int) -> list[pygit2.Oid]:
    """Trees of a random history of edits, additions, deletions, moves, binary and empty files,
    and a few blobs missing from the repository."""
    paths = [f"{d}/{n}.c" for d in ("a", "a/b", "c", "c/d d") for n in range(6)]
    files: dict[str, bytes | None] = {
        p: _version(rng, [_line(rng) for _ in range(rng.randint(1, 30))]) for p in paths[:12]
    }
    trees = [_write_files(repo, files)]
    for _ in range(commits):
        for _ in range(rng.choice([1, 1, 2, 3])):
            r, path = rng.random(), rng.choice(paths)
            if path not in files:
                files[path] = _version(rng, [_line(rng) for _ in range(rng.randint(0, 20))])
            elif r < 0.55:
                lines = (files[path] or b"").decode(errors="replace").split("\n")
                lines.insert(rng.randrange(len(lines) + 1), _line(rng))
                files[path] = _version(rng, lines)
            elif r < 0.65:
                del files[path]
            elif r < 0.75:  # a move, often with an edit: a rename for git
                files[rng.choice(paths)] = (files.pop(path) or b"") + (b"x;\n" if rng.random() < 0.5 else b"")
            elif r < 0.8:
                files[path] = b"\0binary" + rng.randbytes(8)
            elif r < 0.85:
                files[path] = b""
            elif r < 0.88:
                files[path] = None  # a blob the repository does not have
        trees.append(_write_files(repo, files))
        # a missing blob is there for one commit (the next one diffs against it too)
        files = {p: d for p, d in files.items() if d is not None}
    return trees


def _outcome(result: object) -> object:
    """A result of changes_many, errors compared by type and message."""
    if isinstance(result, Exception):
        return (type(result).__name__, str(result))
    return result


def test_compiled_batch_equals_python_bookkeeping(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    compiled = ChangeReader(repo, PathScope([]))
    require(compiled._plain_many, "_gitdiff.c")
    rng = random.Random(53)
    pygit2.settings.enable_strict_object_creation(False)  # trees naming missing blobs
    try:
        trees = _random_history(repo, rng, 400)
    finally:
        pygit2.settings.enable_strict_object_creation(True)
    trees.reverse()  # newest first, as the walk gives them
    pairs = [(trees[k + 1], trees[k]) for k in range(len(trees) - 1)] + [(None, trees[-1])]
    pairs += pairs[:5]  # the same pair twice in a batch
    reference = ChangeReader(repo, PathScope([]))
    reference._plain_many = None
    for with_patch_id in (True, False):
        got = compiled.changes_many(pairs, with_patch_id=with_patch_id)
        want = reference.changes_many(pairs, with_patch_id=with_patch_id)
        assert [_outcome(g) for g in got] == [_outcome(w) for w in want]
    walked = compiled.trees.changes_many([(a.raw if a else None, b.raw) for a, b in pairs])
    batch = compiled._plain_many(walked, diffstat.FileChange, True)
    kinds = Counter("none" if g is None else type(g).__name__ for g in batch)
    renamed = [g for g in got if isinstance(g, tuple) and any(f.change_type == "R" for f in g[0])]
    # not vacuous: most pairs taken by the compiled call, some declined (binary or empty files)
    # or failing (missing blobs) there, some renames left to Python
    assert kinds["tuple"] > 200 and kinds["str"] > 5 and kinds["KeyError"] > 5 and len(renamed) > 5
    assert all(type(f) is diffstat.FileChange for g in got if isinstance(g, tuple) for f in g[0])
