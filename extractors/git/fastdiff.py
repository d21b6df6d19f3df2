"""A commit's file changes without libgit2's whole-tree diff, for the common shapes.

libgit2's tree-to-tree diff visits every entry of both trees (git skips subtrees whose ids are
equal), so its cost grows with the size of the tree: the diff stage took 2.8 ms of CPU a commit
on a generated 40,000-file tree (benchmarks/bench_git.py --large-tree) and 0.38 ms this way.
Here the two trees are compared from their raw objects, descending only into
subtrees whose ids differ and, with a path scope, only into directories that can hold in-scope
paths. The whole walk of a commit is one compiled call (`tree_changes` in
extractors/git/_gitdiff.c, through native.tree_walker): no Python per directory or per entry.
Each changed file is then diffed on its own (diffstat.ChangeReader: libgit2's blob diff,
read from its line callbacks by the compiled module extractors/git/_gitdiff.c, or printed with
`Patch.create_from` without it), which runs the same xdiff with the same options as the
whole-tree diff, so the line counts and patch-ids are the ones libgit2 produces there. The Python
walk below (`TreeComparer._compare`, one directory level per call, with the compiled
`tree_delta` or its reference `entries_delta`) is the reference of the compiled walk and runs
where the module was not built.

Only plain cases are handled: regular files (mode 100644 or 100755, unchanged) modified, added or
deleted, with printable ASCII paths, not binary, not empty. Anything else raises `Unusual` and the
caller falls back to the whole-tree diff. Renames are paired by the caller (git's
diffcore-rename, extractors.git.renames) on the changes found here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pygit2

from extractors.git.native import raw_reader, tree_delta, tree_walker, tree_walker_many
from extractors.git.scope import PathScope

# One raw tree entry: `<octal mode> <name>\0<20-byte id>` (entries are contiguous, so the mode
# and name need no finer pattern; possessive, as a name never holds a NUL).
_ENTRY = re.compile(rb"[^\0]++\0.{20}", re.S)
_TREE_MODE = b"40000"
_FILE_MODES = frozenset((b"100644", b"100755"))
# Paths git and libgit2 print unquoted and that decode the same way everywhere: printable
# ASCII without `"` or `\`.
_PLAIN_NAME = re.compile(rb"[ !#-\[\]-~]+")
_EMPTY: frozenset[bytes] = frozenset()
# Trees kept per process: the walk meets each tree twice (as a commit's tree and as the parent
# tree of a nearby commit). Two generations of about this many bytes of raw tree each (a parsed
# entry counts as 40 bytes, about its raw size), so memory is bounded while recently used trees
# survive.
TREE_CACHE_BYTES = 8 << 20


def entry_set(raw: bytes) -> frozenset[bytes]:
    """A raw tree object's entries, each `<mode> <name>\0<20-byte id>` as it is stored."""
    return frozenset(_ENTRY.findall(raw))


def entries_delta(
    ea: frozenset[bytes], eb: frozenset[bytes]
) -> list[tuple[bytes, bytes | None, bytes | None, bytes | None, bytes | None]]:
    """The entries that differ between two trees given as sets of raw entries, merged by name
    and sorted by name bytes: (name, old mode, old id, new mode, new id), None on the side
    where the name is absent. The reference of the compiled `tree_delta` (extractors.git.native)."""
    only_a = ea - eb if eb else ea
    only_b = eb - ea if ea else eb
    if len(only_a) == 1 and len(only_b) == 1:
        # the usual step: one entry, same mode and name, another id
        (x,) = only_a
        (y,) = only_b
        head = x[:-20]
        if head == y[:-20]:
            mode, _, name = head[:-1].partition(b" ")
            return [(name, mode, x[-20:], mode, y[-20:])]
    old: dict[bytes, tuple[bytes, bytes]] = {}
    new: dict[bytes, tuple[bytes, bytes]] = {}
    for entry in only_a:
        mode, _, name = entry[:-21].partition(b" ")
        old[name] = (mode, entry[-20:])
    for entry in only_b:
        mode, _, name = entry[:-21].partition(b" ")
        new[name] = (mode, entry[-20:])
    none = (None, None)
    return [(name, *old.get(name, none), *new.get(name, none)) for name in sorted(old.keys() | new.keys())]


class Unusual(Exception):
    """A change the fast path does not reproduce exactly: use the whole-tree diff."""


# (path, old mode, old blob id, new mode, new blob id); None on the side where the file is absent
Change = tuple[str, bytes | None, bytes | None, bytes | None, bytes | None]


class TreeComparer:
    """Compares trees by their raw objects, with a cache of the trees read.

    The cache holds raw tree objects for the compiled comparison (extractors.git.native) and
    their entries as sets for the Python one. With the compiled module, a commit's whole walk is
    one call (`_walker`); the Python walk runs only for trees out of git's order.
    """

    def __init__(self, repo: pygit2.Repository, scope: PathScope) -> None:
        self._native = tree_delta
        self._walker = tree_walker(repo) if tree_delta is not None else None
        self._walker_many = tree_walker_many(repo) if self._walker is not None else None
        read_raw = raw_reader(repo) if tree_delta is not None else None
        if read_raw is None:
            odb_read = repo.odb.read

            def read_raw(oid: bytes) -> bytes:
                return odb_read(pygit2.Oid(raw=oid))[1]

        self._read = read_raw
        self._scope = scope if scope else None
        self._cache: dict[bytes, Any] = {}
        self._older: dict[bytes, Any] = {}
        self._cached = 0

    def _load(self, oid: bytes) -> Any:
        entries = self._older.get(oid)
        if entries is None:
            raw = self._read(oid)
            entries = raw if self._native is not None else entry_set(raw)
        if self._cached >= TREE_CACHE_BYTES:
            self._rotate()
        self._cache[oid] = entries
        # (a raw entry takes some 40 bytes: mode, name, NUL and id)
        self._cached += len(entries) if self._native is not None else 40 * len(entries)
        return entries

    def _rotate(self) -> None:
        self._older, self._cache, self._cached = self._cache, {}, 0

    def changes(self, old_tree: bytes | None, new_tree: bytes, *, whole: bool = False) -> list[Change]:
        """The changed files between two trees (raw ids; None = the empty tree), by name per
        directory; in the scope, or in the whole tree with `whole` (sharing the parsed trees)."""
        out: list[Change] = []
        if old_tree != new_tree:
            scope = self._scope
            if self._walker is not None:
                walk_scope = None if whole else scope
                found, loaded = self._walker(
                    self._cache,
                    self._older,
                    old_tree,
                    new_tree,
                    walk_scope.dir_may_match if walk_scope is not None else None,
                    walk_scope.matches if walk_scope is not None else None,
                )
                self._cached += loaded
                if self._cached >= TREE_CACHE_BYTES:
                    self._rotate()
                if isinstance(found, str):
                    raise Unusual(found)
                if found is not None:
                    return found
                # else a tree out of git's order: the Python walk compares its entries as sets
            if whole:
                self._scope = None
            try:
                self._compare(old_tree, new_tree, "", out)
            finally:
                self._scope = scope
        return out

    def changes_many(
        self, pairs: Sequence[tuple[bytes | None, bytes]], *, whole: bool = False
    ) -> list[list[Change] | Exception]:
        """`changes` of each pair, in order; where the fast path declines, Unusual in its place,
        and where a tree could not be read, the error (KeyError, pygit2.GitError, ValueError
        or OSError). Compiled, the pairs are walked together level by level, each directory's
        versions read in a row (`tree_changes_many`): 0.99 -> 0.46 s of tree reads for the
        20,000 commits of the 40,000-file benchmark tree."""
        if self._walker_many is None:
            out: list[list[Change] | Exception] = []
            for old_tree, new_tree in pairs:
                try:
                    out.append(self.changes(old_tree, new_tree, whole=whole))
                except (Unusual, KeyError, pygit2.GitError, ValueError, OSError) as exc:
                    out.append(exc)
            return out
        scope = None if whole else self._scope
        got = self._walker_many(
            pairs,
            scope.dir_may_match if scope is not None else None,
            scope.matches if scope is not None else None,
        )
        for i, found in enumerate(got):
            if isinstance(found, str):
                got[i] = Unusual(found)
            elif found is False:  # a tree out of git's order: the walk of one pair decides
                try:
                    got[i] = self.changes(*pairs[i], whole=whole)
                except (Unusual, KeyError, pygit2.GitError, ValueError, OSError) as exc:
                    got[i] = exc
        return got

    def _compare(self, a: bytes | None, b: bytes | None, prefix: str, out: list[Change]) -> None:
        cache = self._cache
        ea = None if a is None else cache.get(a) or self._load(a)
        eb = None if b is None else cache.get(b) or self._load(b)
        if self._native is not None:
            delta = self._native(ea, eb)
            if delta is None:  # a tree out of git's order: compare its entries as sets
                delta = entries_delta(entry_set(ea or b""), entry_set(eb or b""))
        else:
            delta = entries_delta(ea or _EMPTY, eb or _EMPTY)
        visit = self._visit
        for name, old_mode, old_id, new_mode, new_id in delta:
            visit(prefix, name, old_mode, old_id, new_mode, new_id, out)

    def _visit(
        self,
        prefix: str,
        name: bytes,
        old_mode: bytes | None,
        old_id: bytes | None,
        new_mode: bytes | None,
        new_id: bytes | None,
        out: list[Change],
    ) -> None:
        """One differing entry: descend into a directory, record a file."""
        scope = self._scope
        plain = _PLAIN_NAME.fullmatch(name) is not None
        # (a name that is not plain ASCII only matters once it is in the scope)
        path = prefix + (name.decode("ascii") if plain else name.decode("utf-8", "surrogateescape"))
        old_tree = old_mode == _TREE_MODE
        new_tree = new_mode == _TREE_MODE
        if old_tree or new_tree:
            both_trees = (old_mode is None or old_tree) and (new_mode is None or new_tree)
            if both_trees and scope is not None and not scope.dir_may_match(path + "/"):
                return
            if not both_trees:
                raise Unusual("type change")
            if not plain:
                raise Unusual("path needs quoting")
            self._compare(old_id, new_id, path + "/", out)
            return
        if scope is not None and not scope.matches(path):
            return
        if not plain:
            raise Unusual("path needs quoting")
        if (old_mode is not None and old_mode not in _FILE_MODES) or (
            new_mode is not None and new_mode not in _FILE_MODES
        ):
            raise Unusual("symlink, submodule or other special file")
        if old_mode is not None and new_mode is not None and old_mode != new_mode:
            raise Unusual("mode change")
        out.append((path, old_mode, old_id, new_mode, new_id))
