"""Per-file line counts of one commit, as `git log --numstat` reports them.

libgit2 differs from git unless told: git uses the indent heuristic and detects renames (50 %
similarity, renames only) by default, so both are requested here. Line counts come from each
file's `Patch.line_stats` only (`Diff.stats` would build every patch a second time).

`ChangeReader` takes the fast path of `extractors.git.fastdiff` (only the changed subtrees, one
patch per changed file) and falls back to libgit2's whole-tree diff (`commit_changes`) for renames
and anything unusual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pygit2
from pygit2.enums import DiffFind, DiffOption

from extractors.git.fastdiff import Change, TreeComparer, Unusual
from extractors.git.patchid import (
    file_patch_hash,
    git_similarity_index,
    patch_id,
    sum_patch_hashes,
    with_git_similarity,
)
from extractors.git.scope import PathScope

DIFF_FLAGS = DiffOption.INDENT_HEURISTIC
FIND_FLAGS = DiffFind.FIND_RENAMES
RENAME_THRESHOLD = 50  # git's default (-M50%)
SIMILARITY_MAX_BYTES = 4 << 20


@dataclass(slots=True)
class FileChange:
    path: str
    old_path: str | None
    change_type: str  # A | M | D | R | C | T
    lines_added: int
    lines_removed: int
    is_binary: bool


def tree_diff(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree) -> pygit2.Diff:
    if old is None:
        diff = new.diff_to_tree(flags=DIFF_FLAGS, swap=True)
    else:
        diff = old.diff_to_tree(new, flags=DIFF_FLAGS)
    # Rename detection only pays off with both an addition and a deletion in the diff.
    # (status_char() is a plain str: much cheaper than the DeltaStatus enum of `status`.)
    if len(diff) > 1:
        chars = {delta.status_char() for delta in diff.deltas}
        if "A" in chars and "D" in chars:
            diff.find_similar(flags=FIND_FLAGS, rename_threshold=RENAME_THRESHOLD)
    return diff


def _count_lines(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def commit_changes(
    repo: pygit2.Repository,
    old: pygit2.Tree | None,
    new: pygit2.Tree,
    scope: PathScope,
    *,
    with_patch_id: bool = True,
) -> tuple[list[FileChange], str | None]:
    """The in-scope file changes between two trees and the patch-id of their diff."""
    diff = tree_diff(repo, old, new)
    changes: list[FileChange] = []
    texts: list[bytes] = []
    scoped = bool(scope)
    for i, delta in enumerate(diff.deltas):
        new_file = delta.new_file
        new_path = new_file.path
        old_path = delta.old_file.path
        change_type = delta.status_char()
        renamed = change_type == "R"
        new_in = old_in = True
        if scoped:
            new_in = scope.matches(new_path)
            old_in = new_in if old_path == new_path else scope.matches(old_path)
            if not (new_in or old_in):
                continue
            if renamed and new_in != old_in:
                # git limits the diff to the scope before detecting renames, so a file moved
                # across the scope's edge is an addition (or a deletion) there.
                changes.append(_half_rename(repo, delta, new_in, texts if with_patch_id else None))
                continue
        git_similarity = None
        if renamed and delta.similarity < 100 and delta.new_file.size <= SIMILARITY_MAX_BYTES:
            # libgit2 scores similarity its own way and pairs files git finds too different:
            # git's score decides (computed in Python: beyond a few MB libgit2's figure stands).
            git_similarity = git_similarity_index(repo[delta.old_file.id].data, repo[delta.new_file.id].data)
            if git_similarity < RENAME_THRESHOLD:
                for side in (False, True):
                    changes.append(_half_rename(repo, delta, side, texts if with_patch_id else None))
                continue
        patch = diff[i]
        if patch is None:
            continue
        delta = patch.delta
        is_binary = delta.is_binary
        if is_binary:
            added = removed = 0
        else:
            _, added, removed = patch.line_stats
        changes.append(
            FileChange(
                new_path,
                old_path if renamed or change_type == "C" else None,
                change_type,
                added,
                removed,
                is_binary,
            )
        )
        if with_patch_id:
            text = patch.data
            if git_similarity is not None:
                text = with_git_similarity(text, git_similarity)
            if not is_binary and b"\n@@ " not in text and b"\n--- " in text:
                # git prints no `---`/`+++` lines for a file without hunks (an empty file
                # added or deleted); libgit2 does, and they are part of the patch-id
                text = b"".join(
                    line for line in text.splitlines(keepends=True) if not line.startswith((b"--- ", b"+++ "))
                )
            texts.append(text)
    pid = patch_id(texts) if with_patch_id and texts else None
    return changes, pid


def _half_rename(
    repo: pygit2.Repository, delta: pygit2.DiffDelta, new_side: bool, texts: list[bytes] | None
) -> FileChange:
    f = delta.new_file if new_side else delta.old_file
    blob = repo[f.id]
    data = blob.data if isinstance(blob, pygit2.Blob) else b""
    is_binary = b"\0" in data[:8000]
    n = 0 if is_binary else _count_lines(data)
    if texts is not None:
        mode = f"{f.mode:o}".encode()
        path = f.path.encode("utf-8", "surrogateescape")
        head = b"diff --git a/%s b/%s\n" % (path, path)
        head += (b"new file mode " if new_side else b"deleted file mode ") + mode + b"\n"
        if is_binary:
            a = b"/dev/null" if new_side else b"a/" + path
            b = b"b/" + path if new_side else b"/dev/null"
            body = b"Binary files %s and %s differ\n" % (a, b)
        else:
            p = pygit2.Patch.create_from(
                None if new_side else data, data if new_side else None, flag=DIFF_FLAGS
            )
            raw = p.data
            at = raw.find(b"\n@@")
            a = b"/dev/null" if new_side else b"a/" + path
            b = b"b/" + path if new_side else b"/dev/null"
            body = b"--- %s\n+++ %s\n" % (a, b) + (raw[at + 1 :] if at >= 0 else b"")
        texts.append(head + body)
    return FileChange(
        path=f.path,
        old_path=None,
        change_type="A" if new_side else "D",
        lines_added=n if new_side else 0,
        lines_removed=0 if new_side else n,
        is_binary=is_binary,
    )


# Old versions of modified files kept for the next (older) commit that wrote them.
BLOB_CACHE_COUNT = 4096
BLOB_CACHE_BYTES = 32 << 20
BLOB_CACHE_MAX = 1 << 20


# (file changes, patch-id) of one pair of trees
TreeChanges = tuple[list[FileChange], str | None]


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
        self._blobs: dict[bytes, pygit2.Blob] = {}
        self._blob_bytes = 0
        self._whole_repo: pygit2.Repository | None = None

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
            return commit_changes(repo, old, new, self.scope, with_patch_id=with_patch_id)  # type: ignore[arg-type]
        finally:
            pygit2.settings.enable_caching(False)

    def _fast_many(
        self,
        pairs: Sequence[tuple[pygit2.Oid | None, pygit2.Oid]],
        results: list[TreeChanges | Exception | None],
        with_patch_id: bool,
    ) -> None:
        """Fill in `results` for the pairs the fast path takes; None stays where it does not."""
        found: dict[int, list[Change]] = {}
        for i, (old_tree, new_tree) in enumerate(pairs):
            try:
                changes = self.trees.changes(old_tree.raw if old_tree is not None else None, new_tree.raw)
            except Unusual:
                continue
            except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
                results[i] = exc
                continue
            if not changes:
                results[i] = ([], None)
                continue
            modes = {(c[1] is None, c[3] is None) for c in changes}
            if (True, False) in modes and (False, True) in modes:
                continue  # an addition and a deletion: rename detection, on the whole-tree diff
            found[i] = changes
        done: dict[int, list[tuple[FileChange, int] | None]] = {i: [None] * len(c) for i, c in found.items()}
        # one file's versions in a row, newest first (the pairs come in walk order)
        jobs = sorted((c[0], i, j) for i, changes in found.items() for j, c in enumerate(changes))
        for _, i, j in jobs:
            if i not in done:
                continue  # the pair fell back already
            try:
                done[i][j] = self._file(*found[i][j])
            except Unusual:
                del done[i]
            except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
                del done[i]
                results[i] = exc
        for i, per_file in done.items():
            files = [f for f, _ in per_file]  # type: ignore[misc]
            pid = sum_patch_hashes(h for _, h in per_file) if with_patch_id else None  # type: ignore[misc]
            results[i] = (files, pid)

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
        create = pygit2.Patch.create_from
        flags = DIFF_FLAGS
        blobs = self._blobs
        if old_id is not None and new_id is not None:
            # This version was, most often, the old version of the newer change just diffed:
            # reuse the blob read then instead of rebuilding it.
            new_blob = blobs.pop(new_id, None)
            if new_blob is None:
                new_blob = repo[Oid(raw=new_id)]
            else:
                self._blob_bytes -= new_blob.size
            old_blob = repo[Oid(raw=old_id)]
            patch = create(old_blob, new_blob, old_as_path=path, new_as_path=path, flag=flags)
            text = patch.data
            change_type = "M"
            if old_blob.size <= BLOB_CACHE_MAX:
                blobs[old_id] = old_blob
                self._blob_bytes += old_blob.size
                while self._blob_bytes > BLOB_CACHE_BYTES or len(blobs) > BLOB_CACHE_COUNT:
                    self._blob_bytes -= blobs.pop(next(iter(blobs))).size
        elif new_id is not None:
            data = repo[Oid(raw=new_id)].data
            # `data` must outlive the patch: libgit2 keeps pointing into the buffer
            patch = create(None, data, old_as_path=path, new_as_path=path, flag=flags)
            text = patch.data
            change_type = "A"
        else:
            patch = create(repo[Oid(raw=old_id)], None, old_as_path=path, new_as_path=path, flag=flags)  # type: ignore[arg-type]
            text = patch.data
            change_type = "D"
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
