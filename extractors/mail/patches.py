"""Patch detection, pull-request detection and MIME text extraction (git's stable patch-id is
core.patchid)."""

from __future__ import annotations

import email
import re
from email.message import Message
from email.policy import compat32

UNIFIED_DIFF = re.compile(rb"\n--- [^\n]*\n\+\+\+ [^\n]*\n@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")
PULL_REQUEST = re.compile(rb"\nThe following changes since commit [0-9a-fA-F]{7,40}")
PULL_REQUEST_AT = re.compile(rb"are available in the [Gg]it repository at")
PATCH_TYPES = frozenset(("text/x-patch", "text/x-diff", "text/x-git-diff", "application/x-patch"))
_PATCH_FILE = re.compile(r"\.(?:patch|diff)$", re.I)


def needs_mime(content_type: bytes | None, transfer_encoding: bytes | None) -> bool:
    """Only multipart or transfer-encoded messages need the (slow) MIME parser."""
    if content_type and content_type.lstrip()[:10].lower() == b"multipart/":
        return True
    if transfer_encoding:
        te = transfer_encoding.strip().lower()
        return te.startswith(b"base64") or te.startswith(b"quoted-printable")
    return False


def mime_text(data: bytes) -> tuple[bytes, bool, str | None]:
    """(decoded text parts joined, carries a patch attachment, first declared charset)."""
    msg: Message = email.message_from_bytes(data, policy=compat32)
    texts: list[bytes] = []
    attachment = False
    charset: str | None = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = part.get_filename() or ""
        is_patch_part = ctype in PATCH_TYPES or bool(
            ctype == "application/octet-stream" and _PATCH_FILE.search(filename)
        )
        if not (is_patch_part or ctype == "text/plain"):
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # broken encodings: whatever cannot be decoded is not evidence
            payload = None
        if not isinstance(payload, bytes):
            continue
        if ctype in PATCH_TYPES:
            attachment = True
        charset = charset or part.get_content_charset()
        texts.append(payload.replace(b"\r\n", b"\n"))
    return b"\n".join(texts), attachment, charset
