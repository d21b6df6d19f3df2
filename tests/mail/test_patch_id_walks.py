"""git patch-id --stable three ways: the compiled walk (_patchid.c), the Python walk and its
regex fast path, each checked against `git patch-id --stable` itself on handcrafted quirks and on
seeded random damage to a real-looking patch, and against each other on every patch of the corpus.
"""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess

import pytest

from core import patchid
from core.patchid import _SLOW, _fast_patch_id, _sum_digests, _walk_patch_id, git_patch_id
from tests.c_modules import require, required

from .test_speedups import KVM_PPC, PATCH

native = patchid._native
PATCHID = "core/_patchid.c"


def _git_patch_id(text: bytes) -> str | None:
    out = subprocess.run(["git", "patch-id", "--stable"], input=text, capture_output=True, check=True).stdout
    return out.split()[0].decode() if out else None


def _first_diff(text: bytes) -> int:
    if text.startswith(b"diff "):
        return 0
    i = text.find(b"\ndiff ")
    return i + 1 if i >= 0 else -1


def _native_id(text: bytes) -> str | None:
    walk = require(native, PATCHID)
    first = _first_diff(text)
    parts = walk.patch_id_parts(text, first) if first >= 0 else None
    return None if parts is None else _sum_digests(parts)


@pytest.fixture(scope="module")
def git() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")


def test_the_compiled_walk_is_built() -> None:
    # The install compiles it; without it every patch-id falls back to the slower Python walk.
    require(native, PATCHID)
    assert patchid.git_patch_id(PATCH) == _native_id(PATCH)


B_FILE = b"diff --git a/b.c b/b.c\nindex 0000000..3333333\n--- /dev/null\n+++ b/b.c\n@@ -0,0 +1 @@\n+int e;\n"
QUIRKS = {
    "plain": PATCH,
    "hunk header without counts": PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ -10 +11 @@"),
    "hunk header without old start": PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ - +11,2 @@"),
    "hunk header with a bad new count": PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ -10,2 +11,x @@"),
    "hunk count after a space": PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ -10, 2 +11,2 @@"),
    "negative hunk count": PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ -10,-2 +11,2 @@"),
    "hunk count past 2^32": PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ -10,4294967298 +11,2 @@"),
    "hunk count past 2^63": PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ -10,99999999999999999999 +11,2 @@"),
    "NUL inside a hunk line": PATCH.replace(b"+int c;", b"+int\0 c;"),
    "NUL at a line start": PATCH.replace(b" int d;", b"\0int d;"),
    "CRLF line ends": PATCH.replace(b"\n", b"\r\n"),
    "no final newline": PATCH.rstrip(b"\n"),
    "long backslash line": PATCH.replace(b"+int e;\n", b"+int e;\n\\ No newline at end of file\n"),
    "short backslash line": PATCH.replace(b"+int e;\n", b"+int e;\n\\ x\n"),
    "binary file after its index line": PATCH.replace(
        b"index 1111111..2222222 100644\n", b"index 1111111..2222222 100644\nBinary files a and b differ\n"
    )
    + B_FILE,
    "GIT binary patch": PATCH.replace(
        b"index 0000000..3333333\n", b"index 0000000..3333333\nGIT binary patch\nliteral 5\nMcmZQz\n\n"
    ),
    "commit id line ends the patch": PATCH.replace(
        b"diff --git a/b.c", b"commit " + b"b" * 40 + b"\ndiff --git a/b.c"
    ),
    "From id line ends the patch": PATCH.replace(
        b"diff --git a/b.c", b"From " + b"c" * 40 + b"\ndiff --git a/b.c"
    ),
    "bare id line ends the patch": PATCH.replace(b"diff --git a/b.c", b"a" * 40 + b"\ndiff --git a/b.c"),
    "no diff line": PATCH[: PATCH.index(b"diff --git")],
    "only a diff line": b"diff --git a/x b/x\n",
    "blank line ends the header": PATCH.replace(b"index 1111111..2222222 100644\n", b"\n"),
}


@pytest.mark.parametrize("name", QUIRKS)
def test_every_walk_matches_git(git: None, name: str) -> None:
    text = QUIRKS[name]
    expected = _git_patch_id(text)
    assert _git_patch_id(text) == expected  # git itself is deterministic on this input
    if native is not None or required():  # else the Python walks alone, against git
        assert _native_id(text) == expected
    assert _walk_patch_id(text) == expected
    first = _first_diff(text)
    if first >= 0 and b"\0" not in text:
        fast = _fast_patch_id(text, first)
        assert fast is _SLOW or fast == expected
    assert git_patch_id(text) == expected


# Lines the random damage draws from: every kind of line the walks treat specially.
PIECES = [
    b"@@ - +1 @@",
    b"@@ -1,x +2 @@",
    b"@@ -3 +3 @@",
    b"@@ -1,-2 +1,4294967297 @@",
    b"\\ No newline at end of file",
    b"\\ x",
    b"GIT binary patch",
    b"index abc..def 100644",
    b"index abc..def",
    b"a" * 40,
    b"commit " + b"b" * 40,
    b"diff --git a/z b/z",
    b"--- a/z",
    b"+++ b/z",
    b"+x\0y",
    b"-",
    b"+",
    b" ",
    b"",
    b"-- ",
    b"\r",
]


def _damaged(rng: random.Random) -> bytes:
    lines = PATCH.split(b"\n")
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.4:
            lines.insert(i, rng.choice(PIECES))
        elif op < 0.6:
            del lines[i]
        elif op < 0.8:
            lines[i] = rng.choice(PIECES)
        elif lines[i]:
            j = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:j] + bytes([rng.choice(b" \t-+@,0123456789\0")]) + lines[i][j + 1 :]
    return b"\n".join(lines)


def test_damaged_patches_match_git(git: None) -> None:
    rng = random.Random(20261204)
    compared = 0
    for _ in range(400):
        text = _damaged(rng)
        expected = _git_patch_id(text)
        if _git_patch_id(text) != expected:
            # git hashes uninitialized memory for a binary file with no `index` line before it
            continue
        compared += 1
        if native is not None or required():  # else the Python walk alone, against git
            assert _native_id(text) == expected, text
        assert _walk_patch_id(text) == expected, text
    assert compared > 300


def test_corpus_patches_agree_across_walks() -> None:
    if not KVM_PPC.is_file():
        pytest.skip(f"real mail corpus not found at {KVM_PPC.resolve()} (it sits beside the checkout)")
    from extractors.mail.mbox import iter_mbox_stream

    compared = 0
    with gzip.open(KVM_PPC, "rb") as stream:
        for raw in iter_mbox_stream(stream, "kvm-ppc"):
            data = getattr(raw, "data", b"")
            if b"\ndiff " not in data:
                continue
            body = data[data.find(b"\n\n") + 1 :]
            expected = _walk_patch_id(body)
            assert _native_id(body) == expected, raw.location
            compared += expected is not None
    assert compared > 2000
