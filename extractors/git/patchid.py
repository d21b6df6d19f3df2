"""`git patch-id --stable`, computed from patch text, plus git's rename similarity score.

The patch-id hashes each file's diff with whitespace removed and without hunk line numbers,
one SHA-1 per file, and sums the per-file digests. The
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
    n = (int.from_bytes(total, "little") + int.from_bytes(digest, "little")) & _MASK160
    total[:] = n.to_bytes(20, "little")


_MASK160 = (1 << 160) - 1
# the lines git does not hash in a file with hunks: `index`, hunk headers, `\ No newline`
_UNHASHED = re.compile(rb"^(?:index |@@ -|\\ )[^\n]*(?:\n|$)", re.M)


def _fast_patch_id(patches: list[bytes]) -> str | None:
    # Every file has hunks: each file is then exactly one hash of its lines minus the unhashed
    # ones, whitespace removed (removing it line by line or all at once is the same).
    total = 0
    patchlen = 0
    for text in patches:
        body = _UNHASHED.sub(b"", text).translate(None, _SPACE)
        patchlen += len(body)
        total += int.from_bytes(hashlib.sha1(body).digest(), "little")
    if not patchlen:
        return None
    return (total & _MASK160).to_bytes(20, "little").hex()


def patch_id(patches: Iterable[bytes]) -> str | None:
    """The stable patch-id of a diff given as git-format patch text, one chunk per file.

    A line-by-line port of builtin/patch-id.c as of git 2.39 (`--stable`): `index` lines and
    hunk headers are not hashed, `\\ No newline` lines are skipped, every other line is hashed
    without whitespace, and the hash is flushed into the sum at each `diff ` header that follows
    a complete hunk. A file without hunks (binary, mode change only) therefore shares its hash
    with the next file, as in git: the chunks must come in git's order (by path), which is
    libgit2's. Binary files hash the abbreviated blob ids of the `index` line; libgit2 prints 7
    digits where git prints more on repositories of more than 2^14 objects, so on large
    repositories the patch-ids of commits with binary files differ from git's.
    Returns None for an empty diff, as git prints nothing then.
    """
    patches = list(patches)
    if all(b"\n@@ -" in p for p in patches):
        return _fast_patch_id(patches)
    return slow_patch_id(patches)


def slow_patch_id(patches: Iterable[bytes]) -> str | None:
    """`patch_id`, line by line as git does it (any diff, including files without hunks)."""
    total = bytearray(20)
    ctx = hashlib.sha1()
    patchlen = 0
    before = after = -1
    pre_oid = post_oid = b""
    is_binary = False
    for line in b"".join(patches).splitlines(keepends=True):
        if line.startswith(b"\\ ") and len(line) > 12:
            continue
        if not patchlen and not line.startswith(b"diff "):
            continue
        if before == -1:
            if line.startswith(b"GIT binary patch") or line.startswith(b"Binary files"):
                # a binary file hashes its pre- and post-image ids (as abbreviated in the text)
                is_binary = True
                before = 0
                ctx.update(pre_oid)
                ctx.update(post_oid)
                _add_digest(total, ctx.digest())
                ctx = hashlib.sha1()
                continue
            if line.startswith(b"index "):
                dots = line.find(b"..")
                if dots >= 0:
                    end = line.find(b" ", dots)
                    if end < 0:
                        end = len(line) - 1
                    pre_oid = line[6:dots]
                    post_oid = line[dots + 2 : end]
                continue
            if line.startswith(b"--- "):
                before = after = 1
            elif not line[:1].isalpha():
                break
        if is_binary:
            # skipped up to the next file header, which git does not hash either
            if line.startswith(b"diff "):
                is_binary = False
                before = -1
            continue
        if before == 0 and after == 0:
            if line.startswith(b"@@ -"):
                m = _HUNK.match(line)
                if m:
                    before = int(m.group(1)) if m.group(1) is not None else 1
                    after = int(m.group(2)) if m.group(2) is not None else 1
                continue
            if not line.startswith(b"diff "):
                break
            _add_digest(total, ctx.digest())
            ctx = hashlib.sha1()
            before = after = -1
        c = line[:1]
        if c == b"-" or c == b" ":
            before -= 1
        if c == b"+" or c == b" ":
            after -= 1
        stripped = line.translate(None, _SPACE)
        patchlen += len(stripped)
        ctx.update(stripped)
    if not patchlen:
        return None
    _add_digest(total, ctx.digest())
    return bytes(total).hex()


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
