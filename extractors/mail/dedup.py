"""De-duplication of one list's messages by Message-ID (METRICS.md), against this run and,
for incremental sources, against the messages earlier runs stored."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from core.config import MailingListConfig
from extractors.mail.parse import utc_now
from extractors.mail.raw import RawMessage, SourceProblem
from extractors.mail.rows import Entry, iter_entries
from extractors.schema import MAIL_DIGESTS_TABLE


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


# What makes two copies of one Message-ID the same message although their bytes differ: the From
# address and the Date header as written. A regenerated Mailman archive rewrites only archiving
# artefacts (the From_ line's date, scrubbed-attachment links), never these.
SenderKey = tuple[str | None, str | None]

# The suffix of a kept duplicate's ID (`<id>#dup<n>`), as a regular expression for SQL
DUP_SUFFIX = "#dup[0-9]+$"
# Entries deduplicated per lookup of the stored messages their Message-IDs name
LOOKUP_EVERY = 20_000

# The stored rows (KnownMessages' shape) of the asked base Message-IDs
KnownLookup = Callable[[set[str]], Iterable[tuple[Any, ...]]]


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

    def __init__(self, rows: Iterable[tuple[Any, ...]] = ()) -> None:
        self.variants: dict[str, Variants] = {}  # base Message-ID -> its stored variants
        self.at: dict[str, str] = {}  # source location -> stored ID
        self.extend(rows)

    def extend(self, rows: Iterable[tuple[Any, ...]]) -> None:
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


def _looked_up(entries: Iterator[Entry], lookup: KnownLookup, known: KnownMessages) -> Iterator[Entry]:
    """`entries`, with the stored messages of each chunk's Message-IDs added to `known` before
    the chunk is passed on."""
    asked: set[str] = set()
    while chunk := list(itertools.islice(entries, LOOKUP_EVERY)):
        new = {mid for mid, *_ in chunk if mid is not None and mid not in asked}
        if new:
            known.extend(lookup(new))
            asked |= new
        yield from chunk


def dedup_rows(
    owner: dict[str, str],
    entries: Iterable[Entry],
    known: KnownMessages | KnownLookup | None = None,
    digests: bool = False,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of `entries` after deduplication by Message-ID (see iter_list_rows); with
    `digests`, each kept message's rows end with its raw.mail_message_digests row.

    A later copy of a Message-ID is, against every earlier one (this run's, and those `known`
    holds): identical bytes -> skipped, `duplicate_identical`; else the same From address and Date
    header -> the same message re-archived (a regenerated Mailman archive), skipped,
    `duplicate_copy`; else another message -> kept as `<id>#dup<n>`, `duplicate_message_id`.

    `known` may be a function that loads the stored messages of the Message-IDs it is given: it
    is asked for every LOOKUP_EVERY entries' IDs before they are deduplicated, so a refresh reads
    only the stored messages its new ones name, and one that finds nothing new reads none."""
    if callable(known):
        lookup, known = known, KnownMessages()
        entries = _looked_up(iter(entries), lookup, known)
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
