"""Per-file line counts of one commit, as `git log --numstat` reports them.

libgit2 differs from git unless told: git uses the indent heuristic (requested here) and detects
renames by default (50 % similarity, renames only). libgit2's `find_similar` pairs files
differently from git on commits that rename-and-edit a file while adding or deleting others, so
renames are paired by `extractors.git.renames`, a port of git's diffcore-rename, on libgit2's
diff without rename detection. Line counts come from each file's `Patch.line_stats` only
(`Diff.stats` would build every patch a second time).

The patch-id is always that of the whole commit (what `git patch-id --stable` gives for
`git log -p` and for the posted patch), also under a path scope, where the lines count in-scope
files only and renames are paired among in-scope files, as git limits the diff to the pathspec
before detecting renames. Binary files hash the abbreviated blob ids of their `index` line, with
git's abbreviation length (`extractors.git.abbrev`).

`ChangeReader` takes the fast path of `extractors.git.fastdiff` (only the changed subtrees, one
blob diff per changed file, renames of plain files paired there too) and falls back to libgit2's
whole-tree diff (`commit_changes`) for anything unusual. Its blob diffs go through the compiled
module (extractors.git.native: line counts and the patch-id's input from libgit2's line
callbacks, no patch text); without it, through libgit2's printed patch, with the same results.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import pygit2

from core.patchid import git_patch_id
from extractors.git.abbrev import Abbreviator
from extractors.git.attributes import no_attributes
from extractors.git.fastdiff import Change, TreeComparer, Unusual
from extractors.git.native import DIFF_FLAGS, blob_diff, blob_differ, diff_attr_reader, plain_differ
from extractors.git.patchid import MAX_SCORE, file_patch_hash, patch_id, sum_patch_hashes
from extractors.git.renames import Side, find_renames, path_key
from extractors.git.scope import PathScope

_WS = b" \t\n\r"  # git's isspace(): what the patch-id leaves out
_INDEX_LINE = re.compile(rb"^index [0-9a-f]+\.\.[0-9a-f]+", re.M)
# bytes git prints as C escapes inside a quoted path (core.quotePath, on by default)
_C_ESCAPES = {
    7: b"\\a",
    8: b"\\b",
    9: b"\\t",
    10: b"\\n",
    11: b"\\v",
    12: b"\\f",
    13: b"\\r",
    34: b'\\"',
    92: b"\\\\",
}


class FileChange(NamedTuple):
    """One file's row. A named tuple: the compiled batch (ChangeReader._compiled_plain) makes
    them as tuples are made, without a Python call per file."""

    path: str
    old_path: str | None
    change_type: str  # A | M | D | R | C | T
    lines_added: int
    lines_removed: int
    is_binary: bool


def tree_diff(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree) -> pygit2.Diff:
    """libgit2's diff of two trees, without rename detection (`renames.find_renames` pairs files)."""
    if old is None:
        return new.diff_to_tree(flags=DIFF_FLAGS, swap=True)
    return old.diff_to_tree(new, flags=DIFF_FLAGS)


def quote_path(path: bytes) -> bytes:
    """A path as git prints it in diff headers: C-quoted when it holds a control character,
    `"`, `\\` or a non-ASCII byte."""
    if all(0x20 <= c < 0x7F and c not in (34, 92) for c in path):
        return path
    out = [b'"']
    for c in path:
        if c in _C_ESCAPES:
            out.append(_C_ESCAPES[c])
        elif 0x20 <= c < 0x7F:
            out.append(bytes((c,)))
        else:
            out.append(b"\\%03o" % c)
    out.append(b'"')
    return b"".join(out)


def _quote_two(prefix: bytes, path: bytes) -> bytes:
    return quote_path(prefix + path)  # the prefix goes inside the quotes, as git prints it


def _is_binary_data(data: bytes) -> bool:
    return b"\0" in data[:8000]  # git's buffer_is_binary()


def rename_patch(
    repo: pygit2.Repository, src: Side, dst: Side, score: int, abbrev: Abbreviator
) -> tuple[FileChange, bytes]:
    """The row and the patch text (as `git log -p` prints it) of a file renamed from `src` to `dst`."""
    old_p = src.path.encode("utf-8", "surrogateescape")
    new_p = dst.path.encode("utf-8", "surrogateescape")
    head = b"diff --git %s %s\n" % (_quote_two(b"a/", old_p), _quote_two(b"b/", new_p))
    if src.mode != dst.mode:
        head += b"old mode %06o\nnew mode %06o\n" % (src.mode, dst.mode)
    head += b"similarity index %d%%\nrename from %s\nrename to %s\n" % (
        score * 100 // MAX_SCORE,
        quote_path(old_p),
        quote_path(new_p),
    )
    old_blob = repo[pygit2.Oid(raw=src.oid)]
    if src.oid == dst.oid:
        data = old_blob.data if isinstance(old_blob, pygit2.Blob) else b""
        return FileChange(dst.path, src.path, "R", 0, 0, _is_binary_data(data)), head
    new_blob = repo[pygit2.Oid(raw=dst.oid)]
    head += b"index %s..%s" % (abbrev(src.oid.hex()).encode(), abbrev(dst.oid.hex()).encode())
    head += b" %06o\n" % src.mode if src.mode == dst.mode else b"\n"
    patch = pygit2.Patch.create_from(
        old_blob, new_blob, old_as_path=src.path, new_as_path=dst.path, flag=DIFF_FLAGS
    )
    a, b = _quote_two(b"a/", old_p), _quote_two(b"b/", new_p)
    if patch.delta.is_binary:
        return FileChange(dst.path, src.path, "R", 0, 0, True), head + b"Binary files %s and %s differ\n" % (
            a,
            b,
        )
    _, added, removed = patch.line_stats
    text = patch.data
    at = text.find(b"\n@@ ")
    body = b"--- %s\n+++ %s\n" % (a, b) + text[at + 1 :] if at >= 0 else b""
    return FileChange(dst.path, src.path, "R", added, removed, False), head + body


def file_hash(text: bytes) -> int:
    """One file's share of the stable patch-id, for any shape of file diff."""
    h = file_patch_hash(text)
    if h is None:
        pid = git_patch_id(text)
        h = int.from_bytes(bytes.fromhex(pid), "little") if pid else 0
    return h


@dataclass(frozen=True, slots=True)
class _Pairs:
    by_dst: dict[int, tuple[int, int]]  # destination index -> (source index, score)
    sources: frozenset[int]


_NO_PAIRS = _Pairs({}, frozenset())


def _side(f: pygit2.DiffFile) -> Side:
    return Side(f.path, f.mode, f.id.raw)


def _delta_pairs(repo: pygit2.Repository, deltas: list[pygit2.DiffDelta], among: list[int]) -> _Pairs:
    """git's renames among the deltas `among` (indexes into `deltas`)."""
    adds = [i for i in among if deltas[i].status_char() == "A"]
    dels = [i for i in among if deltas[i].status_char() == "D"]
    if not adds or not dels:
        return _NO_PAIRS
    # libgit2 reports a file that became a symlink (or the reverse) as a deletion and an
    # addition of one path; git keeps it one (type-changed) pair, never a rename candidate
    both = {deltas[i].new_file.path for i in adds} & {deltas[i].old_file.path for i in dels}
    adds = sorted(
        (i for i in adds if deltas[i].new_file.path not in both),
        key=lambda i: path_key(deltas[i].new_file.path),
    )
    dels = sorted(
        (i for i in dels if deltas[i].old_file.path not in both),
        key=lambda i: path_key(deltas[i].old_file.path),
    )
    found = find_renames(
        [_side(deltas[i].old_file) for i in dels],
        [_side(deltas[i].new_file) for i in adds],
        lambda oid: repo[pygit2.Oid(raw=oid)].data,
    )
    if not found:
        return _NO_PAIRS
    return _Pairs({adds[r.dst]: (dels[r.src], r.score) for r in found}, frozenset(dels[r.src] for r in found))


def _fix_binary_index(text: bytes, delta: pygit2.DiffDelta, abbrev: Abbreviator) -> bytes:
    """git's abbreviation of the blob ids in a binary file's `index` line (they are hashed)."""
    line = b"index %s..%s" % (
        abbrev(str(delta.old_file.id)).encode(),
        abbrev(str(delta.new_file.id)).encode(),
    )
    return _INDEX_LINE.sub(line.replace(b"\\", b"\\\\"), text, count=1)


def commit_changes(
    repo: pygit2.Repository,
    old: pygit2.Tree | None,
    new: pygit2.Tree,
    scope: PathScope,
    *,
    with_patch_id: bool = True,
    abbrev: Abbreviator | None = None,
) -> tuple[list[FileChange], str | None]:
    """The in-scope file changes between two trees and the patch-id of their whole diff.

    With a scope, renames are paired among in-scope files for the line counts (git limits the
    diff to the pathspec first, so a file moved across the scope's edge is an addition or a
    deletion there) and among all files for the patch-id, which is the whole commit's."""
    if abbrev is None:
        abbrev = Abbreviator(repo)
    diff = tree_diff(repo, old, new)
    deltas = list(diff.deltas)
    everything = list(range(len(deltas)))
    scoped = bool(scope)
    in_scope = [i for i in everything if scope.matches(deltas[i].new_file.path)] if scoped else everything
    whole_pairs = _delta_pairs(repo, deltas, everything) if with_patch_id or not scoped else _NO_PAIRS
    line_pairs = _delta_pairs(repo, deltas, in_scope) if scoped else whole_pairs
    plain: dict[int, tuple[FileChange, bytes] | None] = {}

    def one(i: int) -> tuple[FileChange, bytes] | None:
        if i not in plain:
            plain[i] = _plain_change(diff, i, deltas[i], abbrev)
        return plain[i]

    def renamed(i: int, pairs: _Pairs) -> tuple[FileChange, bytes]:
        k, score = pairs.by_dst[i]
        return rename_patch(repo, _side(deltas[k].old_file), _side(deltas[i].new_file), score, abbrev)

    def walk(among: list[int], pairs: _Pairs) -> list[tuple[FileChange, bytes]]:
        out = []
        for i in among:
            if i in pairs.sources:
                continue
            got = renamed(i, pairs) if i in pairs.by_dst else one(i)
            if got is not None:
                out.append(got)
        return out

    lines = walk(in_scope, line_pairs)
    changes = _merge_type_changes([fc for fc, _ in lines])
    if not with_patch_id:
        return changes, None
    texts = [
        t for _, t in (walk(everything, whole_pairs) if scoped or whole_pairs is not line_pairs else lines)
    ]
    if scoped and not changes:
        return changes, None
    return changes, (patch_id(texts) if texts else None)


def _merge_type_changes(changes: list[FileChange]) -> list[FileChange]:
    """One row for a path deleted and added in one diff: libgit2's two halves of a file that
    became a symlink (or the reverse), which git counts as one type change (its patch keeps
    both halves)."""
    deleted = {f.path for f in changes if f.change_type == "D"}
    if not deleted or not any(f.change_type == "A" and f.path in deleted for f in changes):
        return changes
    added = {f.path: f for f in changes if f.change_type == "A" and f.path in deleted}
    out = []
    for f in changes:
        if f.path in added:
            if f.change_type == "A":
                continue
            if f.change_type == "D":
                a = added[f.path]
                f = FileChange(f.path, None, "T", a.lines_added, f.lines_removed, f.is_binary or a.is_binary)
        out.append(f)
    return out


def _plain_change(
    diff: pygit2.Diff, i: int, delta: pygit2.DiffDelta, abbrev: Abbreviator
) -> tuple[FileChange, bytes] | None:
    """A file added, deleted or modified (not renamed): its row and patch text."""
    patch = diff[i]
    if patch is None:
        return None
    delta = patch.delta
    is_binary = delta.is_binary
    if is_binary:
        added = removed = 0
    else:
        _, added, removed = patch.line_stats
    change_type = delta.status_char()
    fc = FileChange(delta.new_file.path, None, change_type, added, removed, is_binary)
    text = patch.data
    if is_binary:
        text = _fix_binary_index(text, delta, abbrev)
    elif b"\n@@ " not in text and b"\n--- " in text:
        # git prints no `---`/`+++` lines for a file without hunks (an empty file
        # added or deleted); libgit2 does, and they are part of the patch-id
        text = b"".join(
            line for line in text.splitlines(keepends=True) if not line.startswith((b"--- ", b"+++ "))
        )
    return fc, text


# Old versions of modified files kept for the next (older) commit that wrote them.
BLOB_CACHE_COUNT = 4096
BLOB_CACHE_BYTES = 32 << 20
BLOB_CACHE_MAX = 1 << 20


# (file changes, patch-id) of one pair of trees
TreeChanges = tuple[list[FileChange], str | None]
# One file of a diff in the fast path: (change,) or a rename (deleted change, added change, score)
_Item = tuple[Change] | tuple[Change, Change, int]


class ChangeReader:
    """`commit_changes` for one repository and scope, by tree ids, with the fast path first
    (extractors.git.fastdiff) and libgit2's whole-tree diff where it does not apply.

    `changes_many` diffs many pairs at once and reads the files' versions grouped by path:
    libgit2 rebuilds a blob from its pack's delta chain (often dozens of deltas deep) through a
    16 MB cache of bases that it empties whole once full, so blobs read in commit order rebuilt
    most chains from scratch (33 us a blob on the 50,000-commit benchmark), and one file's
    versions read in a row reuse the chain just built (2 to 5 us).
    """

    def __init__(self, repo: pygit2.Repository, scope: PathScope) -> None:
        self.repo = repo
        self.scope = scope
        self.trees = TreeComparer(repo, scope)
        self.abbrev = Abbreviator(repo)
        self._blobs: dict[bytes, pygit2.Blob] = {}
        self._blob_bytes = 0
        self._whole_repo: pygit2.Repository | None = None
        self._driver_paths: dict[str, bytes] = {}
        self._has_diff_attr = diff_attr_reader(repo)
        # no attribute file anywhere: every path has none, no lookups (extractors.git.attributes)
        self._no_attributes = no_attributes(repo)
        # many blob diffs in one compiled call (blobs looked up by id there): with blob_diff only
        self._blob_diffs = blob_differ(repo) if blob_diff is not None else None
        # a batch's plain changes with their rows and patch-ids in one compiled call, where no
        # file has a diff driver (the call diffs without attribute lookups)
        self._plain_many = (
            plain_differ(repo) if self._blob_diffs is not None and self._no_attributes else None
        )

    def changes(
        self, old_tree: pygit2.Oid | None, new_tree: pygit2.Oid, *, with_patch_id: bool = True
    ) -> TreeChanges:
        """The in-scope file changes between two trees (None = the empty tree) and their patch-id."""
        (result,) = self.changes_many([(old_tree, new_tree)], with_patch_id=with_patch_id)
        if isinstance(result, Exception):
            raise result
        return result

    def changes_many(
        self, pairs: Sequence[tuple[pygit2.Oid | None, pygit2.Oid]], *, with_patch_id: bool = True
    ) -> list[TreeChanges | Exception]:
        """`changes` of each pair of trees, in order; where reading a pair failed, the exception
        (KeyError, pygit2.GitError, ValueError or OSError) in its place."""
        results: list[TreeChanges | Exception | None] = [None] * len(pairs)
        self._fast_many(pairs, results, with_patch_id)
        for i, result in enumerate(results):
            if result is None:  # not taken by the fast path
                try:
                    results[i] = self._whole(*pairs[i], with_patch_id)
                except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
                    results[i] = exc
        return results  # type: ignore[return-value]

    def _whole(self, old_tree: pygit2.Oid | None, new_tree: pygit2.Oid, with_patch_id: bool) -> TreeChanges:
        # libgit2's whole-tree diff reads every tree of both commits, nearly all of them read by
        # the previous fallback too: libgit2's object cache (off for the extraction, see
        # extract._configure_libgit2) serves them: 8.2 -> 2.8 ms a commit on a 40,000-file
        # tree. It is on only here, with a repository object of its own whose cache is dropped
        # whole before libgit2 would start evicting (an eviction scans the cache's table).
        current, limit = pygit2.settings.cached_memory
        if self._whole_repo is None or current > limit * 3 // 4:
            self._whole_repo = None  # freed with its cache before the next one is opened
            self._whole_repo = pygit2.Repository(self.repo.path)
        repo = self._whole_repo
        pygit2.settings.enable_caching(True)
        try:
            old = repo[old_tree] if old_tree is not None else None
            new = repo[new_tree]
            if self.scope and not self.scope.trees_differ(old, new):  # type: ignore[arg-type]
                return [], None
            return commit_changes(repo, old, new, self.scope, with_patch_id=with_patch_id, abbrev=self.abbrev)  # type: ignore[arg-type]
        finally:
            pygit2.settings.enable_caching(False)

    def _fast_many(
        self,
        pairs: Sequence[tuple[pygit2.Oid | None, pygit2.Oid]],
        results: list[TreeChanges | Exception | None],
        with_patch_id: bool,
    ) -> None:
        """Fill in `results` for the pairs the fast path takes; None stays where it does not."""
        raw_pairs = [(old.raw if old is not None else None, new.raw) for old, new in pairs]
        walked = self.trees.changes_many(raw_pairs)
        taken = self._compiled_plain(walked, results, with_patch_id)
        plans = self._plans(walked, raw_pairs, results, with_patch_id, taken)
        if plans:
            self._diff_plans(plans, results)

    def _compiled_plain(
        self, walked: list[Any], results: list[TreeChanges | Exception | None], with_patch_id: bool
    ) -> set[int]:
        """The pairs whose files are all plain changes (no rename possible: nearly every commit)
        settled in one compiled call (`_gitdiff.plain_changes_many`: the blob diffs, the rows and
        the patch-id sums of `_diff_plans`, without Python per file); the indexes it took."""
        taken: set[int] = set()
        if self._plain_many is None or self.scope:  # a scope's patch-id needs the whole commit
            return taken
        for i, got in enumerate(self._plain_many(walked, FileChange, with_patch_id)):
            if got is None:
                continue
            taken.add(i)
            if not isinstance(got, str):  # (files, patch-id), or the error reading a blob
                results[i] = got
            # else a file declined: the whole-tree diff takes the pair (its result stays None)
        return taken

    def _plans(
        self,
        walked: list[Any],
        raw_pairs: list[tuple[bytes | None, bytes]],
        results: list[TreeChanges | Exception | None],
        with_patch_id: bool,
        taken: set[int],
    ) -> dict[int, tuple[list[_Item], list[_Item] | None]]:
        """The files of each pair not `taken` as git pairs them (`_plan`), for its rows and for its
        patch-id; pairs settled here (no change, a walk that failed) get their result."""
        plans: dict[int, tuple[list[_Item], list[_Item] | None]] = {}
        wholes: dict[int, list[Change] | Exception] = {}
        if with_patch_id and self.scope:
            # the patch-id is the whole commit's: in-scope commits are compared whole too
            touched = [i for i, found in enumerate(walked) if isinstance(found, list) and found]
            wholes = dict(
                zip(
                    touched, self.trees.changes_many([raw_pairs[i] for i in touched], whole=True), strict=True
                )
            )
        for i, changes in enumerate(walked):
            if i in taken or isinstance(changes, Unusual):
                continue
            if isinstance(changes, Exception):
                results[i] = changes
                continue
            if not changes:
                results[i] = ([], None)
                continue
            try:
                lines = self._plan(changes)
                whole: list[_Item] | None = None
                if with_patch_id:
                    all_changes = wholes.get(i, changes)
                    if isinstance(all_changes, Unusual):
                        continue
                    if isinstance(all_changes, Exception):
                        results[i] = all_changes
                        continue
                    whole = self._plan(all_changes) if self.scope else lines
            except Unusual:
                continue
            except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
                results[i] = exc
                continue
            plans[i] = (lines, whole)
        return plans

    def _diff_plans(
        self,
        plans: dict[int, tuple[list[_Item], list[_Item] | None]],
        results: list[TreeChanges | Exception | None],
    ) -> None:
        """The rows and patch-ids of the planned pairs: every plain file change diffed once."""
        # every plain file change once, one file's versions in a row, newest first (the pairs
        # come in walk order)
        users: dict[Change, list[int]] = {}
        for i, (lines, whole) in plans.items():
            for plan in (lines,) if whole is None or whole is lines else (lines, whole):
                for item in plan:
                    if len(item) == 1:
                        users.setdefault(item[0], []).append(i)
        done: dict[Change, tuple[FileChange, int]] = {}
        failed: set[int] = set()
        # by path, then by first user: `users` is in that order already (filled in pair order),
        # and the sort is stable
        order = sorted(users, key=itemgetter(0))
        if self._blob_diffs is None:
            diffs = None
        else:
            # each file's patch-id share hashed in the compiled call too (its header from the
            # path and modes): no hunk text comes back to Python
            no_attributes = self._no_attributes  # as on nearly every repository: no lookup per file
            driver = self._driver_path
            diffs = self._blob_diffs(
                [
                    (
                        old_id,
                        new_id,
                        b"" if no_attributes else driver(path),
                        path.encode("ascii"),
                        old_mode,
                        new_mode,
                    )
                    for path, old_mode, old_id, new_mode, new_id in order
                ],
                True,
            )
        for change, got in zip(order, diffs if diffs is not None else order, strict=True):
            if failed and all(i in failed for i in users[change]):
                continue  # every pair needing it fell back already
            try:
                if diffs is None:
                    done[change] = self._file(*change)
                    continue
                if type(got) is tuple:
                    added, removed, h = got
                    kind = "A" if change[2] is None else "D" if change[4] is None else "M"
                    done[change] = (FileChange(change[0], None, kind, added, removed, False), h)
                    continue
                if isinstance(got, Exception):
                    raise got
                raise Unusual("no hunks" if got is None else got)
            except Unusual:
                failed.update(users[change])
            except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
                failed.update(users[change])
                for i in users[change]:
                    results[i] = exc
        for i, (lines, whole) in plans.items():
            if i in failed:
                continue
            try:
                # a plain change's row is in `done` already (nearly every file): no call for it
                got = [done[item[0]] if len(item) == 1 else self._item(item, done) for item in lines]
                files = [f for f, _ in got]
                pid = None
                if whole is not None:
                    hashes = (
                        [h for _, h in got]
                        if whole is lines
                        else [self._item(item, done)[1] for item in whole]
                    )
                    pid = sum_patch_hashes(hashes)
            except Unusual:
                continue
            except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
                results[i] = exc
                continue
            results[i] = (files, pid)

    def _plan(self, changes: list[Change]) -> list[_Item]:
        """The files of one diff as git pairs them: a plain change (one-tuple) or a rename."""
        adds = [c for c in changes if c[1] is None]
        if not adds:  # as in 99 % of commits: no rename possible, no deletions to gather
            return [(c,) for c in changes]
        dels = [c for c in changes if c[3] is None]
        if not dels:
            return [(c,) for c in changes]
        adds.sort(key=lambda c: path_key(c[0]))
        dels.sort(key=lambda c: path_key(c[0]))
        repo = self.repo
        found = find_renames(
            [Side(c[0], int(c[1], 8), c[2]) for c in dels],  # type: ignore[arg-type]
            [Side(c[0], int(c[3], 8), c[4]) for c in adds],  # type: ignore[arg-type]
            lambda oid: repo[pygit2.Oid(raw=oid)].data,
        )
        if not found:
            return [(c,) for c in changes]
        dst_of = {id(adds[r.dst]): r for r in found}
        used = {id(dels[r.src]) for r in found}
        plan: list[_Item] = []
        for c in changes:
            if id(c) in used:
                continue
            r = dst_of.get(id(c))
            plan.append((c,) if r is None else (dels[r.src], c, r.score))
        return plan

    def _item(self, item: _Item, done: dict[Change, tuple[FileChange, int]]) -> tuple[FileChange, int]:
        if len(item) == 1:
            return done[item[0]]
        src, dst, score = item
        fc, text = rename_patch(
            self.repo,
            Side(src[0], int(src[1], 8), src[2]),  # type: ignore[arg-type]
            Side(dst[0], int(dst[3], 8), dst[4]),  # type: ignore[arg-type]
            score,  # type: ignore[arg-type]
            self.abbrev,
        )
        if b"\n@@ " not in text:
            # a rename without hunks (unchanged or binary): git's patch-id reads the next file's
            # diff on in the same state (for a binary file, as if inside a hunk), so the
            # patch-id needs the whole diff in order: the whole-tree path
            raise Unusual("rename without hunks")
        return fc, file_hash(text)

    def _file(
        self,
        path: str,
        old_mode: bytes | None,
        old_id: bytes | None,
        new_mode: bytes | None,
        new_id: bytes | None,
    ) -> tuple[FileChange, int]:
        """One changed file of the fast path: its row and its share of the patch-id."""
        repo = self.repo
        Oid = pygit2.Oid
        blobs = self._blobs
        old_blob: pygit2.Blob | None = None
        new_blob: pygit2.Blob | None = None
        if old_id is not None and new_id is not None:
            # This version was, most often, the old version of the newer change just diffed:
            # reuse the blob read then instead of rebuilding it.
            new_blob = blobs.pop(new_id, None)
            if new_blob is None:
                new_blob = repo[Oid(raw=new_id)]  # type: ignore[assignment]
            else:
                self._blob_bytes -= new_blob.size
            old_blob = repo[Oid(raw=old_id)]  # type: ignore[assignment]
            change_type = "M"
        elif new_id is not None:
            new_blob = repo[Oid(raw=new_id)]  # type: ignore[assignment]
            change_type = "A"
        else:
            old_blob = repo[Oid(raw=old_id)]  # type: ignore[arg-type, assignment]
            change_type = "D"
        if blob_diff is not None:
            fc, h = self._file_native(
                path, change_type, old_mode, old_blob, new_mode, new_blob, self._driver_path(path)
            )
        else:
            fc, h = self._file_patch(path, change_type, old_mode, old_blob, new_mode, new_blob)
        if change_type == "M" and old_blob is not None and old_blob.size <= BLOB_CACHE_MAX:
            blobs[old_id] = old_blob  # type: ignore[index]
            self._blob_bytes += old_blob.size
            while self._blob_bytes > BLOB_CACHE_BYTES or len(blobs) > BLOB_CACHE_COUNT:
                self._blob_bytes -= blobs.pop(next(iter(blobs))).size
        return fc, h

    def _driver_path(self, path: str) -> bytes:
        """The path under which libgit2 looks up a file's `diff` attribute (its diff driver:
        binary or text): none (empty) when no attribute applies to the path, as on nearly every
        repository, which spares libgit2 two stat() and two access() calls per blob diff."""
        if self._no_attributes:
            return b""
        got = self._driver_paths.get(path)
        if got is None:
            p = path.encode("ascii")
            try:
                if self._has_diff_attr is not None:  # the same lookup, without pygit2's wrappers
                    applies = self._has_diff_attr(p)
                else:
                    applies = self.repo.get_attr(path, "diff") is not None
            except (pygit2.GitError, ValueError):
                applies = True  # let libgit2 look it up itself
            got = p if applies else b""
            self._driver_paths[path] = got
        return got

    @staticmethod
    def _file_native(
        path: str,
        change_type: str,
        old_mode: bytes | None,
        old_blob: pygit2.Blob | None,
        new_mode: bytes | None,
        new_blob: pygit2.Blob | None,
        driver_path: bytes,
    ) -> tuple[FileChange, int]:
        """`_file_patch` through the compiled blob diff (extractors.git.native): the same xdiff
        run, its lines hashed as they come instead of printed into a patch and parsed again.
        `driver_path` is the path libgit2 looks the diff attributes up under (`_driver_path`)."""
        if (old_blob is not None and type(old_blob) is not pygit2.Blob) or (
            new_blob is not None and type(new_blob) is not pygit2.Blob
        ):
            # a file entry naming another kind of object (a damaged tree): libgit2 would read
            # it as a blob; the whole-tree diff reports it
            raise Unusual("not a blob")
        got = blob_diff(  # type: ignore[misc]
            old_blob._pointer if old_blob is not None else None,  # type: ignore[attr-defined]
            new_blob._pointer if new_blob is not None else None,  # type: ignore[attr-defined]
            driver_path,
        )
        if got is None:
            raise Unusual("no hunks")  # binary, or an empty file added or deleted
        return ChangeReader._native_row((path, old_mode, None, new_mode, None), got, change_type)

    @staticmethod
    def _native_row(
        change: Change, got: tuple[int, int, bytes], change_type: str | None = None
    ) -> tuple[FileChange, int]:
        """One file's row and patch-id share from the compiled blob diff's line counts and hunk
        lines (`blob_diff`)."""
        path, old_mode, old_id, new_mode, new_id = change
        if change_type is None:
            change_type = "A" if old_id is None else "D" if new_id is None else "M"
        added, removed, body = got
        p = path.encode("ascii")
        # the file's header as git prints it, less its `index` line (not hashed); whitespace
        # goes, as from the body
        if change_type == "M":
            head = b"diff--gita/%sb/%s---a/%s+++b/%s" % (p, p, p, p)
        elif change_type == "A":
            head = b"diff--gita/%sb/%snewfilemode%s---/dev/null+++b/%s" % (p, p, new_mode, p)
        else:
            head = b"diff--gita/%sb/%sdeletedfilemode%s---a/%s+++/dev/null" % (p, p, old_mode, p)
        if b" " in p:
            head = head.translate(None, _WS)
        h = int.from_bytes(hashlib.sha1(head + body).digest(), "little")
        return FileChange(path, None, change_type, added, removed, False), h

    @staticmethod
    def _file_patch(
        path: str,
        change_type: str,
        old_mode: bytes | None,
        old_blob: pygit2.Blob | None,
        new_mode: bytes | None,
        new_blob: pygit2.Blob | None,
    ) -> tuple[FileChange, int]:
        """One file's row and patch-id share from libgit2's printed patch (the reference)."""
        create = pygit2.Patch.create_from
        flags = DIFF_FLAGS
        if change_type == "M":
            patch = create(old_blob, new_blob, old_as_path=path, new_as_path=path, flag=flags)
            text = patch.data
        elif change_type == "A":
            data = new_blob.data  # type: ignore[union-attr]
            # `data` must outlive the patch: libgit2 keeps pointing into the buffer
            patch = create(None, data, old_as_path=path, new_as_path=path, flag=flags)
            text = patch.data
        else:
            patch = create(old_blob, None, old_as_path=path, new_as_path=path, flag=flags)
            text = patch.data
        at = text.find(b"\n@@ ")
        if at < 0:
            # binary (libgit2 prints no hunks for it) or an empty file added or deleted
            raise Unusual("no hunks")
        _, added, removed = patch.line_stats
        if change_type != "M":
            # the blob patch prints mode 100644 whatever the file's mode: git's header
            p = path.encode("ascii")
            if change_type == "A":
                head = b"diff --git a/%s b/%s\nnew file mode %s\n--- /dev/null\n+++ b/%s\n" % (
                    p,
                    p,
                    new_mode,
                    p,
                )
            else:
                head = b"diff --git a/%s b/%s\ndeleted file mode %s\n--- a/%s\n+++ /dev/null\n" % (
                    p,
                    p,
                    old_mode,
                    p,
                )
            text = head + text[at + 1 :]
        h = file_patch_hash(text)
        if h is None:
            raise Unusual("patch shape")
        return FileChange(path, None, change_type, added, removed, False), h
