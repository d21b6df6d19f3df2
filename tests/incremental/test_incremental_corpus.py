"""The incremental models on a real lore archive: messages imported late into threads of every
shape the archive has (References chains, replies by subject, DMARC rewrites, bots), then removed
again; after each refresh every model equals a full build of the same raw rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import MailingListConfig
from extractors.identities.build import ingest_identities
from extractors.mail.ingest import ingest_mailing_list
from tests.dbt_helpers import dbt_build, query
from tests.incremental.test_incremental_marts import built_whole_once, change, dbt_run, full_build_differences

pytestmark = [pytest.mark.corpus, pytest.mark.slow, pytest.mark.xdist_group("e2e")]

ARCHIVE = "kvm-ppc.vger.kernel.org"
# one message in twenty, chosen by a hash of its Message-ID: spread over every year and thread
LATE = "hash(message_id) % 20 = 0"


@pytest.fixture(scope="module")
def lore(corpus: Path, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("incremental-corpus")
    source = tmp / "source.duckdb"
    lst = MailingListConfig(
        name="kvm-ppc", kind="mbox", path=corpus / "mail" / "lore" / f"{ARCHIVE}.0.mbox.gz"
    )
    ingest_mailing_list(source, "p", lst, tmp / "cache")
    ingest_identities(source)
    dbt_build(source, tmp / "target-source", command="seed")
    change(
        source,
        f"create table main.late as select * from raw.mail_messages where {LATE}",
        f"delete from raw.mail_messages where {LATE}",
    )
    warehouse = built_whole_once(source, tmp / "lore.duckdb")
    change(
        warehouse,
        f"attach '{source}' as src (read_only)",
        "create table main.late as select * from src.main.late",
    )
    return {"warehouse": warehouse, "tmp": tmp}


def refresh(state: dict) -> None:
    output = dbt_run(state["warehouse"], state["tmp"] / "target")
    assert "full rebuild" not in output
    assert full_build_differences(state["warehouse"], state["tmp"] / "target-full") == {}


def test_late_messages_across_the_archive(lore: dict) -> None:
    warehouse: Path = lore["warehouse"]
    late = query(warehouse, "select count(*) from main.late")[0][0]
    assert late > 100
    change(warehouse, "insert into raw.mail_messages select * from main.late")
    refresh(lore)
    # every late message was threaded again, and so were messages already there
    rethreaded = query(
        warehouse,
        "select count(*), count(*) filter (where changed) from incremental_state.rethreaded_messages",
    )[0]
    assert rethreaded[1] == late
    assert rethreaded[0] > late
    # the late messages' acts were attributed, each one's `message` act among them
    assert query(
        warehouse,
        "select count(*) from incremental_state.new_acts as n join main.late as l "
        "on n.ref_id = l.list_name || ':' || l.message_id where n.event = 'message' and n.address is not null",
    ) == query(
        warehouse,
        "select count(*) from main.late as l join staging.stg_raw__mail_messages as s using "
        "(project, list_name, message_id) where s.from_address is not null",
    )


def test_the_same_messages_removed_again(lore: dict) -> None:
    warehouse: Path = lore["warehouse"]
    change(warehouse, f"delete from raw.mail_messages where {LATE}")
    refresh(lore)
    late = query(warehouse, "select count(*) from main.late")[0][0]
    assert query(
        warehouse, "select count(*) filter (where changed) from incremental_state.rethreaded_messages"
    ) == [(late,)]
