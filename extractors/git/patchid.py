"""`git patch-id --stable` of a commit's in-scope diff, plus git's rename similarity score.

The patch-id hashes each file's diff with whitespace removed and without hunk line numbers,
one SHA-1 per file, and sums the per-file digests. The header lines (`diff --git`,
`new file mode`, `similarity index NN%`, `rename from` ...) are part of the hash, so the similarity percentage must be git's own: libgit2 scores renames with a
different metric, hence `git_similarity_index`, a port of git's diffcore-delta estimate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from extractors.mail.patches import git_patch_id


def patch_id(patches: Iterable[bytes]) -> str | None:
    """The stable patch-id of a diff given as git-format patch text, one chunk per file.

    One implementation serves mail and git: the chunks joined are the diff git itself would print
    (files in path order, as libgit2 emits them), hashed by `extractors.mail.patches.git_patch_id`.
    Binary files hash the abbreviated blob ids of the `index` line; libgit2 prints 7 digits where
    git prints more on repositories of more than 2^14 objects, so on large repositories the
    patch-ids of commits with binary files differ from git's. None for an empty diff.
    """
    return git_patch_id(b"".join(patches))


# --- git's similarity estimate (diffcore-delta.c, diffcore-rename.c) -------------------------

_HASHBASE = 107927
MAX_SCORE = 60000


def _spans(data: bytes, is_text: bool) -> Counter[int]:
    counts: Counter[int] = Counter()
    accum1 = accum2 = 0
    n = 0
    size = len(data)
    i = 0
    mask = 0xFFFFFFFF
    while i < size:
        c = data[i]
        i += 1
        if is_text and c == 13 and i < size and data[i] == 10:
            continue
        old_1 = accum1
        accum1 = ((accum1 << 7) ^ (accum2 >> 25)) & mask
        accum2 = ((accum2 << 7) ^ (old_1 >> 25)) & mask
        accum1 = (accum1 + c) & mask
        n += 1
        if n < 64 and c != 10:
            continue
        counts[((accum1 + accum2 * 0x61) & mask) % _HASHBASE] += n
        n = 0
        accum1 = accum2 = 0
    if n > 0:
        counts[((accum1 + accum2 * 0x61) & mask) % _HASHBASE] += n
    return counts


def git_similarity_index(old: bytes, new: bytes) -> int:
    """The `similarity index NN%` git prints for a rename from `old` to `new` content."""
    if old == new:
        return 100
    max_size = max(len(old), len(new))
    if not max_size:
        return 100
    src = _spans(old, b"\0" not in old[:8000])
    dst = _spans(new, b"\0" not in new[:8000])
    copied = sum(min(cnt, dst.get(h, 0)) for h, cnt in src.items())
    score = copied * MAX_SCORE // max_size
    return score * 100 // MAX_SCORE


_SIMILARITY = re.compile(rb"^similarity index \d+%$", re.M)


def with_git_similarity(text: bytes, pct: int) -> bytes:
    """Replace libgit2's similarity percentage in a rename header with git's (`pct`)."""
    return _SIMILARITY.sub(b"similarity index %d%%" % pct, text, count=1)
