"""The remote sources through the ingest driver into a DuckDB warehouse: exact table counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

import extractors.mail.sources as sources
from core.config import MailingListConfig
from extractors.mail.errors import SourceError
from extractors.mail.ingest import ingest_mailing_list
from tests.mail_sources.http_server import Archive, ArchiveServer, serve
from tests.mail_sources.inbox_builder import Epoch, message
from tests.mail_sources.test_http_archive import gz, mbox
from tests.mail_sources.test_nntp import article, news  # noqa: F401  (fixture)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap the registered source so the test sees what the source itself yielded."""
    seen: list[str] = []
    for kind in ("public-inbox", "nntp"):
        inner = sources.get_source(kind)

        def wrapper(lst, cache_dir, state=None, _inner=inner):  # type: ignore[no-untyped-def]
            for item in _inner(lst, cache_dir, state):
                seen.append(type(item).__name__)
                yield item

        monkeypatch.setitem(sources.SOURCES, kind, wrapper)
    return seen


def table_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
            for t in (
                "mail_messages",
                "mail_trailers",
                "mail_quarantine",
                "mail_source_state",
                "mail_deletions",
            )
        }


def message_ids(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT message_id FROM raw.mail_messages ORDER BY 1").fetchall()]


def acked(n: int) -> bytes:
    return message(n) + b"\nAcked-by: A <a@example.com>\n"


@pytest.mark.parametrize("via", ["path", "file-url"])
def test_public_inbox_ingest_and_refresh(tmp_path: Path, counted: list[str], via: str) -> None:
    root = tmp_path / "inbox"
    e0, e1 = Epoch(root / "git" / "0.git"), Epoch(root / "git" / "1.git")
    for n in range(3):
        e0.add(acked(n) if n == 2 else message(n))
    e1.add(message(3))
    e1.delete(message(1))  # message 1 (in epoch 0) removed later, from epoch 1
    e1.add(b"no header block at all")  # quarantined, never fatal
    if via == "path":
        lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    else:
        lst = MailingListConfig(name="devel", kind="public-inbox", url=(root / "git").as_uri())
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"

    counts = ingest_mailing_list(wh, "proj", lst, cache)
    assert counted.count("RawMessage") == 5 and counted.count("DeletedMessage") == 1
    assert counts["mail_messages"] == 3
    assert table_counts(wh) == {
        "mail_messages": 3,
        "mail_trailers": 1,
        "mail_quarantine": 1,
        "mail_source_state": 2,
        "mail_deletions": 1,
    }
    assert message_ids(wh) == ["msg0@example.com", "msg2@example.com", "msg3@example.com"]

    # nothing new: the source reads nothing and the warehouse is unchanged
    counted.clear()
    ingest_mailing_list(wh, "proj", lst, cache)
    assert counted == []
    assert table_counts(wh)["mail_messages"] == 3

    # new messages in epoch 1, a new epoch 2, and the removal of message 0
    e1.add(message(4))
    e1.delete(message(0))
    Epoch(root / "git" / "2.git").add(message(5))
    counted.clear()
    ingest_mailing_list(wh, "proj", lst, cache)
    assert counted == ["RawMessage", "DeletedMessage", "SourceCursor", "RawMessage", "SourceCursor"]
    assert message_ids(wh) == ["msg2@example.com", "msg3@example.com", "msg4@example.com", "msg5@example.com"]
    assert table_counts(wh) == {
        "mail_messages": 4,
        "mail_trailers": 1,
        "mail_quarantine": 1,
        "mail_source_state": 3,
        "mail_deletions": 2,
    }

    # a full refresh reads everything again and ends with the same rows
    counted.clear()
    full = lst.model_copy(update={"options": lst.options.model_copy(update={"full_refresh": True})})
    ingest_mailing_list(wh, "proj", full, cache)
    assert counted.count("RawMessage") == 7 and counted.count("DeletedMessage") == 2
    assert message_ids(wh) == ["msg2@example.com", "msg3@example.com", "msg4@example.com", "msg5@example.com"]
    assert table_counts(wh)["mail_source_state"] == 3


def test_interrupted_run_does_not_advance_the_cursor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "inbox"
    e0 = Epoch(root / "git" / "0.git")
    e0.add(message(0))
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    ingest_mailing_list(wh, "proj", lst, cache)
    e0.add(message(1))

    import extractors.mail.ingest as ingest

    def failing_publish(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "publish", failing_publish)
    with pytest.raises(RuntimeError):
        ingest_mailing_list(wh, "proj", lst, cache)
    monkeypatch.undo()
    assert message_ids(wh) == ["msg0@example.com"]
    ingest_mailing_list(wh, "proj", lst, cache)  # the next run reads message 1 again
    assert message_ids(wh) == ["msg0@example.com", "msg1@example.com"]


def test_public_inbox_bad_path_is_one_clear_error(tmp_path: Path) -> None:
    lst = MailingListConfig(name="devel", kind="public-inbox", path=tmp_path / "missing")
    with pytest.raises(SourceError, match="devel.*path not found"):
        ingest_mailing_list(tmp_path / "wh.duckdb", "proj", lst, tmp_path / "cache")


def test_http_archive_ingest(tmp_path: Path) -> None:
    with serve(ArchiveServer()) as server:
        for m in (1, 2):
            server.archives[f"/pipermail/devel/2020-{['January', 'February'][m - 1]}.txt.gz"] = Archive(
                gz(mbox(2020, m, 2 + m))
            )
        server.archives["/pipermail/devel/2020-January.txt.gz"].script = ["drop", "503"]
        lst = MailingListConfig(
            name="devel",
            kind="http-archive",
            url=server.url("/pipermail/devel/{year}-{month_name}.txt.gz"),
            since=date(2020, 1, 1),
            until=date(2020, 3, 31),
            options={"backoff": 0.01},
        )
        wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
        counts = ingest_mailing_list(wh, "proj", lst, cache)
        assert counts["mail_messages"] == 3 + 4 and counts["mail_quarantine"] == 0
        before = server.count()
        counts = ingest_mailing_list(wh, "proj", lst, cache)  # full load from the cache
        assert counts["mail_messages"] == 7 and server.count() == before
    with duckdb.connect(str(wh), read_only=True) as con:
        addresses = {r[0] for r in con.execute("SELECT from_address FROM raw.mail_messages").fetchall()}
    assert "person0@example.com" in addresses  # pipermail's "at" obfuscation undone by the parser


def test_http_archive_bad_template(tmp_path: Path) -> None:
    lst = MailingListConfig(
        name="devel", kind="http-archive", url="http://127.0.0.1:9/{yaer}", since=date(2020, 1, 1)
    )
    with pytest.raises(SourceError, match="bad URL template"):
        ingest_mailing_list(tmp_path / "wh.duckdb", "proj", lst, tmp_path / "cache")


def test_nntp_ingest_and_refresh(tmp_path: Path, news, counted: list[str]) -> None:  # noqa: F811
    server, url = news
    for n in (1, 2, 3):
        server.articles[n] = article(n)
    lst = MailingListConfig(name="group", kind="nntp", url=url)
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    assert ingest_mailing_list(wh, "proj", lst, cache)["mail_messages"] == 3
    server.articles[4] = article(4)
    counted.clear()
    counts = ingest_mailing_list(wh, "proj", lst, cache)
    assert counted == ["RawMessage", "SourceCursor"]
    assert counts["mail_messages"] == 4
    assert table_counts(wh)["mail_source_state"] == 1
