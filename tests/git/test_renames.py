"""Rename pairing, binary index lines and scoped patch-ids compared with git itself.

git log pairs renames with diffcore-rename (exact renames, then files whose basenames are unique,
then a best-score matrix, 50 % minimum); every commit's numstat (with the paths it pairs) and
patch-id must equal git's, on hand-built commits near the thresholds and on seeded random ones.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import pygit2
import pytest

from extractors.git.abbrev import Abbreviator, approximate_object_count, default_abbrev_length
from extractors.git.diffstat import ChangeReader, commit_changes
from extractors.git.renames import MAX_SCORE, Side, find_renames
from extractors.git.scope import PathScope
from tests.git.conftest import Git, init_repo
from tests.git.helpers import extract, git_patch_ids

# (added, removed, binary, old path or None, path)
Stat = tuple[int, int, bool, str | None, str]


def git_numstat_paths(g: Git, pathspecs: list[str] | None = None) -> dict[str, Counter]:
    """sha -> Counter of Stat from `git log --no-merges --numstat -z` (git's default renames)."""
    args = ["log", "--no-merges", "--numstat", "-z", "--format=%x01%H%x02"]
    if pathspecs:
        args += ["--full-history", "--", *pathspecs]
    out: dict[str, Counter] = {}
    for chunk in g.text(*args).split("\x01")[1:]:
        sha, _, rest = chunk.partition("\x02")
        stats: Counter = Counter()
        fields = rest.lstrip("\n").split("\0")
        i = 0
        while i < len(fields):
            field = fields[i].lstrip("\n")
            i += 1
            if not field:
                continue
            a, r, path = field.split("\t", 2)
            old = None
            if not path:  # a rename: old and new paths follow
                old, path = fields[i], fields[i + 1]
                i += 2
            binary = a == "-"
            stats[(0 if binary else int(a), 0 if binary else int(r), binary, old, path)] += 1
        out[sha] = stats
    return out


def ours_numstat_paths(rows: dict[str, list[dict]]) -> dict[str, Counter]:
    out: dict[str, Counter] = {r["sha"]: Counter() for r in rows["git_commits"] if not r["is_merge"]}
    for r in rows["git_file_changes"]:
        old = r["old_path"] if r["change_type"] == "R" else None
        out[r["sha"]][(r["lines_added"], r["lines_removed"], r["is_binary"], old, r["path"])] += 1
    return out


def assert_parity(g: Git, *, paths: list[str] | None = None, workers: int = 1) -> dict[str, Counter]:
    """Every commit's numstat (paths included) and patch-id equal git's; returns git's numstat."""
    rows = extract(g.path, paths=paths, workers=workers)
    specs = PathScope(paths).git_pathspecs() if paths else None
    want = git_numstat_paths(g, specs)
    got = ours_numstat_paths(rows)
    assert set(got) == set(want)
    for sha, stats in want.items():
        assert got[sha] == stats, (sha, g.text("log", "-1", "--format=%s", sha))
    whole = git_patch_ids(g)  # the whole commit's, scope or not
    ids = {r["sha"]: r["patch_id"] for r in rows["git_commits"] if r["patch_id"]}
    assert ids == {sha: whole[sha] for sha in want if sha in whole}
    return want


def fixed_lines(tag: str, n: int, start: int = 0) -> list[str]:
    """Lines of one length each, so that similarity is exactly the share of lines kept."""
    return [f"{tag}-{i:04d}-{'abcdefgh'[i % 8] * 9}\n" for i in range(start, start + n)]


def keep(lines: list[str], kept: int, tag: str) -> str:
    """`lines` with all but the first `kept` replaced by new lines of the same length."""
    return "".join(lines[:kept] + fixed_lines(tag, len(lines) - kept, kept))


def py_source(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["parse", "args", "config", "main", "run", "path", "value", "result", "items", "name"]
    return [
        f"    {rng.choice(words)}_{rng.choice(words)} = {rng.choice(words)}({rng.randrange(1000)})\n"
        for _ in range(n)
    ]


def build_renames(path: Path, home: Path) -> Git:
    """Commits that rename-and-edit files while adding and deleting others, as git pairs them."""
    g = init_repo(path, home)
    x_py = py_source(190, 1)
    g.write("tools/x/x.py", "".join(x_py))
    g.write("tools/x/README", "x tool\n")
    g.write("tools/y/y.py", "".join(py_source(60, 2)))
    for name in ("above", "at", "below"):
        g.write(f"th/{name}.txt", "".join(fixed_lines(name, 100)))
    base = fixed_lines("util", 100)
    g.write("src/a/util.c", "".join(base))
    g.write("src/b/util.c", keep(base, 90, "b"))
    g.write("src/c/helper.c", keep(base, 80, "c"))
    g.write("inc/common.h", "".join(fixed_lines("common", 100)))
    # other.h is 95 % like the moved common.h, common.h itself 80 %
    common = fixed_lines("common", 100)
    g.write("inc/other.h", "".join(common[:75] + fixed_lines("oth", 5, 75) + fixed_lines("new", 20, 80)))
    dup = "".join(fixed_lines("dup", 20))
    g.write("dup1/a.txt", dup)
    g.write("dup2/b.txt", dup)
    g.write("dup3/c.txt", dup)
    g.write("empty/one", "")
    g.write("bin/data.bin", bytes(range(256)) * 16)
    g.write("bin/same.bin", b"\0\1\2" * 500)
    g.write("mode/run.sh", "".join(fixed_lines("run", 30)))
    g.write("copy/orig.txt", "".join(fixed_lines("orig", 40)))
    g.write("type/file", "was a file\n")
    g.write("many/src1.txt", "".join(fixed_lines("many", 50)))
    for k in range(2, 7):
        g.write(f"many/src{k}.txt", keep(fixed_lines("many", 50), 50 - 2 * k, f"m{k}"))
    os.symlink("../tools/x/README", path / "link1")
    g.commit("base\n")

    # the shape of the real commit: a tool's script moved into a package and cut down, while
    # other files of the tool are added and deleted
    g("rm", "-q", "tools/x/x.py", "tools/x/README")
    g.write("tools/x/lib/main.py", "".join(x_py[:110] + py_source(17, 3)))
    g.write("tools/x/lib/__init__.py", "".join(x_py[100:150]))
    g.write("tools/x/setup.py", "".join(x_py[:40] + py_source(20, 4)))
    g.write("tools/x/NEWS", "news\n")
    g.commit("tools/x: move x.py into a package\n")

    # similarity at, just above and just below git's 50 %
    for name, kept in (("above", 51), ("at", 50), ("below", 49)):
        old = fixed_lines(name, 100)
        g("rm", "-q", f"th/{name}.txt")
        g.write(f"th2/{name}2.txt", keep(old, kept, name.upper()))
    g.write("th2/unrelated.txt", "".join(fixed_lines("zzz", 30)))
    g.commit("threshold renames\n")

    # several similar sources: the best score wins, ties go to the same basename
    g("rm", "-q", "src/a/util.c", "src/b/util.c", "src/c/helper.c")
    g.write("lib/util.c", keep(base, 85, "L"))
    g.write("lib/helper.c", keep(base, 80, "c") + "/* more */\n")
    g.commit("consolidate sources\n")

    # the basename heuristic: a unique same-named file pairs at 75 % or more even when another
    # source is more similar
    g("rm", "-q", "inc/common.h", "inc/other.h")
    g.write("include/common.h", keep(common, 80, "new"))
    g.write("include/misc.h", "".join(fixed_lines("misc", 10)))
    g.commit("move headers\n")

    # exact renames: identical sources, the same basename preferred; an identical copy stays an
    # addition; an empty file renamed; a binary file renamed as is and one renamed and changed
    g("rm", "-q", "dup1/a.txt", "dup2/b.txt", "empty/one", "bin/data.bin", "bin/same.bin")
    g.write("new/b.txt", dup)
    g.write("new/z.txt", dup)
    g.write("new/also-dup.txt", dup)
    g.write("empty/two", "")
    g.write("bin2/data.bin", bytes(range(256)) * 15 + bytes(range(255, -1, -1)))
    g.write("bin2/same.bin", b"\0\1\2" * 500)
    g.commit("exact renames\n")

    # copies are not detected by git log's default: additions; a rename with a mode change;
    # a symlink renamed; a file that becomes a symlink
    g.write("copy/copied.txt", "".join(fixed_lines("orig", 40)))
    g.write("copy/edited-copy.txt", keep(fixed_lines("orig", 40), 35, "cp"))
    g("mv", "mode/run.sh", "mode/run2.sh")
    os.chmod(path / "mode/run2.sh", 0o755)
    g.write("mode/run2.sh", keep(fixed_lines("run", 30), 25, "R"))
    g("mv", "link1", "link2")
    (path / "type/file").unlink()
    os.symlink("../tools/y/y.py", path / "type/file")
    g("rm", "-q", "tools/y/y.py")
    g.write("tools/z/y.py", "".join(py_source(60, 2)[:45]))
    g.commit("copies, modes and links\n")

    # one destination, six candidate sources at 50 % to 96 %: only four are kept per destination
    g("rm", "-q", *[f"many/src{k}.txt" for k in range(1, 7)])
    g.write("many2/dst.txt", keep(fixed_lines("many", 50), 47, "D"))
    g.write("many2/dst2.txt", keep(fixed_lines("many", 50), 45, "E"))
    g.commit("many candidates\n")

    # names git quotes in its headers (a tab, a quote, non-ASCII) and spaces, renamed and edited
    g.write('odd dir/na\u00efve\tfile "q".txt', "".join(fixed_lines("odd", 40)))
    g.commit("odd names\n")
    g("rm", "-q", 'odd dir/na\u00efve\tfile "q".txt')
    g.write("other dir/na\u00efve file 2.txt", keep(fixed_lines("odd", 40), 36, "O"))
    g.write("plain.txt", "plain\n")
    g.commit("rename odd names\n")

    # one line of 1,000 changed: git prints 99 %, never rounding up to 100 %
    big = fixed_lines("big", 1000)
    g.write("big/old.txt", "".join(big))
    g.commit("big file\n")
    g("rm", "-q", "big/old.txt")
    g.write("big/new.txt", "".join(big[:500] + fixed_lines("BIG", 1, 500) + big[501:]))
    g.write("big/extra.txt", "extra\n")
    g.commit("rename big file\n")
    return g


@pytest.fixture(scope="module")
def renames_repo(tmp_path_factory: pytest.TempPathFactory) -> Git:
    base = tmp_path_factory.mktemp("renames")
    return build_renames(base / "repo", base)


def _subjects(g: Git) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in g.text("log", "--format=%H %s").splitlines())


def test_handcrafted_renames_equal_git(renames_repo: Git) -> None:
    want = assert_parity(renames_repo)
    by_subject = {_subjects(renames_repo)[sha]: stats for sha, stats in want.items()}
    # the cases are really there, as git counts them
    moved = by_subject["tools/x: move x.py into a package"]
    renamed = {(s[3], s[4]) for s in moved if s[3]}
    assert ("tools/x/x.py", "tools/x/lib/main.py") in renamed
    th = {(s[3], s[4]) for s in by_subject["threshold renames"] if s[3]}
    assert th == {("th/above.txt", "th2/above2.txt"), ("th/at.txt", "th2/at2.txt")}  # 49 % is no rename
    assert (49, 49, False, "th/above.txt", "th2/above2.txt") in by_subject["threshold renames"]
    headers = {(s[3], s[4]) for s in by_subject["move headers"] if s[3]}
    assert headers == {("inc/common.h", "include/common.h")}  # by basename (80 %), not the 95 % other.h
    assert (20, 20, False, "inc/common.h", "include/common.h") in by_subject["move headers"]
    exact = {(s[3], s[4]) for s in by_subject["exact renames"] if s[3]}
    assert ("dup2/b.txt", "new/b.txt") in exact and ("empty/one", "empty/two") in exact
    assert ("bin/same.bin", "bin2/same.bin") in exact
    # identical sources go in path order, a same-named one first; the third copy is an addition
    assert ("dup1/a.txt", "new/also-dup.txt") in exact
    assert (20, 0, False, None, "new/z.txt") in by_subject["exact renames"]
    assert (0, 0, True, "bin/data.bin", "bin2/data.bin") in by_subject["exact renames"]
    big = renames_repo.text("log", "-1", "-p", "--format=", "--grep=rename big file")
    assert "similarity index 99%" in big
    copies = by_subject["copies, modes and links"]
    assert (40, 0, False, None, "copy/copied.txt") in copies  # a copy is an addition
    assert any(s[3] == "mode/run.sh" and s[4] == "mode/run2.sh" for s in copies)
    assert any(s[3] == "link1" and s[4] == "link2" for s in copies)


def test_handcrafted_renames_workers_and_fast_path(renames_repo: Git) -> None:
    assert_parity(renames_repo, workers=2)
    assert_parity(renames_repo, paths=["th2/", "th/", "tools/"])
    repo = pygit2.Repository(str(renames_repo.path))
    for scope in (PathScope([]), PathScope(["tools/", "many/", "many2/"])):
        reader = ChangeReader(repo, scope)
        fast = 0
        for commit in repo.walk(repo.head.target):
            old = commit.parents[0].tree if commit.parents else None
            results: list = [None]
            reader._fast_many([(old.id if old is not None else None, commit.tree_id)], results, True)
            if results[0] is None:
                continue
            fast += 1
            files, pid = commit_changes(repo, old, commit.tree, scope)
            key = lambda f: (f.path, f.old_path, f.change_type, f.lines_added, f.lines_removed)  # noqa: E731
            assert sorted(map(key, results[0][0])) == sorted(map(key, files))
            assert results[0][1] == pid
        assert fast >= 2  # renames of plain files are paired on the fast path too


def test_git_pairs_differently_from_libgit2(renames_repo: Git) -> None:
    """The commit shapes where libgit2's find_similar disagreed with git."""
    repo = pygit2.Repository(str(renames_repo.path))
    subjects = _subjects(renames_repo)
    differ = 0
    for sha in subjects:
        commit = repo[sha]
        if not commit.parents:
            continue
        diff = commit.parents[0].tree.diff_to_tree(commit.tree)
        diff.find_similar(flags=pygit2.enums.DiffFind.FIND_RENAMES, rename_threshold=50)
        theirs = {(d.old_file.path, d.new_file.path) for d in diff.deltas if d.status_char() == "R"}
        ours = {
            (f.old_path, f.path)
            for f in commit_changes(repo, commit.parents[0].tree, commit.tree, PathScope([]))[0]
            if f.change_type == "R"
        }
        differ += theirs != ours
    assert differ >= 2, "the hand-built commits no longer exercise a disagreement"


def test_find_renames_rules() -> None:
    def side(path: str, data: bytes, mode: int = 0o100644) -> Side:
        return Side(path, mode, pygit2.hash(data).raw)

    blobs: dict[bytes, bytes] = {}

    def mk(path: str, data: bytes, mode: int = 0o100644) -> Side:
        s = side(path, data, mode)
        blobs[s.oid] = data
        return s

    text = "".join(fixed_lines("t", 100)).encode()
    srcs = [mk("a/x.c", text), mk("b/x.c", text)]
    dsts = [mk("c/x.c", text)]
    got = find_renames(srcs, dsts, blobs.__getitem__)
    assert [(r.src, r.dst, r.score) for r in got] == [(0, 0, MAX_SCORE)]  # the first identical source
    # a symlink and a file with the same content are never an exact rename
    got = find_renames([mk("l", b"target", 0o120000)], [mk("f", b"target")], blobs.__getitem__)
    assert got == []
    # 50 lines kept of 100 is 50 %: a rename; 49 is not
    half = keep(fixed_lines("t", 100), 50, "n").encode()
    less = keep(fixed_lines("t", 100), 49, "n").encode()
    assert [r.score for r in find_renames([mk("o", text)], [mk("h", half)], blobs.__getitem__)] == [
        MAX_SCORE // 2
    ]
    assert find_renames([mk("o", text)], [mk("h", less)], blobs.__getitem__) == []
    # beyond the rename limit only exact renames are found
    assert find_renames([mk("o", text)], [mk("h", half)], blobs.__getitem__, rename_limit=0) != []
    many = [mk(f"s{k}", text + b"%d\n" % k) for k in range(3)]
    assert find_renames(many, [mk("d", text)], blobs.__getitem__, rename_limit=1) == []


# --- seeded random histories ----------------------------------------------------------------


def _random_history(g: Git, seed: int, commits: int = 30) -> None:
    rng = random.Random(seed)
    vocab = [f"line {k} of the shared vocabulary {'x' * (k % 13)}\n" for k in range(300)]
    files: dict[str, list[str]] = {}
    dirs = ["a", "b", "a/deep", "c", "scope", "scope/sub"]

    def new_name() -> str:
        return f"{rng.choice(dirs)}/{rng.choice(['util', 'main', 'io', 'net', 'mem'])}{rng.randrange(40)}.{rng.choice(['c', 'h', 'txt'])}"

    def mutate(lines: list[str], share: float) -> list[str]:
        out = [ln if rng.random() < share else rng.choice(vocab) for ln in lines]
        if rng.random() < 0.5:
            out += rng.sample(vocab, rng.randrange(1, 8))
        return out

    for _ in range(8):
        name = new_name()
        files[name] = rng.sample(vocab, rng.randrange(10, 60))
    for n in range(commits):
        for _ in range(rng.randrange(1, 8)):
            op = rng.random()
            names = sorted(files)
            if op < 0.35 and names:  # rename, edited to a similarity anywhere around 50 %
                old = rng.choice(names)
                new = new_name()
                if new in files:
                    continue
                files[new] = mutate(files.pop(old), rng.choice([0.3, 0.45, 0.5, 0.55, 0.7, 1.0]))
            elif op < 0.45 and len(names) > 4:
                # a family of look-alike files moved at once, some keeping their basename:
                # sources compete for each destination and the basename rule matters
                first = rng.choice(names)
                seen = set(files[first])
                family = sorted(names, key=lambda m: -len(seen.intersection(files[m])))[: rng.randrange(2, 6)]
                texts = [(m, files.pop(m)) for m in family]
                for m, t in texts + rng.sample(texts, rng.randrange(0, 3)):
                    base = m.rpartition("/")[2] if rng.random() < 0.5 else new_name().rpartition("/")[2]
                    new = f"{rng.choice(dirs)}/{base}"
                    if new not in files:
                        files[new] = mutate(t, rng.choice([0.45, 0.5, 0.6, 0.75, 0.8, 0.9]))
            elif op < 0.55 and names:  # a copy of an existing file, edited or not
                src = rng.choice(names)
                new = new_name()
                if new not in files:
                    files[new] = mutate(files[src], rng.choice([0.6, 0.8, 1.0]))
            elif op < 0.65 and len(names) > 3:
                del files[rng.choice(names)]
            elif op < 0.8:
                name = new_name()
                files[name] = rng.sample(vocab, rng.randrange(1, 50))
            elif names:
                name = rng.choice(names)
                files[name] = mutate(files[name], 0.8)
        for p in list((g.path).rglob("*")):
            if p.is_file() and ".git" not in p.parts:
                p.unlink()
        for name, lines in files.items():
            g.write(name, "".join(lines))
        g.commit(f"random {seed} step {n}\n")


@pytest.mark.parametrize("seed", [3, 4, 8, 12])  # seeds where libgit2 paired differently
def test_random_histories_equal_git(tmp_path: Path, seed: int) -> None:
    g = init_repo(tmp_path / "repo", tmp_path)
    _random_history(g, seed)
    want = assert_parity(g)
    renames = sum(1 for stats in want.values() for s in stats if s[3])
    assert renames >= 10  # the history really renames
    assert_parity(g, paths=["scope/"])


# --- binary files: git's abbreviation of the index line ---------------------------------------


def _fast_import_blobs(g: Git, n: int) -> None:
    """`n` unreferenced blobs written straight into a pack (fast-import packs what it gets)."""
    stream = b"".join(b"blob\ndata %d\n%s\n" % (len(b"%d\n" % k), b"%d\n" % k) for k in range(n))
    g("fast-import", "--quiet", input=stream + b"done\n")


def _binary_commits(g: Git) -> None:
    g.write("fw/a.bin", bytes(range(256)) * 4)
    g.write("text.txt", "t\n")
    g.commit("add binary\n")
    g.write("fw/a.bin", bytes(range(255, -1, -1)) * 4)
    g.commit("change binary\n")
    (g.path / "fw2").mkdir()
    g("mv", "fw/a.bin", "fw2/b.bin")
    g.write("fw2/b.bin", bytes(range(255, -1, -1)) * 4 + b"\0tail")
    g.write("other.txt", "o\n")
    g.commit("rename binary, edited\n")
    g("rm", "-q", "fw2/b.bin")
    g.commit("delete binary\n")


def test_binary_index_abbreviation_grows_with_the_repository(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "repo", tmp_path)
    _fast_import_blobs(g, 17_000)  # 2^14 packed objects and more: 8 digits
    _binary_commits(g)
    repo = pygit2.Repository(str(g.path))
    assert approximate_object_count(repo.path) == 17_000  # loose objects are not counted
    assert default_abbrev_length(repo) == 8
    index_lines = [ln for ln in g.text("log", "-p").splitlines() if ln.startswith("index ")]
    assert index_lines and all(len(ln.split()[1].split("..")[0]) >= 8 for ln in index_lines)
    assert_parity(g)


def test_binary_index_abbreviation_lengthened_when_ambiguous(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "repo", tmp_path)
    g("config", "core.abbrev", "4")
    _fast_import_blobs(g, 3_000)  # 4-digit prefixes collide (65,536 of them)
    _binary_commits(g)
    repo = pygit2.Repository(str(g.path))
    abbrev = Abbreviator(repo)
    assert abbrev.length == 4
    blobs = [str(e.id) for e in repo.revparse_single("HEAD~1").tree["fw2"]]
    lengths = {len(abbrev(h)) for h in blobs}
    git_len = {len(g.text("rev-parse", "--short", h).strip()) for h in blobs}
    assert lengths == git_len
    # over all 3,000 blobs some need 5 digits, as git says
    sample = [str(pygit2.hash(b"%d\n" % k)) for k in range(0, 3000, 25)]
    assert [abbrev(h) for h in sample] == [g.text("rev-parse", "--short", h).strip() for h in sample]
    assert any(len(abbrev(h)) > 4 for h in sample)
    assert_parity(g)


# --- path scope: the stored patch-id is the posted patch's ------------------------------------


def test_scoped_commit_keeps_the_posted_patch_id(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "repo", tmp_path)
    g.write("virt/kvm.c", "".join(fixed_lines("kvm", 20)))
    g.write("include/other.h", "".join(fixed_lines("other", 10)))
    g.write("virt/solo.c", "solo\n")
    g.commit("base\n")
    g.write("virt/kvm.c", keep(fixed_lines("kvm", 20), 18, "K"))
    g.write("include/other.h", keep(fixed_lines("other", 10), 7, "O"))
    both = g.commit("kvm: change both\n")
    g.write("virt/solo.c", "solo\nmore\n")
    solo = g.commit("kvm: change solo\n")
    rows = extract(g.path, paths=["virt/"])
    commits = {r["sha"]: r for r in rows["git_commits"]}
    assert set(commits) == {both, solo, g.text("rev-list", "--max-parents=0", "HEAD").strip()}
    for sha in (both, solo):
        mbox = g("format-patch", "--stdout", "-1", sha)
        posted = g("patch-id", "--stable", input=mbox).decode().split()[0]
        assert commits[sha]["patch_id"] == posted
    # lines count the in-scope file only
    assert (commits[both]["lines_added"], commits[both]["lines_removed"]) == (2, 2)
    assert commits[both]["files_changed"] == 1


def test_object_count_reads_packs_and_multi_pack_index(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "repo", tmp_path)

    def blobs(lo: int, hi: int) -> None:  # more than fast-import's unpack limit: one pack each
        stream = b"".join(b"blob\ndata %d\n%s\n" % (len(b"%d\n" % k), b"%d\n" % k) for k in range(lo, hi))
        g("fast-import", "--quiet", input=stream + b"done\n")

    blobs(0, 300)
    blobs(300, 500)
    g("multi-pack-index", "write")
    blobs(500, 650)  # a pack the multi-pack-index does not cover
    g.write("loose.txt", "loose\n")
    g.commit("loose objects are not counted\n")
    in_pack = int(
        next(ln.split()[1] for ln in g.text("count-objects", "-v").splitlines() if ln.startswith("in-pack:"))
    )
    assert in_pack == 650
    assert approximate_object_count(str(g.path / ".git")) == 650
