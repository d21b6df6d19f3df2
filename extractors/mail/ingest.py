"""Mail ingestion driver: source -> parse (extractors.mail.rows, in worker processes for a large
source: extractors.mail.parallel) -> deduplicate (extractors.mail.dedup) -> Parquet spool -> one-transaction
publish; incremental sources keep their cursors through extractors.mail.incremental."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from core.config import MailingListConfig
from core.warehouse import Warehouse, lake_session
from extractors.load import Spool, publish
from extractors.mail import parallel
from extractors.mail.dedup import dedup_rows
from extractors.mail.errors import SourceError
from extractors.mail.incremental import deleted_message_id, load_known, source_kwargs
from extractors.mail.limits import mail_limits
from extractors.mail.lists import list_address_rows
from extractors.mail.parse import utc_now
from extractors.mail.raw import RawMessage, SourceProblem
from extractors.mail.rows import Entry, iter_entries
from extractors.mail.sources import get_source, mbox_files
from extractors.schema import MAIL_TABLES

__all__ = ["ingest_mailing_list", "parse_workers"]

PROGRESS_EVERY = 1000
WORKERS_ENV = "COMMSTATS_MAIL_WORKERS"


def parse_workers(lst: MailingListConfig, default: int | None = None) -> int:
    """How many processes parse a list: option `parse_workers`, else COMMSTATS_MAIL_WORKERS, else
    `default` (what the caller's share of the cores is), else two where the machine has two cores
    (a source too small to gain is still parsed in-process: see extractors.mail.parallel). The
    rows are the same for any number."""
    value = lst.options.parse_workers or os.environ.get(WORKERS_ENV, "")
    if value in ("", None):
        return default if default is not None else min(2, os.cpu_count() or 1)
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
    warehouse: Warehouse,
    project: str,
    lst: MailingListConfig,
    cache_dir: Path,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> dict[str, int]:
    """Read, parse and load one mailing list; replaces the list's rows in one transaction.

    `workers`: the parse processes when neither the list's option nor the environment sets them.
    Returns the list's row count per raw mail table. Raises SourceError (one line naming the
    list and the path) when the source cannot be read at all."""
    # one DuckLake attach for the list's cursors, known messages and commit (a DuckDB file: as before)
    with lake_session(warehouse):
        return _ingest(warehouse, project, lst, cache_dir, progress, parse_workers(lst, workers))


class StoredLookup:
    """The stored messages of one list that dedup_rows asks for (load_known), chunk by chunk;
    once the list is found to have none (its first build), the other chunks ask nothing (a
    connection and a scan, a quarter of a second, per chunk)."""

    def __init__(self, warehouse: Warehouse, project: str, list_name: str) -> None:
        self.warehouse, self.project, self.list_name = warehouse, project, list_name
        self.none_stored = False

    def __call__(self, message_ids: set[str]) -> list[tuple[Any, ...]]:
        if self.none_stored:
            return []
        rows, any_stored = load_known(self.warehouse, self.project, self.list_name, message_ids)
        self.none_stored = not any_stored
        return rows


def _ingest(
    warehouse: Warehouse,
    project: str,
    lst: MailingListConfig,
    cache_dir: Path,
    progress: Callable[[int], None] | None,
    workers: int,
) -> dict[str, int]:
    # incremental kinds (public-inbox, nntp) get their stored cursors and publish by key
    extra, book = source_kwargs(warehouse, project, lst)
    messages = get_source(lst.kind)(lst, Path(cache_dir), **extra)
    # an incremental run deduplicates against what earlier runs stored, and records digests
    known = StoredLookup(warehouse, project, lst.name) if book is not None and book.incremental else None
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
