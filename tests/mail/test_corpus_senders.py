"""The effective sender on a real Mailman list that rewrites senders for DMARC: the Linux bridge
list on lore (4,710 messages, 855 of them `"Jane Doe via Bridge" <bridge@lists.linux-foundation.org>`
with the sender in Reply-To). Every expected number is computed here, independently of the
extractors, with the stdlib `mailbox` and `email` packages."""

from __future__ import annotations

import contextlib
import gzip
import mailbox
import re
import shutil
from collections import defaultdict
from datetime import UTC
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

import pytest

from core.config import MailingListConfig
from extractors.identities.build import ingest_identities
from extractors.mail.ingest import ingest_mailing_list
from tests.dbt_helpers import query, run_dbt

ARCHIVE = "mail/lore/bridge.lists.linux-foundation.org.0.mbox.gz"
LIST = "bridge@lists.linux-foundation.org"
VIA = re.compile(r"^.+ via \S")


def _address(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    pairs = [(n, a) for n, a in getaddresses([value]) if "@" in a]
    if not pairs:
        return None
    name, addr = pairs[0]
    with contextlib.suppress(Exception):  # an undecodable name: the address is what matters here
        name = str(make_header(decode_header(name)))
    return name, addr.strip().lower()


def independent(path: Path, tmp: Path) -> dict[str, object]:
    """Per message: From, Reply-To, X-Original-From and the Date year, by the stdlib alone."""
    plain = tmp / "bridge.mbox"
    with gzip.open(path) as src, plain.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    rewritten = recovered = total = 0
    senders: dict[int, set[str]] = defaultdict(set)
    for msg in mailbox.mbox(str(plain)):
        total += 1
        sender = _address(msg.get("From"))
        effective = sender[1] if sender else None
        if sender and sender[1] == LIST:
            effective = None
            if VIA.match(sender[0]):
                rewritten += 1
            for header in ("X-Original-From", "Reply-To"):
                other = _address(msg.get(header))
                if other and other[1] != LIST:
                    effective = other[1]
                    recovered += 1
                    break
        date = msg.get("Date")
        if effective and date:
            try:
                year = parsedate_to_datetime(date).astimezone(UTC).year
            except (TypeError, ValueError):
                continue
            senders[year].add(effective)
    return {"total": total, "rewritten": rewritten, "recovered": recovered, "senders": senders}


def _dbt(warehouse: Path, target: Path) -> None:
    run_dbt(
        warehouse,
        target,
        *("build", "--select", "+int_addresses_resolved", "+stg_raw__mail_messages"),
        *("--indirect-selection", "cautious"),
        dbt_vars={},
    )


@pytest.fixture(scope="module")
def bridge(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("bridge")
    path = corpus / ARCHIVE
    folder = tmp / "list"
    folder.mkdir()
    (folder / path.name).symlink_to(path)
    wh = tmp / "wh.duckdb"
    lst = MailingListConfig(name="bridge", path=folder, addresses=[LIST])
    ingest_mailing_list(wh, "bridge", lst, tmp / "cache")
    ingest_identities(wh, [], [], [], [])
    _dbt(wh, tmp / "target")
    return {"warehouse": wh, "expected": independent(path, tmp)}


def test_the_independent_parse_sees_the_archive_of_the_index(bridge: dict[str, object]) -> None:
    expected = bridge["expected"]
    assert isinstance(expected, dict)
    assert expected["total"] == 4710  # INDEX.md
    assert expected["rewritten"] == 855  # INDEX.md


def test_recovered_senders(bridge: dict[str, object]) -> None:
    expected, wh = bridge["expected"], bridge["warehouse"]
    assert isinstance(expected, dict) and isinstance(wh, Path)
    (recovered,) = query(
        wh,
        "select count(*) from staging.stg_raw__mail_messages "
        "where sender_source in ('reply-to', 'x-original-from')",
    )[0:1]
    assert recovered[0] == expected["recovered"]
    # no stored effective sender is an address of the list
    assert query(
        wh,
        "select count(*) from staging.stg_raw__mail_messages m "
        "join staging.stg_raw__list_addresses l on l.address = m.from_address",
    ) == [(0,)]
    # and the list address is flagged, never a person
    assert query(
        wh, f"select is_bot, bot_reason from intermediate.int_addresses_resolved where address = '{LIST}'"
    ) == [(True, "list address")]


def test_distinct_senders_per_year(bridge: dict[str, object]) -> None:
    expected, wh = bridge["expected"], bridge["warehouse"]
    assert isinstance(expected, dict) and isinstance(wh, Path)
    rows = query(
        wh,
        "select year(sent_at), count(distinct from_address) from staging.stg_raw__mail_messages "
        "where from_address is not null and date_source = 'header' group by 1 order by 1",
    )
    senders = expected["senders"]
    assert isinstance(senders, dict)
    assert rows == [(year, len(senders[year])) for year in sorted(senders)]
