"""Small builders for handcrafted test messages."""

from __future__ import annotations

from datetime import datetime

from extractors.mail.parse import ParsedMessage, parse_message
from extractors.mail.raw import RawMessage

NOW = datetime(2026, 1, 1)


def mail(
    subject: str = "hello",
    body: str = "Hi.\n",
    *,
    sender: str = "Jane Doe <jane@example.com>",
    date: str | None = "Mon, 29 Apr 2019 11:24:03 +1000",
    message_id: str | None = "<m1@example.com>",
    extra: str = "",
) -> bytes:
    lines = [f"From: {sender}"]
    if date is not None:
        lines.append(f"Date: {date}")
    lines.append(f"Subject: {subject}")
    if message_id is not None:
        lines.append(f"Message-ID: {message_id}")
    if extra:
        lines.append(extra.rstrip("\n"))
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def parse(data: bytes, from_line: bytes | None = None, archived_at: datetime | None = None) -> ParsedMessage:
    result = parse_message(RawMessage(data, "test:0", from_line, archived_at), NOW)
    assert isinstance(result, ParsedMessage), result
    return result
