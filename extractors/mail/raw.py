"""What every mail source yields: one message's bytes plus where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawMessage:
    data: bytes  # the RFC 5322 message (headers + body), mbox escaping already undone
    location: str  # provenance: "path:byte-offset", "epoch.git:commit", "url#article"
    from_line: bytes | None = None  # the mbox "From " separator line, when there was one
    archived_at: datetime | None = None  # when the archive received it (naive UTC), if known


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A problem with the source itself rather than one message (e.g. a truncated .gz)."""

    location: str
    reason: str  # short code: truncated_archive, unreadable_file, ...
    detail: str


@dataclass(frozen=True, slots=True)
class DeletedMessage:
    """An archive removed a message it once held (a public-inbox `d` commit).

    `data` is the removed message as the archive recorded it, so the ingest driver derives the
    Message-ID exactly as it did when the message was added (including synthetic IDs), then
    deletes that message's rows instead of inserting any.
    """

    data: bytes
    location: str


@dataclass(frozen=True, slots=True)
class SourceCursor:
    """How far an incremental source has read: `key` (e.g. an epoch) -> opaque `value`.

    The driver stores the last value per key in raw.mail_source_state in the same transaction as
    the messages read before it, and hands the stored values back to the source on the next run,
    so a run that fails before publishing never advances the cursor.
    """

    key: str
    value: str
