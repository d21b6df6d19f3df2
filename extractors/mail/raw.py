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
