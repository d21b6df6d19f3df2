"""Patch, cover letter and pull request detection, and patch-id against real git."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from core.patchid import git_patch_id
from extractors.mail.raw import RawMessage

from .helpers import mail, parse

DIFF = """\
---
 a.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/a.c b/a.c
index 1111111..2222222 100644
--- a/a.c
+++ b/a.c
@@ -1,3 +1,3 @@
 int a;
-int b;
+int c;
 int d;
--\x20
2.40.0
"""
PLAIN_DIFF = """\
--- a/a.c
+++ b/a.c
@@ -1,1 +1,1 @@
-x
+y
"""


def test_git_diff_is_a_patch() -> None:
    p = parse(mail("[PATCH] a: b", "Change.\n\nSigned-off-by: J <j@x>\n" + DIFF))
    assert p.row["is_patch"] and p.row["patch_version"] == 1 and p.row["patch_id"]


def test_plain_unified_diff_is_a_patch() -> None:
    p = parse(mail("a fix", "Try this:\n\n" + PLAIN_DIFF))
    assert p.row["is_patch"]
    assert p.row["patch_id"] is None  # git patch-id needs a `diff ` line


def test_no_diff_no_patch_even_with_patch_tag() -> None:
    p = parse(mail("[PATCH] talk only", "No diff here.\n--- not\n+++ a diff\n"))
    assert not p.row["is_patch"]


def test_quoted_diff_in_reply_is_not_a_patch() -> None:
    quoted = "".join("> " + line + "\n" for line in DIFF.splitlines())
    p = parse(mail("Re: [PATCH] a: b", "On x, J wrote:\n" + quoted + "\nLooks good.\n"))
    assert not p.row["is_patch"]
    # also without Re: in the subject, quoted lines never count
    p = parse(mail("[PATCH] a: b", "On x, J wrote:\n" + quoted))
    assert not p.row["is_patch"]


def test_reply_with_diff_is_not_a_submission() -> None:
    p = parse(mail("Re: [PATCH] a: b", "How about:\n\n" + DIFF))
    assert not p.row["is_patch"] and p.row["patch_id"] is None


def test_cover_letter() -> None:
    p = parse(mail("[PATCH v2 0/3] series", "This series...\n\n a.c | 2 +-\n"))
    assert p.row["is_cover_letter"] and not p.row["is_patch"]
    assert (p.row["patch_version"], p.row["patch_counter"], p.row["patch_total"]) == (2, 0, 3)


def test_patch_attachment_counts() -> None:
    att = base64.b64encode(b"not even a diff\n").decode()
    body = (
        "--XX\nContent-Type: text/plain\n\nSee attached.\n"
        "--XX\nContent-Type: text/x-patch; name=fix.patch\nContent-Transfer-Encoding: base64\n\n"
        + att
        + "\n--XX--\n"
    )
    p = parse(mail("a fix", body, extra='MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"'))
    assert p.row["is_patch"]


def test_quoted_printable_diff_is_decoded() -> None:
    body = DIFF.replace("int c;", "int c =3D 1;")
    p = parse(mail("[PATCH] qp", body, extra="Content-Transfer-Encoding: quoted-printable"))
    plain = parse(mail("[PATCH] qp", DIFF.replace("int c;", "int c = 1;")))
    assert p.row["is_patch"] and p.row["patch_id"] == plain.row["patch_id"]


def test_pull_request() -> None:
    body = (
        "Hi Linus,\n\nThe following changes since commit 0123456789abcdef0123456789abcdef01234567:\n\n"
        "  Linux 6.1 (2022-12-11)\n\nare available in the Git repository at:\n\n"
        "  git://git.kernel.org/pub/scm/virt/kvm/kvm.git tags/for-linus\n"
    )
    assert parse(mail("[GIT PULL] KVM", body)).row["is_pull_request"]
    quoted = "".join("> " + line + "\n" for line in body.splitlines())
    assert not parse(mail("Re: [GIT PULL] KVM", quoted)).row["is_pull_request"]


# ---- git patch-id --stable, checked against git itself


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    env = {
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@x",
        "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, env=env, check=True, capture_output=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.c").write_text("".join(f"line {i}\n" for i in range(60)))
    (tmp_path / "gone.txt").write_text("bye\n")
    (tmp_path / "b.txt").write_text("no newline")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def _change(repo: Path) -> None:
    lines = [f"line {i}\n" for i in range(60)]
    lines[3] = "line   3 changed\n"
    lines[40:42] = ["new\n", "\tmore\n", "and more\n"]
    (repo / "a.c").write_text("".join(lines))
    (repo / "gone.txt").unlink()
    (repo / "b.txt").write_text("no newline, still")
    (repo / "new.bin").write_bytes(bytes(range(256)))
    (repo / "new.txt").write_text("fresh\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change\n\nSigned-off-by: A <a@x>")


def test_patch_id_matches_git(repo: Path) -> None:
    _change(repo)
    patch = _git(repo, "format-patch", "-1", "--stdout")
    expected = _git(repo, "patch-id", "--stable", stdin=patch).split()[0].decode()
    (raw,) = [RawMessage(patch.split(b"\n", 1)[1], "t:0")]
    p = parse(raw.data)
    assert p.row["is_patch"]
    assert p.row["patch_id"] == expected
    assert git_patch_id(patch.split(b"\n\n", 1)[1]) == expected


def test_patch_id_ignores_whitespace_and_line_numbers(repo: Path) -> None:
    _change(repo)
    patch = _git(repo, "format-patch", "-1", "--stdout")
    body = patch.split(b"\n\n", 1)[1]
    shifted = body.replace(b"@@ -1,7 +1,7 @@", b"@@ -11,7 +11,7 @@").replace(b"line   3", b"line 3")
    assert git_patch_id(shifted) == git_patch_id(body)


def test_patch_id_slow_path_matches_git(repo: Path) -> None:
    # A hunk whose counts do not match its lines forces the line-by-line walk.
    text = b"diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n c\n-- \n2.1\n"
    expected = (
        subprocess.run(["git", "patch-id", "--stable"], input=text, capture_output=True, check=True)
        .stdout.split()[0]
        .decode()
    )
    assert git_patch_id(text) == expected
