"""Mail messages and their serialization into an mbox file (the "mboxo" variant).

mboxo separates messages with a ``From <address> <asctime date>`` line and escapes body lines that
start with ``From `` as ``>From `` (lines already starting with ``>From `` are left alone; readers
do not unescape). The serialization is written by hand rather than with ``mailbox.mbox`` because the
stdlib stamps the current time on messages without a From_ line, and the output must be a pure
function of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path


@dataclass
class Mail:
    sender_name: str
    sender_address: str
    date: datetime  # timezone-aware, in the sender's zone
    subject: str
    body: str
    message_id: str | None  # with angle brackets; None: no Message-ID header at all
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    to: str = ""
    cc: list[str] = field(default_factory=list)
    date_header: str | None = None  # overrides the formatted date (odd zones)
    raw_from: str | None = None  # overrides the formatted From: header

    def from_header(self) -> str:
        if self.raw_from is not None:
            return self.raw_from
        name = self.sender_name
        if not name.isascii():
            name = q_encode(name)
        elif any(c in name for c in ',.()<>@;:"'):
            name = '"' + name.replace('"', '\\"') + '"'
        return f"{name} <{self.sender_address}>"

    def render(self) -> str:
        headers = [f"From: {self.from_header()}", f"To: {self.to}"]
        if self.cc:
            headers.append("Cc: " + ",\n    ".join(self.cc))
        headers.append(f"Subject: {self.subject}")
        headers.append(f"Date: {self.date_header or format_datetime(self.date)}")
        if self.message_id is not None:
            headers.append(f"Message-ID: {self.message_id}")
        if self.in_reply_to:
            headers.append(f"In-Reply-To: {self.in_reply_to}")
        if self.references:
            headers.append("References: " + "\n ".join(self.references))
        headers += [
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 8bit",
        ]
        body = self.body if self.body.endswith("\n") else self.body + "\n"
        return "\n".join(headers) + "\n\n" + body


def q_encode(text: str) -> str:
    """RFC 2047 "Q" encoding of a display name, as most mail clients write it."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char == " ":
            out.append("_")
        elif char.isascii() and char.isalnum():
            out.append(char)
        else:
            out.append(f"={byte:02X}")
    return "=?UTF-8?q?" + "".join(out) + "?="


def _escape(body: str) -> str:
    return "\n".join(">" + line if line.startswith("From ") else line for line in body.split("\n"))


def write_mbox(path: Path, mails: list[Mail]) -> int:
    """Write mails in archive order (by UTC date); returns the number written."""
    chunks: list[str] = []
    for mail in mails:
        archived = mail.date.astimezone(UTC)
        separator = f"From {mail.sender_address} {archived.strftime('%a %b %d %H:%M:%S %Y')}"
        chunks.append(separator + "\n" + _escape(mail.render()) + "\n")
    path.write_bytes("".join(chunks).encode("utf-8"))
    return len(mails)


def sort_key(mail: Mail) -> tuple[datetime, str]:
    return (mail.date.astimezone(UTC), mail.message_id or "")
