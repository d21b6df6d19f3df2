"""`git patch-id --stable` of a commit's diff, plus git's rename similarity score.

The patch-id hashes each file's diff with whitespace removed and without hunk line numbers,
one SHA-1 per file, and sums the per-file digests. The header lines (`diff --git`,
`new file mode`, `similarity index NN%`, `rename from` ...) are part of the hash, so the similarity percentage must be git's own: libgit2 scores renames with a
different metric, hence `git_similarity_index`, a port of git's diffcore-delta estimate.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

import numpy as np

from core.patchid import git_patch_id

# git's patch-id leaves out hunk headers and `\ No newline at end of file` markers
_HUNK_MARKS = re.compile(rb"^(?:@@ [^\n]*|\\ [^\n]{10,})\n", re.M)
_WS = b" \t\n\r"  # git's isspace()
_MASK = (1 << 160) - 1


def file_patch_hash(text: bytes) -> int | None:
    """One file's share of the stable patch-id (its SHA-1 as a little-endian integer), for a file
    diff as libgit2 prints it with well-formed hunks; None for any other shape."""
    at = text.find(b"\n@@ ")
    if at < 0 or not text.startswith(b"diff --git "):
        return None
    head = text[: at + 1]
    i = head.find(b"\nindex ")
    if i >= 0:
        head = head[: i + 1] + head[head.index(b"\n", i + 1) + 1 :]
    body = _HUNK_MARKS.sub(b"", text[at + 1 :])
    return int.from_bytes(hashlib.sha1((head + body).translate(None, _WS)).digest(), "little")


def sum_patch_hashes(hashes: Iterable[int]) -> str:
    """The stable patch-id from its files' shares (file_patch_hash), in any order."""
    return (sum(hashes) & _MASK).to_bytes(20, "little").hex()


def patch_id(patches: Sequence[bytes]) -> str | None:
    """The stable patch-id of a diff given as git-format patch text, one chunk per file.

    Each chunk is one file's diff as libgit2 prints it: its header, then well-formed hunks. git
    hashes each file's lines with whitespace removed, leaving out `index` lines, hunk headers
    and `\\ No newline` markers, and sums the per-file SHA-1s; for that shape it is done here
    per file in a few C-level passes (file_patch_hash). Anything else (binary files, files
    without hunks) goes through `core.patchid.git_patch_id`, which follows git's
    line-by-line state machine. Binary files hash the abbreviated blob ids of the `index` line:
    the caller gives them git's length (libgit2 prints 7 digits; git more on repositories of
    more than 2^14 packed objects, see extractors.git.abbrev). None for an empty diff.
    """
    if not patches:
        return None
    hashes = []
    for text in patches:
        h = file_patch_hash(text)
        if h is None:
            return git_patch_id(b"".join(patches))
        hashes.append(h)
    return sum_patch_hashes(hashes)


# --- git's similarity estimate (diffcore-delta.c, diffcore-rename.c) -------------------------

_HASHBASE = 107927
MAX_SCORE = 60000
_MASK32 = np.uint64(0xFFFFFFFF)
# git hashes spans of up to 64 bytes, each ending at a newline or at its 64th byte
_SPAN = re.compile(rb"[^\n]{0,63}\n|[^\n]{64}|[^\n]+")


def span_counts(data: bytes, is_text: bool) -> tuple[np.ndarray, np.ndarray]:
    """git's hash_chars(): the distinct span hashes of `data` and their byte counts.

    Per span git rotates a 64-bit accumulator (accum1:accum2) left by 7 bits and adds each byte
    to its upper half. Spans are hashed all at once, column by column: right-aligned in a matrix
    padded with zero bytes on the left (a zero byte leaves a zero accumulator unchanged), longest
    first, so column k only involves the rows that have started.
    """
    if is_text:
        data = data.replace(b"\r\n", b"\n")  # a CR before LF is skipped in text
    spans = _SPAN.findall(data)
    if not spans:
        return np.zeros(0, np.uint64), np.zeros(0)
    spans.sort(key=len, reverse=True)
    lens = np.fromiter(map(len, spans), np.int64, len(spans))
    width = int(lens[0])
    mat = np.frombuffer(b"".join([s.rjust(width, b"\0") for s in spans]), np.uint8).reshape(-1, width)
    started = np.searchsorted(-lens, np.arange(-width, 0), side="right")  # rows begun by column k
    acc = np.zeros(len(spans), np.uint64)
    seven, fifty_seven, thirty_two = np.uint64(7), np.uint64(57), np.uint64(32)
    for k in range(width):
        m = started[k]
        a = acc[:m]
        acc[:m] = ((a << seven) | (a >> fifty_seven)) + (mat[:m, k].astype(np.uint64) << thirty_two)
    hashes = (((acc >> thirty_two) + (acc & _MASK32) * np.uint64(0x61)) & _MASK32) % np.uint64(_HASHBASE)
    keys, inverse = np.unique(hashes, return_inverse=True)
    return keys, np.bincount(inverse, weights=lens)


def git_similarity_index(old: bytes, new: bytes) -> int:
    """The `similarity index NN%` git prints for a rename from `old` to `new` content."""
    if old == new:
        return 100
    max_size = max(len(old), len(new))
    if not max_size:
        return 100
    src_keys, src_counts = span_counts(old, b"\0" not in old[:8000])
    dst_keys, dst_counts = span_counts(new, b"\0" not in new[:8000])
    _, i, j = np.intersect1d(src_keys, dst_keys, assume_unique=True, return_indices=True)
    copied = int(np.minimum(src_counts[i], dst_counts[j]).sum())
    score = copied * MAX_SCORE // max_size
    return score * 100 // MAX_SCORE
