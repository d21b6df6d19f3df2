"""Mail ingestion driver: source -> parse -> deduplicate -> Parquet spool -> one-transaction publish."""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from isal.isal_zlib import crc32

from core.config import MailingListConfig
from extractors.mail.errors import SourceError
from extractors.mail.limits import mail_limits
from extractors.mail.lists import list_address_rows
from extractors.mail.parse import ParsedMessage, Rejected, parse_message, utc_now
from extractors.mail.raw import RawMessage, SourceProblem
from extractors.mail.sources import SOURCES, get_source, mbox_files
from extractors.schema import MAIL_DIGESTS_TABLE

__all__ = ["SOURCES", "ingest_mailing_list", "iter_list_rows"]

PROGRESS_EVERY = 1000
WORKERS_ENV = "COMMSTATS_MAIL_WORKERS"
_LAZY = ("Spool", "publish")


def __getattr__(name: str) -> Any:
    # Loading (pyarrow, DuckDB) is imported on first use: parsing needs none of it, and importing
    # it would multiply the memory of a process that only parses.
    if name in _LAZY:
        import extractors.load

        value = getattr(extractors.load, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _loading(name: str) -> Any:
    """Spool/publish as this module currently holds them (tests may replace them)."""
    return globals()[name] if name in globals() else __getattr__(name)


def _digest(data: bytes) -> int:
    # CRC-32 and length tell identical from different copies of one Message-ID at a quarter of
    # SipHash's cost, and the value is the same in every process (workers, later runs). A false
    # "identical" needs two copies of one Message-ID with equal length and equal CRC (odds ~2**-32
    # per such pair), which is acceptable for statistics. ISA-L's CRC-32 is zlib's, four times faster.
    return (len(data) << 32) | crc32(data)


# One message's rows before deduplication: (Message-ID or None for a quarantined item, digest of
# its bytes, source location, [(table, row)]). The rows are final except that deduplication may
# rename the message or replace them by one `duplicate_identical` or `duplicate_copy` issue. Worker processes build
# these too (extractors.mail.parallel), so both paths share every line that shapes a row.
Entry = tuple[str | None, int, str, list[tuple[str, dict[str, Any]]]]


def iter_list_rows(
    project: str,
    lst: MailingListConfig,
    messages: Iterable[RawMessage | SourceProblem],
    known: KnownMessages | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) for every message, trailer, issue and rejection of one list.

    Deduplication (METRICS.md): the same Message-ID with identical bytes is one message plus a
    `duplicate_identical` issue; with other bytes but the same From address and Date header, one
    message plus a `duplicate_copy` issue (a regenerated archive); else the later copy is kept as
    `<id>#dup<n>` with a `duplicate_message_id` issue. State is one small entry per Message-ID. `known` holds
    the messages earlier runs stored (incremental sources), which count as seen before.
    """
    owner = {"project": project, "list_name": lst.name}
    return dedup_rows(owner, iter_entries(owner, messages, utc_now()), known)


def iter_entries(
    owner: dict[str, str], messages: Iterable[RawMessage | SourceProblem], now: datetime
) -> Iterator[Entry]:
    for item in messages:
        if isinstance(item, SourceProblem):
            yield None, 0, item.location, [quarantine_row(owner, item)]
        else:
            yield message_entry(owner, parse_message(item, now), _digest(item.data))


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


# What makes two copies of one Message-ID the same message although their bytes differ: the From
# address and the Date header as written. A regenerated Mailman archive rewrites only archiving
# artefacts (the From_ line's date, scrubbed-attachment links), never these.
SenderKey = tuple[str | None, str | None]


def sender_key(from_address: str | None, date_header: str | None) -> SenderKey | None:
    """The (From, Date) key of a message; None when it has neither, as nothing then tells a copy
    from another message."""
    date = " ".join(date_header.split()) if date_header else None
    if from_address is None and not date:
        return None
    return from_address, date


def _entry_key(rows: list[tuple[str, dict[str, Any]]]) -> SenderKey | None:
    row = rows[0][1]  # message_entry puts the mail_messages row first
    return sender_key(row.get("from_address"), row.get("date_header"))


class Variants:
    """The stored messages of one Message-ID: by content digest and by (From, Date) key."""

    __slots__ = ("by_digest", "by_key", "ids")

    def __init__(self) -> None:
        self.by_digest: dict[object, str] = {}
        self.by_key: dict[SenderKey, str] = {}
        self.ids = 0  # how many stored IDs (base and #dupN): the next is #dup<ids>

    def add(self, digest: object, key: SenderKey | None, message_id: str, new_id: bool = True) -> None:
        self.by_digest.setdefault(digest, message_id)
        if key is not None:
            self.by_key.setdefault(key, message_id)
        self.ids += new_id

    def copy(self) -> Variants:
        v = Variants()
        v.by_digest, v.by_key, v.ids = dict(self.by_digest), dict(self.by_key), self.ids
        return v


class KnownMessages:
    """Messages of one list stored by earlier runs: (message_id, source_location, digest[,
    from_address, date_header]).

    An incremental source only reads what is new, so without these a message whose Message-ID an
    earlier run stored would replace that row instead of being kept as a duplicate. A message read
    again at the location it was stored from is the same message: it keeps its ID (the re-run
    replaces its rows). `digest` is None for rows stored before digests were recorded: such a copy
    never counts as identical to a new one (but may still be a copy by its From and Date)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.variants: dict[str, Variants] = {}  # base Message-ID -> its stored variants
        self.at: dict[str, str] = {}  # source location -> stored ID
        for message_id, location, digest, *sender in rows:
            base, sep, n = message_id.rpartition("#dup")
            if not (sep and n.isdigit()):
                base = message_id
            key = sender_key(*sender) if len(sender) == 2 else None
            # unknown digests get a key of their own: they still count in the #dup numbering
            self.variants.setdefault(base, Variants()).add(
                digest if digest is not None else ("?", message_id), key, message_id
            )
            self.at[location] = message_id


def dedup_rows(
    owner: dict[str, str],
    entries: Iterable[Entry],
    known: KnownMessages | Callable[[], KnownMessages] | None = None,
    digests: bool = False,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of `entries` after deduplication by Message-ID (see iter_list_rows); with
    `digests`, each kept message's rows end with its raw.mail_message_digests row.

    A later copy of a Message-ID is, against every earlier one (this run's, and those `known`
    holds): identical bytes -> skipped, `duplicate_identical`; else the same From address and Date
    header -> the same message re-archived (a regenerated Mailman archive), skipped,
    `duplicate_copy`; else another message -> kept as `<id>#dup<n>`, `duplicate_message_id`.

    `known` may be a function that loads them: it is called only once there is an entry, so a
    refresh that finds nothing new never reads the list's stored Message-IDs (a quarter of a
    second per 100,000 of them)."""
    entries = iter(entries)
    first = next(entries, None)
    if first is None:
        return
    entries = itertools.chain((first,), entries)
    if callable(known):
        known = known()
    # Message-ID -> (digest, key) of its first copy; Variants only for IDs seen more than once
    seen: dict[str, tuple[int, SenderKey | None]] = {}
    variants: dict[str, Variants] = {}
    stored = known.variants if known is not None else {}
    stored_at = known.at if known is not None else {}

    def digest_row(message_id: str, loc: str, digest: int) -> tuple[str, dict[str, Any]]:
        return MAIL_DIGESTS_TABLE, {
            **owner,
            "message_id": message_id,
            "source_location": loc,
            "digest": digest,
        }

    def issue(message_id: str, loc: str, check: str, detail: str) -> tuple[str, dict[str, Any]]:
        return (
            "mail_issues",
            {
                **owner,
                "message_id": message_id,
                "source_location": loc,
                "check_name": check,
                "detail": detail,
            },
        )

    def renamed(mid: str, new_id: str, loc: str, rows: list[tuple[str, dict[str, Any]]]) -> Iterator[Any]:
        for _table, row in rows:
            row["message_id"] = new_id
        yield from rows
        yield issue(new_id, loc, "duplicate_message_id", f"Message-ID {mid} seen before with other content")

    for mid, digest, loc, rows in entries:
        if mid is None:
            yield from rows
            continue
        key = _entry_key(rows)
        if mid in stored:
            again = stored_at.get(loc)
            if again is not None and again in stored[mid].by_digest.values():
                # read again where it was stored from: the same message, which keeps its ID (and
                # its issues, since the re-run replaces them)
                seen.setdefault(mid, (digest, key))
                known_ids = variants.setdefault(mid, stored[mid].copy())
                known_ids.add(digest, key, again, new_id=False)
                yield from rows if again == mid else renamed(mid, again, loc, rows)
                if digests:
                    yield digest_row(again, loc, digest)
                continue
        first = seen.get(mid)
        if first is None:
            seen[mid] = (digest, key)
            if mid not in stored:
                yield from rows
                if digests:
                    yield digest_row(mid, loc, digest)
                continue
            known_ids = variants[mid] = stored[mid].copy()
        else:
            known_ids = variants.get(mid)
            if known_ids is None:
                known_ids = variants[mid] = Variants()
                known_ids.add(first[0], first[1], mid)
        if digest in known_ids.by_digest:
            yield issue(known_ids.by_digest[digest], loc, "duplicate_identical", "identical copy skipped")
            continue
        if key is not None and key in known_ids.by_key:
            # the same message archived again with other artefacts: later identical copies of
            # these bytes are its copies too
            same = known_ids.by_key[key]
            known_ids.add(digest, key, same, new_id=False)
            yield issue(same, loc, "duplicate_copy", "copy with the same Message-ID, From and Date skipped")
            continue
        new_id = f"{mid}#dup{known_ids.ids}"
        known_ids.add(digest, key, new_id)
        yield from renamed(mid, new_id, loc, rows)
        if digests:
            yield digest_row(new_id, loc, digest)


def parse_workers(lst: MailingListConfig) -> int:
    """How many processes parse a list: option `parse_workers`, else COMMSTATS_MAIL_WORKERS, else
    two where the machine has two cores (a source too small to gain is still parsed in-process:
    see extractors.mail.parallel). The rows are the same for any number."""
    value = lst.options.parse_workers or os.environ.get(WORKERS_ENV, "")
    if value in ("", None):
        return min(2, os.cpu_count() or 1)
    try:
        workers = int(value)
    except (TypeError, ValueError):
        raise SourceError(
            f"mailing list '{lst.name}': parse_workers must be a whole number, not '{value}'"
        ) from None
    return max(1, workers)


def _entries(
    owner: dict[str, str],
    lst: MailingListConfig,
    messages: Iterable[RawMessage | SourceProblem],
    workers: int,
) -> Iterator[Entry]:
    now = utc_now()
    if workers > 1:
        from extractors.mail import parallel

        if lst.kind == "mbox":
            files, escaping = mbox_files(lst)
            # forking costs more than it saves on small archives
            if sum(f.stat().st_size for f in files) >= parallel.MIN_PARALLEL_BYTES:
                limits = mail_limits(lst)
                return parallel.mbox_entries(
                    owner, files, escaping, workers, parallel.BLOCK_SIZE, now, limits
                )
        else:
            return parallel.message_entries(owner, messages, workers, parallel.BLOCK_SIZE, now)
    return iter_entries(owner, messages, now)


def ingest_mailing_list(
    warehouse: Path,
    project: str,
    lst: MailingListConfig,
    cache_dir: Path,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Read, parse and load one mailing list; replaces the list's rows in one transaction.

    Returns the list's row count per raw mail table. Raises SourceError (one line naming the
    list and the path) when the source cannot be read at all."""
    from extractors.mail.incremental import deleted_message_id, load_known, source_kwargs
    from extractors.schema import MAIL_TABLES

    Spool, publish = _loading("Spool"), _loading("publish")  # noqa: N806
    workers = parse_workers(lst)
    # incremental kinds (public-inbox, nntp) get their stored cursors and publish by key
    extra, book = source_kwargs(warehouse, project, lst)
    messages = get_source(lst.kind)(lst, Path(cache_dir), **extra)
    # an incremental run deduplicates against what earlier runs stored, and records digests
    known = (
        functools.partial(load_known, warehouse, project, lst.name)
        if book is not None and book.incremental
        else None
    )
    owner = {"project": project, "list_name": lst.name}
    spool = Spool()
    try:
        # the list's own addresses, from the config: replaced with the list's other rows
        for table, row in list_address_rows(project, lst):
            spool.add(table, row)
        if book is not None:
            messages = book.divert(messages, spool, deleted_message_id)
        count = 0
        entries = _entries(owner, lst, messages, workers)
        for table, row in dedup_rows(owner, entries, known, digests=book is not None):
            spool.add(table, row)
            if table == "mail_messages":
                count += 1
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(count)
        if progress is not None:
            progress(count)
        if book is not None:
            book.finish(spool)
            return publish(warehouse, spool, owner=owner, **book.publish_args())
        return publish(warehouse, spool, MAIL_TABLES, owner)
    finally:
        spool.cleanup()
