"""Bookkeeping for incremental mail sources (public-inbox, nntp): cursors and deletions.

An incremental source reads only what was added since its cursor, so its messages cannot be
published the usual way (replace every row of the list). Instead:

- the stored cursors (raw.mail_source_state, one row per source key: `epoch:0`,
  `group:comp.x`) are handed to the source at the start of a run;
- the source yields `SourceCursor` records as it goes; the last value per key is spooled as a
  raw.mail_source_state row;
- the source yields `DeletedMessage` records for messages the archive removed; each becomes a
  raw.mail_deletions row (Message-ID derived from the removed message the same way as for added
  ones) and deletes that message's rows;
- a message whose Message-ID an earlier run stored is deduplicated against the stored messages
  exactly as against earlier messages of the same run (METRICS.md): an identical copy is skipped
  with a `duplicate_identical` issue, a copy with the same From and Date (other bytes) with a
  `duplicate_copy` issue, a different one is kept as `<id>#dup<n>`. The content
  digest of every stored message is kept in raw.mail_message_digests for that. A message read
  again at the location it was stored from (a re-read epoch, a retried run) keeps its ID, so a
  re-run replaces its rows and never duplicates them;
- publishing replaces rows by key (`replace_keys`: messages, trailers and digests by Message-ID,
  issues by Message-ID and location, quarantine by location, state by source key) and applies the deletions after the inserts
  (`delete_by`), all in the one transaction that also stores the new cursors. A run that fails
  before publishing leaves the cursors where they were, so nothing is skipped.

`options: {full_refresh: true}` on a list ignores the stored cursors and replaces the list's rows
as a whole: the way to rebuild after an archive was purged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb

from core.config import MailingListConfig
from core.warehouse import Warehouse, connect_for_write, warehouse_exists
from extractors.load import Spool
from extractors.mail.dedup import DUP_SUFFIX
from extractors.mail.parse import ParsedMessage, parse_message
from extractors.mail.raw import DeletedMessage, RawMessage, SourceCursor, SourceProblem
from extractors.schema import (
    MAIL_DELETIONS_TABLE,
    MAIL_DIGESTS_TABLE,
    MAIL_STATE_TABLE,
    MAIL_TABLES,
    RAW_SCHEMA,
)

INCREMENTAL_KINDS = frozenset({"public-inbox", "nntp"})
STATE_TABLES = (MAIL_STATE_TABLE, MAIL_DELETIONS_TABLE, MAIL_DIGESTS_TABLE)

REPLACE_KEYS: dict[str, tuple[str, ...]] = {
    "mail_messages": ("message_id",),
    "mail_trailers": ("message_id",),
    # by location too: a `duplicate_identical` issue names the stored message it copies, whose
    # own issues (from another location) must stay
    "mail_issues": ("message_id", "source_location"),
    "mail_quarantine": ("source_location",),
    MAIL_STATE_TABLE: ("source_key",),
    MAIL_DELETIONS_TABLE: ("message_id",),
    MAIL_DIGESTS_TABLE: ("message_id",),
}
DELETE_BY: dict[str, tuple[str, tuple[str, ...]]] = {
    table: (MAIL_DELETIONS_TABLE, ("message_id",))
    for table in ("mail_messages", "mail_trailers", "mail_issues", MAIL_DIGESTS_TABLE)
}


def deleted_message_id(data: bytes) -> str | None:
    """The Message-ID a removed message was stored under: parsed exactly as when it was added,
    so a message without one maps to the same synthetic ID."""
    parsed = parse_message(RawMessage(data, "deleted"))
    return parsed.row["message_id"] if isinstance(parsed, ParsedMessage) else None


def is_incremental(lst: MailingListConfig) -> bool:
    return lst.kind in INCREMENTAL_KINDS


def full_refresh(lst: MailingListConfig) -> bool:
    return bool(getattr(lst.options, "full_refresh", False))


def load_state(warehouse: Warehouse, project: str, list_name: str) -> dict[str, str]:
    """The stored cursors of one list; empty when there are none (or no warehouse yet)."""
    if not warehouse_exists(warehouse):
        return {}
    con = connect_for_write(warehouse)
    try:
        rows = con.execute(
            f"SELECT source_key, cursor FROM {RAW_SCHEMA}.{MAIL_STATE_TABLE} "
            "WHERE project = ? AND list_name = ?",
            [project, list_name],
        ).fetchall()
    except duckdb.CatalogException:  # a warehouse from before this table existed
        return {}
    finally:
        con.close()
    return {key: value for key, value in rows}


def load_known(
    warehouse: Warehouse, project: str, list_name: str, message_ids: Collection[str]
) -> tuple[list[tuple[Any, ...]], bool]:
    """The messages earlier runs stored for one list under these Message-IDs (their `#dup<n>`
    variants included), with their digests where recorded: the rows KnownMessages takes; and
    whether the list has any stored message at all.

    Only the asked IDs: a day's few hundred messages must not read the list's whole history
    (1.7 s per 250,000 stored messages)."""
    if not message_ids or not warehouse_exists(warehouse):
        return [], False
    asked = sorted(message_ids)
    # the base ID, as KnownMessages computes it; a stored ID that is itself asked matches too
    base = f"regexp_replace(m.message_id, '{DUP_SUFFIX}', '')"
    where = (
        "WHERE m.project = ? AND m.list_name = ? "
        f"AND (m.message_id IN (SELECT unnest(?)) OR {base} IN (SELECT unnest(?)))"
    )
    con = connect_for_write(warehouse)
    try:
        try:
            any_stored = con.execute(
                f"SELECT EXISTS (SELECT 1 FROM {RAW_SCHEMA}.mail_messages WHERE project = ? AND list_name = ?)",
                [project, list_name],
            ).fetchone()[0]
        except duckdb.CatalogException:  # no messages yet
            return [], False
        if not any_stored:
            return [], False
        try:
            rows = con.execute(
                "SELECT m.message_id, m.source_location, d.digest, m.from_address, m.date_header "
                f"FROM {RAW_SCHEMA}.mail_messages m "
                f"LEFT JOIN {RAW_SCHEMA}.{MAIL_DIGESTS_TABLE} d ON d.project = m.project "
                "AND d.list_name = m.list_name AND d.message_id = m.message_id " + where,
                [project, list_name, asked, asked],
            ).fetchall()
        except duckdb.CatalogException:  # a warehouse from before digests
            rows = con.execute(
                "SELECT message_id, source_location, NULL, from_address, date_header "
                f"FROM {RAW_SCHEMA}.mail_messages m " + where,
                [project, list_name, asked, asked],
            ).fetchall()
        return rows, True
    finally:
        con.close()


class Bookkeeping:
    """Turns cursor and deletion records into spooled rows, and says how to publish them."""

    def __init__(self, project: str, list_name: str, *, incremental: bool = True) -> None:
        self.project = project
        self.list_name = list_name
        self.incremental = incremental
        self.cursors: dict[str, str] = {}
        self.deleted = 0

    def take(
        self,
        item: object,
        spool: Spool,
        message_id_of: Callable[[bytes], str | None],
    ) -> bool:
        """Handle `item` if it is bookkeeping (True), else leave it to the caller (False)."""
        if isinstance(item, SourceCursor):
            self.cursors[item.key] = item.value
            return True
        if isinstance(item, DeletedMessage):
            message_id = message_id_of(item.data)
            if message_id:
                spool.add(
                    MAIL_DELETIONS_TABLE,
                    {
                        "project": self.project,
                        "list_name": self.list_name,
                        "message_id": message_id,
                        "source_location": item.location,
                    },
                )
                self.deleted += 1
            return True
        return False

    def divert(
        self,
        items: Iterable[object],
        spool: Spool,
        message_id_of: Callable[[bytes], str | None],
    ) -> Iterator[RawMessage | SourceProblem]:
        """`items` without the bookkeeping records, which are spooled on the way through."""
        for item in items:
            if not self.take(item, spool, message_id_of):
                yield item  # type: ignore[misc]  # a RawMessage or SourceProblem

    def finish(self, spool: Spool) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        for key, value in self.cursors.items():
            spool.add(
                MAIL_STATE_TABLE,
                {
                    "project": self.project,
                    "list_name": self.list_name,
                    "source_key": key,
                    "cursor": value,
                    "updated_at": now,
                },
            )

    def publish_args(self) -> dict[str, Any]:
        """Keyword arguments for extractors.load.publish (besides warehouse, spool and owner)."""
        args: dict[str, Any] = {"tables": (*MAIL_TABLES, *STATE_TABLES), "delete_by": DELETE_BY}
        if self.incremental:
            args["replace_keys"] = REPLACE_KEYS
        return args


def source_kwargs(
    warehouse: Warehouse, project: str, lst: MailingListConfig
) -> tuple[Mapping[str, Any], Bookkeeping | None]:
    """Extra arguments for the source function, and the bookkeeping for this list (None for the
    full-load kinds)."""
    if not is_incremental(lst):
        return {}, None
    if full_refresh(lst):
        return {"state": {}}, Bookkeeping(project, lst.name, incremental=False)
    return {"state": load_state(warehouse, project, lst.name)}, Bookkeeping(project, lst.name)
