"""The compiled inner loops of the git fast path (`_gitdiff.c`), where they can be had.

`tree_delta` compares two raw tree objects; `blob_diff` diffs two blobs through libgit2's
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


def _bind() -> BlobDiff | None:
    if _gitdiff is None:
        return None
    assert pygit2.LIBGIT2_VERSION  # pygit2 (so its libgit2) is loaded
    path = _loaded_libgit2()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path)  # the library already mapped: the same handle
        blobs = ctypes.cast(lib.git_diff_blobs, ctypes.c_void_p).value
        init = ctypes.cast(lib.git_diff_options_init, ctypes.c_void_p).value
        _gitdiff.bind(blobs, init, int(DIFF_FLAGS))
    except (OSError, AttributeError, ValueError):
        return None
    return _gitdiff.blob_diff


tree_delta: TreeDelta | None = _gitdiff.tree_delta if _gitdiff is not None else None
blob_diff: BlobDiff | None = _bind()
