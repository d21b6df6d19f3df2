"""The compiled inner loops of the git fast path (`_gitdiff.c`), where they can be had.

`tree_delta` compares two raw tree objects; `raw_reader` reads raw objects; `tree_walker` walks
the changed paths of two trees in one call, `tree_walker_many` those of many pairs at once;
`blob_differ` diffs many pairs of blobs by id in one call; `blob_diff` diffs two blobs through libgit2's
`git_diff_blobs` and reads line counts and the patch-id's input from its line callbacks instead
of a printed patch. Both are None when the module was not built (a machine without a C compiler)
or, for `blob_diff`, when the libgit2 that pygit2 loaded cannot be found in this process: the
callers then use their Python reference, with the same results.

libgit2 is not linked at build time (pygit2's wheel carries its own copy, without headers): the
two functions' addresses are looked up in the library pygit2 already loaded, so both use one
libgit2 with one global state.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

import pygit2
from pygit2.enums import DiffOption

try:
    from extractors.git import _gitdiff
except ImportError:  # not built: the Python reference
    _gitdiff = None

# git's default diff options that libgit2 needs asked for: the indent heuristic
DIFF_FLAGS = DiffOption.INDENT_HEURISTIC
_LIBGIT2 = re.compile(r"\s(/\S*/libgit2[^/\s]*\.so[^/\s]*)$")

TreeDelta = Callable[[bytes | None, bytes | None], list[tuple[Any, ...]] | None]
BlobDiff = Callable[[bytes | None, bytes | None, bytes], tuple[int, int, bytes] | None]


def _loaded_libgit2() -> str | None:
    """The path of the libgit2 shared library mapped into this process (pygit2's)."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                m = _LIBGIT2.search(line.rstrip("\n"))
                if m:
                    return m.group(1)
    except OSError:
        pass
    return None


def _bind() -> tuple[BlobDiff | None, bool]:
    """The compiled blob diff, and whether the object database reader is bound."""
    if _gitdiff is None:
        return None, False
    assert pygit2.LIBGIT2_VERSION  # pygit2 (so its libgit2) is loaded
    path = _loaded_libgit2()
    if path is None:
        return None, False
    try:
        lib = ctypes.CDLL(path)  # the library already mapped: the same handle

        def at(name: str) -> int:
            return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value or 0

        _gitdiff.bind(at("git_diff_blobs"), at("git_diff_options_init"), int(DIFF_FLAGS))
        diff = _gitdiff.blob_diff
    except (OSError, AttributeError, ValueError):
        return None, False
    try:
        _gitdiff.bind_odb(
            tuple(
                at(name)
                for name in (
                    "git_repository_odb",
                    "git_odb_read",
                    "git_odb_object_data",
                    "git_odb_object_size",
                    "git_odb_object_free",
                    "git_odb_free",
                )
            )
        )
    except (AttributeError, ValueError):
        return diff, False
    return diff, True


def _bind_functions(binder: str, names: tuple[str, ...]) -> bool:
    """Whether `_gitdiff.<binder>` was handed the addresses of `names` in the loaded libgit2."""
    if not _odb_bound:
        return False
    try:
        lib = ctypes.CDLL(_loaded_libgit2() or "")
        getattr(_gitdiff, binder)(
            *(ctypes.cast(getattr(lib, name), ctypes.c_void_p).value or 0 for name in names)
        )
    except (OSError, AttributeError, ValueError):
        return False
    return True


def _bind_attr() -> bool:
    """Whether libgit2's git_attr_get is bound (else attribute lookups stay with pygit2)."""
    return _bind_functions("bind_attr", ("git_attr_get", "git_attr_value"))


def _bind_objects() -> bool:
    """Whether libgit2's object lookup is bound for `blob_differ`."""
    return _bind_functions("bind_objects", ("git_object_lookup", "git_object_type", "git_object_free"))


def blob_differ(repo: pygit2.Repository) -> Callable[[list[tuple[Any, ...]]], list[Any]] | None:
    """`_gitdiff.blob_diffs` bound to `repo`: many blob diffs by raw ids in one compiled call,
    each item (old id or None, new id or None, driver path), each result as `blob_diff`'s, or
    "not a blob", or the read error; None without the compiled module."""
    if not _objects_bound:
        return None
    return functools.partial(_gitdiff.blob_diffs, repo._pointer)  # type: ignore[union-attr, attr-defined]


def plain_differ(repo: pygit2.Repository) -> Callable[..., list[Any]] | None:
    """`_gitdiff.plain_changes_many` bound to `repo`: a batch's plain file changes diffed,
    their rows and each pair's patch-id in one compiled call (walked changes, FileChange class,
    with_patch_id); None without the compiled module."""
    if not _objects_bound:
        return None
    return functools.partial(_gitdiff.plain_changes_many, repo._pointer)  # type: ignore[union-attr, attr-defined]


def diff_attr_reader(repo: pygit2.Repository) -> Callable[[bytes], bool] | None:
    """A function telling whether a `diff` attribute applies to a path (as
    `repo.get_attr(path, "diff") is not None`, ValueError when libgit2 fails) in one compiled
    call; None without the compiled module."""
    if not _attr_bound:
        return None
    return functools.partial(_gitdiff.has_diff_attr, repo._pointer)  # type: ignore[union-attr, attr-defined]


def raw_reader(repo: pygit2.Repository) -> Callable[[bytes], bytes] | None:
    """A function reading an object's raw content by its raw id from `repo` (KeyError when it is
    missing), as `repo.odb.read(Oid(raw=id))[1]` but without the wrappers; None without the
    compiled module. libgit2's object ids are 20-byte arrays here (pygit2 builds libgit2
    without its experimental SHA-256 support)."""
    if not _odb_bound:
        return None
    db = _gitdiff.odb(repo._pointer)  # type: ignore[union-attr, attr-defined]
    read = _gitdiff.read_raw  # type: ignore[union-attr]
    return functools.partial(read, db)


# (cache, older, old tree id, new tree id, dir filter, file filter) -> (changes | reason | None, bytes loaded)
TreeWalker = Callable[..., tuple[Any, int]]


def tree_walker(repo: pygit2.Repository) -> TreeWalker | None:
    """`_gitdiff.tree_changes` bound to `repo`'s object database: the changed files between two
    trees in one compiled call (fastdiff.TreeComparer's walk); None without the compiled module."""
    if not _odb_bound:
        return None
    db = _gitdiff.odb(repo._pointer)  # type: ignore[union-attr, attr-defined]
    return functools.partial(_gitdiff.tree_changes, db)  # type: ignore[union-attr]


def tree_walker_many(repo: pygit2.Repository) -> Callable[..., list[Any]] | None:
    """`_gitdiff.tree_changes_many` bound to `repo`'s object database: many pairs of trees
    walked level by level, each directory's versions read in a row; None without the module."""
    if not _odb_bound:
        return None
    db = _gitdiff.odb(repo._pointer)  # type: ignore[union-attr, attr-defined]
    return functools.partial(_gitdiff.tree_changes_many, db)  # type: ignore[union-attr]


_LIBCRYPTO = re.compile(r"\s(/\S*/libcrypto[^/\s]*\.so[^/\s]*)$")


def bind_sha1(use_openssl: bool = True) -> bool:
    """Whether `_gitdiff`'s SHA-1 (the patch-id's per-file digests of `blob_diffs`) is
    OpenSSL's, from the libcrypto that Python's hashlib loaded (the CPU's SHA instructions);
    else, or with `use_openssl` false, the module's own plain SHA-1, with the same digests."""
    if _gitdiff is None:
        return False
    if use_openssl:
        try:
            hashlib.new("sha1", usedforsecurity=False)  # hashlib's OpenSSL maps libcrypto in
            with open("/proc/self/maps") as maps:
                found = [m.group(1) for line in maps if (m := _LIBCRYPTO.search(line.rstrip("\n")))]
            lib = ctypes.CDLL(found[0])
            _gitdiff.bind_sha1(
                *(
                    ctypes.cast(getattr(lib, n), ctypes.c_void_p).value or 0
                    for n in ("SHA1_Init", "SHA1_Update", "SHA1_Final")
                )
            )
            return True
        except (OSError, IndexError, AttributeError, ValueError, ImportError):
            pass
    _gitdiff.bind_sha1(0, 0, 0)
    return False


tree_delta: TreeDelta | None = _gitdiff.tree_delta if _gitdiff is not None else None
blob_diff, _odb_bound = _bind()
_attr_bound = _bind_attr()
_objects_bound = _bind_objects()
sha1_openssl = bind_sha1()
