"""`git patch-id --stable`, computed from patch text, plus git's rename similarity score.

The patch-id hashes each file's diff with whitespace removed and without hunk line numbers,
one SHA-1 per file, and sums the per-file digests (so the file order does not matter). The
header lines (`diff --git`, `new file mode`, `similarity index NN%`, `rename from` ...) are part
of the hash, so the similarity percentage must be git's own: libgit2 scores renames with a
different metric, hence `git_similarity_index`, a port of git's diffcore-delta estimate.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_SPACE = b" \t\n\r"  # git's isspace(): not \v or \f


def _add_digest(total: bytearray, digest: bytes) -> None:
    # git adds the digests as little-endian numbers, dropping the final carry
    carry = 0
    for i in range(len(total)):
        carry += total[i] + digest[i]
        total[i] = carry & 0xFF
        carry >>= 8


def patch_id(patches: Iterable[bytes]) -> str | None:
    """The stable patch-id of a diff given as git-format patch text (one or more files).

    Mirrors builtin/patch-id.c: `index` lines are skipped, hunk headers are not hashed, binary
    files hash their pre- and post-image ids. Returns None for an empty diff, as git prints
    nothing then.
    """
    total = bytearray(20)
    patchlen = 0
    for text in patches:
        n = _one_file(text, total)
        patchlen += n
    if patchlen == 0:
        return None
    return bytes(total).hex()


def _one_file(text: bytes, total: bytearray) -> int:
    ctx = hashlib.sha1()
    patchlen = 0
    before = after = -1
    pre_oid = post_oid = b""
    dirty = False
    for line in text.split(b"\n"):
        if not line:
            continue
        if line.startswith(b"\\ ") and len(line) + 1 > 12:
            continue
        if patchlen == 0 and not line.startswith(b"diff "):
            continue
        if before == -1:
            if line.startswith(b"GIT binary patch") or line.startswith(b"Binary files"):
                ctx.update(pre_oid)
                ctx.update(post_oid)
                _add_digest(total, ctx.digest())
                ctx = hashlib.sha1()
                dirty = False
                # the remaining lines of a binary file are not hashed
                return patchlen + 1
            if line.startswith(b"index "):
                rest = line[6:]
                dots = rest.find(b"..")
                if dots >= 0:
                    sp = rest.find(b" ", dots)
                    pre_oid = rest[:dots]
                    post_oid = rest[dots + 2 :] if sp < 0 else rest[dots + 2 : sp]
                continue
            if line.startswith(b"--- "):
                before = after = 1
            elif not line[:1].isalpha():
                break
        if before == 0 and after == 0:
            m = _HUNK.match(line)
            if m:
                before = int(m.group(1)) if m.group(1) is not None else 1
                after = int(m.group(2)) if m.group(2) is not None else 1
                continue
            break
        c = line[:1]
        if c in (b"-", b" "):
            before -= 1
        if c in (b"+", b" "):
            after -= 1
        stripped = line.translate(None, _SPACE)
        patchlen += len(stripped)
        ctx.update(stripped)
        dirty = True
    if dirty or patchlen:
        _add_digest(total, ctx.digest())
    return patchlen


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


def with_git_similarity(text: bytes, old: bytes, new: bytes) -> bytes:
    """Replace libgit2's similarity percentage in a rename header with git's."""
    pct = git_similarity_index(old, new)
    return _SIMILARITY.sub(b"similarity index %d%%" % pct, text, count=1)
