"""The raw warehouse tables: one place that names every column and its DuckDB type.

Extractors yield rows as dicts keyed by these column names; the loader turns them into
Arrow batches with exactly these types, so a typo in an extractor fails loudly at load time.
All timestamps are naive UTC.
"""

from __future__ import annotations

RAW_SCHEMA = "raw"

# table -> ordered (column, duckdb type)
RAW_TABLES: dict[str, list[tuple[str, str]]] = {
    "mail_messages": [
        ("project", "VARCHAR"),
        ("list_name", "VARCHAR"),
        ("message_id", "VARCHAR"),  # without angle brackets, case preserved
        ("from_name", "VARCHAR"),
        ("from_address", "VARCHAR"),  # parsed, de-obfuscated, lower case; the raw value
        #                               lower-cased when it holds no address
        # Reply-To and X-Original-From, parsed like From: where a list rewrote From for DMARC
        # (`"Jane via Xen-devel" <list address>`) they hold the real sender
        ("reply_to_name", "VARCHAR"),
        ("reply_to_address", "VARCHAR"),
        ("original_from_name", "VARCHAR"),
        ("original_from_address", "VARCHAR"),
        ("sent_at", "TIMESTAMP"),  # UTC
        ("date_source", "VARCHAR"),  # header | from_line | received | none
        ("date_header", "VARCHAR"),  # the raw Date header as found
        ("subject", "VARCHAR"),  # decoded (RFC 2047), whitespace collapsed
        ("in_reply_to", "VARCHAR"),  # first Message-ID in In-Reply-To, no brackets
        ("references", "VARCHAR[]"),  # Message-IDs in References, in order
        ("is_patch", "BOOLEAN"),
        ("is_cover_letter", "BOOLEAN"),
        ("is_pull_request", "BOOLEAN"),
        ("is_rfc", "BOOLEAN"),
        ("is_resend", "BOOLEAN"),
        ("patch_version", "INTEGER"),  # 1 when the subject names no version
        ("patch_counter", "INTEGER"),  # m of [PATCH m/n]; null for a lone patch
        ("patch_total", "INTEGER"),  # n of [PATCH m/n]
        ("patch_id", "VARCHAR"),  # git patch-id --stable of the diff in the body, when any
        ("subject_normalized", "VARCHAR"),  # subject without tags and Re:, lower case
        ("body_bytes", "BIGINT"),
        ("source_location", "VARCHAR"),  # file:byte-offset, or epoch:commit
    ],
    "mail_trailers": [
        ("project", "VARCHAR"),
        ("list_name", "VARCHAR"),
        ("message_id", "VARCHAR"),
        ("kind", "VARCHAR"),  # acked-by | reviewed-by | tested-by | reported-by | suggested-by
        #                       | signed-off-by | co-developed-by | nacked-by
        ("name", "VARCHAR"),
        ("address", "VARCHAR"),  # lower case; null when the value holds none
        ("raw_value", "VARCHAR"),
        ("position", "INTEGER"),  # 0-based order among the message's trailers
    ],
    "list_addresses": [
        # the addresses of each configured mailing list (posting address and its -bounces,
        # -owner and -request variants), flagged as list addresses, never people
        ("project", "VARCHAR"),
        ("list_name", "VARCHAR"),
        ("address", "VARCHAR"),  # lower case
        ("kind", "VARCHAR"),  # posting | bounces | owner | request
    ],
    "mail_quarantine": [
        ("project", "VARCHAR"),
        ("list_name", "VARCHAR"),
        ("source_location", "VARCHAR"),
        ("reason", "VARCHAR"),  # short code, e.g. no_headers, unparsable, truncated_archive
        ("detail", "VARCHAR"),
    ],
    "mail_issues": [
        # data-quality events on messages that were kept (counted in marts.data_quality)
        ("project", "VARCHAR"),
        ("list_name", "VARCHAR"),
        ("message_id", "VARCHAR"),
        ("source_location", "VARCHAR"),
        ("check_name", "VARCHAR"),  # missing_message_id | duplicate_message_id | duplicate_identical
        #                             | duplicate_copy (same Message-ID, From and Date, other bytes)
        #                             | date_from_line | date_received | date_missing | bad_charset
        ("detail", "VARCHAR"),
    ],
    "mail_source_state": [
        # how far each incremental mail source has read (public-inbox epoch -> last commit,
        # nntp group -> last article); written in the same transaction as the messages it covers
        ("project", "VARCHAR"),
        ("list_name", "VARCHAR"),
        ("source_key", "VARCHAR"),  # e.g. "epoch:0", "group:comp.emulators.misc"
        ("cursor", "VARCHAR"),
        ("updated_at", "TIMESTAMP"),
    ],
    "mail_message_digests": [
        # the content digest of each stored message of an incremental list, so that a later run
        # tells an identical copy of a stored Message-ID from a different message (METRICS.md)
        ("project", "VARCHAR"),
        ("list_name", "VARCHAR"),
        ("message_id", "VARCHAR"),
        ("source_location", "VARCHAR"),
        ("digest", "BIGINT"),  # length << 32 | CRC-32 of the message's bytes
    ],
    "mail_deletions": [
        # messages an archive removed (public-inbox `d` commits), kept as a record of what went
        ("project", "VARCHAR"),
        ("list_name", "VARCHAR"),
        ("message_id", "VARCHAR"),
        ("source_location", "VARCHAR"),
    ],
    "git_commits": [
        ("project", "VARCHAR"),
        ("repository", "VARCHAR"),
        ("sha", "VARCHAR"),
        ("author_name", "VARCHAR"),
        ("author_address", "VARCHAR"),  # lower case
        ("authored_at", "TIMESTAMP"),  # UTC
        ("author_tz_offset", "INTEGER"),  # minutes east of UTC
        ("committer_name", "VARCHAR"),
        ("committer_address", "VARCHAR"),
        ("committed_at", "TIMESTAMP"),
        ("committer_tz_offset", "INTEGER"),
        ("is_merge", "BOOLEAN"),
        ("parent_count", "INTEGER"),
        ("subject", "VARCHAR"),
        ("patch_id", "VARCHAR"),  # git patch-id --stable over the in-scope diff; null for merges
        ("files_changed", "INTEGER"),  # in-scope files
        ("lines_added", "INTEGER"),  # in-scope files
        ("lines_removed", "INTEGER"),
    ],
    "git_file_changes": [
        ("project", "VARCHAR"),
        ("repository", "VARCHAR"),
        ("sha", "VARCHAR"),
        ("path", "VARCHAR"),
        ("old_path", "VARCHAR"),  # set on renames and copies
        ("change_type", "VARCHAR"),  # A | M | D | R | C | T
        ("lines_added", "INTEGER"),
        ("lines_removed", "INTEGER"),
        ("is_binary", "BOOLEAN"),
    ],
    "git_trailers": [
        ("project", "VARCHAR"),
        ("repository", "VARCHAR"),
        ("sha", "VARCHAR"),
        ("kind", "VARCHAR"),  # lower case trailer key, e.g. signed-off-by, acked-by, link
        ("name", "VARCHAR"),
        ("address", "VARCHAR"),
        ("raw_value", "VARCHAR"),
        ("position", "INTEGER"),
    ],
    "identity_aliases": [
        # address -> the person it belongs to (from .mailmap and alias files)
        ("address", "VARCHAR"),
        ("canonical_address", "VARCHAR"),
        ("canonical_name", "VARCHAR"),
        ("source", "VARCHAR"),  # file the rule came from
        # set for .mailmap lines naming a commit name: the row applies only to events whose
        # name (case-insensitive) AND address match, per event (git's semantics)
        ("match_name", "VARCHAR"),
    ],
    "identity_affiliations": [
        # explicit affiliations: an address or a whole domain -> organization, optionally dated
        ("address", "VARCHAR"),
        ("domain", "VARCHAR"),
        ("organization", "VARCHAR"),
        ("valid_from", "DATE"),
        ("valid_until", "DATE"),
        ("source", "VARCHAR"),  # file (and line) the rule came from
    ],
    "address_domains": [
        # every address seen, with its registrable domain from the public suffix list
        ("address", "VARCHAR"),
        ("domain", "VARCHAR"),
        ("registrable_domain", "VARCHAR"),
    ],
    "git_quarantine": [
        ("project", "VARCHAR"),
        ("repository", "VARCHAR"),
        ("sha", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("detail", "VARCHAR"),
    ],
}

# The columns that say which source a row belongs to: a load replaces exactly these rows.
MAIL_OWNER = ("project", "list_name")
GIT_OWNER = ("project", "repository")
MAIL_TABLES = ("mail_messages", "mail_trailers", "mail_quarantine", "mail_issues", "list_addresses")
# Per-list bookkeeping of incremental sources, published next to MAIL_TABLES.
MAIL_STATE_TABLE = "mail_source_state"
MAIL_DELETIONS_TABLE = "mail_deletions"
MAIL_DIGESTS_TABLE = "mail_message_digests"
GIT_TABLES = ("git_commits", "git_file_changes", "git_trailers", "git_quarantine")
IDENTITY_TABLES = ("identity_aliases", "identity_affiliations", "address_domains")


def create_table_sql(table: str) -> str:
    cols = ", ".join(f'"{name}" {typ}' for name, typ in RAW_TABLES[table])
    return f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{table} ({cols})"


def ensure_raw_tables(con) -> None:  # con: duckdb.DuckDBPyConnection
    # one look at the catalog first: every statement on a DuckLake is a transaction of its own
    # (a round of catalog queries), even one that changes nothing, and every load calls this
    present = set(
        con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = ?",
            [RAW_SCHEMA],
        ).fetchall()
    )
    tables = {table for table, _ in present}
    if not tables:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for table, columns in RAW_TABLES.items():
        if table not in tables:
            con.execute(create_table_sql(table))
            continue
        # a warehouse written before a column existed gains it (NULL in its old rows), so a
        # later load can insert every column
        for name, typ in columns:
            if (table, name) not in present:
                con.execute(f'ALTER TABLE {RAW_SCHEMA}.{table} ADD COLUMN IF NOT EXISTS "{name}" {typ}')
