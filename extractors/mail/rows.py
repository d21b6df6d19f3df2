"""One parsed message as raw rows: its mail_messages row, trailers and issues, or a quarantine row.

Both the in-process parse and the worker processes (extractors.mail.parallel) build rows here, so
every line that shapes a row is shared; de-duplication (extractors.mail.dedup) comes after.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from isal.isal_zlib import crc32

from extractors.mail.parse import ParsedMessage, Rejected, parse_message
from extractors.mail.raw import RawMessage, SourceProblem


def message_digest(data: bytes) -> int:
    # CRC-32 and length tell identical from different copies of one Message-ID at a quarter of
    # SipHash's cost, and the value is the same in every process (workers, later runs). A false
    # "identical" needs two copies of one Message-ID with equal length and equal CRC (odds ~2**-32
    # per such pair), which is acceptable for statistics. ISA-L's CRC-32 is zlib's, four times faster.
    return (len(data) << 32) | crc32(data)


# One message's rows before deduplication: (Message-ID or None for a quarantined item, digest of
# its bytes, source location, [(table, row)]). The rows are final except that deduplication may
# rename the message or replace them by one `duplicate_identical` or `duplicate_copy` issue. Worker processes build
# these too (extractors.mail.parallel).
Entry = tuple[str | None, int, str, list[tuple[str, dict[str, Any]]]]


def iter_entries(
    owner: dict[str, str], messages: Iterable[RawMessage | SourceProblem], now: datetime
) -> Iterator[Entry]:
    for item in messages:
        if isinstance(item, SourceProblem):
            yield None, 0, item.location, [quarantine_row(owner, item)]
        else:
            yield message_entry(owner, parse_message(item, now), message_digest(item.data))


def quarantine_row(owner: dict[str, str], item: SourceProblem | Rejected) -> tuple[str, dict[str, Any]]:
    return (
        "mail_quarantine",
        {**owner, "source_location": item.location, "reason": item.reason, "detail": item.detail},
    )


def message_entry(owner: dict[str, str], parsed: ParsedMessage | Rejected, digest: int) -> Entry:
    if isinstance(parsed, Rejected):
        return None, 0, parsed.location, [quarantine_row(owner, parsed)]
    row = parsed.row
    mid = row["message_id"]
    loc = row["source_location"]
    rows: list[tuple[str, dict[str, Any]]] = [("mail_messages", {**owner, **row})]
    for t in parsed.trailers:
        rows.append(("mail_trailers", {**owner, "message_id": mid, **t}))
    for check, detail in parsed.issues:
        rows.append(
            (
                "mail_issues",
                {**owner, "message_id": mid, "source_location": loc, "check_name": check, "detail": detail},
            )
        )
    return mid, digest, loc, rows
