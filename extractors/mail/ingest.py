"""Mail ingestion driver: source -> parse -> deduplicate -> Parquet spool -> one-transaction publish."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from commstats.config import MailingListConfig
from extractors.mail.parse import ParsedMessage, Rejected, parse_message, utc_now
from extractors.mail.raw import RawMessage, SourceProblem
from extractors.mail.sources import SOURCES, get_source

__all__ = ["SOURCES", "ingest_mailing_list", "iter_list_rows"]

PROGRESS_EVERY = 1000
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
    # Python's own 64-bit hash of the bytes (SipHash, stable within one process, which is all the
    # dedup state lives for) tells identical from different copies of one Message-ID at a third
    # of SHA-1's cost; a collision within one list (odds ~2**-64 per pair) is acceptable here.
    return hash(data)


def iter_list_rows(
    project: str, lst: MailingListConfig, messages: Iterable[RawMessage | SourceProblem]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) for every message, trailer, issue and rejection of one list.

    Deduplication (METRICS.md): the same Message-ID with identical bytes is one message plus a
    `duplicate_identical` issue; with different bytes the later copy is kept as `<id>#dup<n>`
    with a `duplicate_message_id` issue. State is one small entry per Message-ID.
    """
    now = utc_now()

    def parsed() -> Iterator[SourceProblem | tuple[ParsedMessage | Rejected, int]]:
        for item in messages:
            if isinstance(item, SourceProblem):
                yield item
            else:
                yield parse_message(item, now), _digest(item.data)

    return _list_rows(project, lst, parsed())


def _list_rows(
    project: str,
    lst: MailingListConfig,
    items: Iterable[SourceProblem | tuple[ParsedMessage | Rejected, int]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """iter_list_rows once each message is parsed: items are problems or (parsed, _digest(bytes))."""
    owner = {"project": project, "list_name": lst.name}
    seen: dict[str, int] = {}
    variants: dict[str, dict[int, str]] = {}  # only for Message-IDs seen with several contents
    for item in items:
        if isinstance(item, SourceProblem):
            yield (
                "mail_quarantine",
                {
                    **owner,
                    "source_location": item.location,
                    "reason": item.reason,
                    "detail": item.detail,
                },
            )
            continue
        parsed, digest = item
        if isinstance(parsed, Rejected):
            yield (
                "mail_quarantine",
                {
                    **owner,
                    "source_location": parsed.location,
                    "reason": parsed.reason,
                    "detail": parsed.detail,
                },
            )
            continue
        yield from _rows(owner, parsed, digest, seen, variants)


def _rows(
    owner: dict[str, str],
    parsed: ParsedMessage,
    digest: int,
    seen: dict[str, int],
    variants: dict[str, dict[int, str]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    row = parsed.row
    mid = row["message_id"]
    loc = row["source_location"]
    first = seen.get(mid)
    if first is None:
        seen[mid] = digest
    else:
        known = variants.setdefault(mid, {first: mid})
        if digest in known:
            yield (
                "mail_issues",
                {
                    **owner,
                    "message_id": known[digest],
                    "source_location": loc,
                    "check_name": "duplicate_identical",
                    "detail": "identical copy skipped",
                },
            )
            return
        new_id = f"{mid}#dup{len(known)}"
        known[digest] = new_id
        row["message_id"] = new_id
        parsed.issues.append(("duplicate_message_id", f"Message-ID {mid} seen before with other content"))
    final_id = row["message_id"]
    yield "mail_messages", {**owner, **row}
    for t in parsed.trailers:
        yield "mail_trailers", {**owner, "message_id": final_id, **t}
    for check, detail in parsed.issues:
        yield (
            "mail_issues",
            {
                **owner,
                "message_id": final_id,
                "source_location": loc,
                "check_name": check,
                "detail": detail,
            },
        )


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
    from extractors.mail.incremental import deleted_message_id, source_kwargs
    from extractors.schema import MAIL_TABLES

    Spool, publish = _loading("Spool"), _loading("publish")  # noqa: N806
    # incremental kinds (public-inbox, nntp) get their stored cursors and publish by key
    extra, book = source_kwargs(warehouse, project, lst)
    messages = get_source(lst.kind)(lst, Path(cache_dir), **extra)
    spool = Spool()
    try:
        if book is not None:
            messages = book.divert(messages, spool, deleted_message_id)
        count = 0
        for table, row in iter_list_rows(project, lst, messages):
            spool.add(table, row)
            if table == "mail_messages":
                count += 1
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(count)
        if progress is not None:
            progress(count)
        owner = {"project": project, "list_name": lst.name}
        if book is not None:
            book.finish(spool)
            return publish(warehouse, spool, owner=owner, **book.publish_args())
        return publish(warehouse, spool, MAIL_TABLES, owner)
    finally:
        spool.cleanup()
