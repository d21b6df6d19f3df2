"""http-archive: monthly downloads from a loopback server, with every misbehaviour retried."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from core.config import MailingListConfig
from extractors.mail.http_archive import (
    MonthFile,
    download_archives,
    expand,
    iter_http_archive,
    months,
)
from extractors.mail.raw import RawMessage, SourceProblem
from tests.mail_sources.http_server import Archive, ArchiveServer, serve

MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August"]
FAST = {"backoff": 0.01, "max_backoff": 0.05, "retries": 4, "timeout": 10}


def mbox(year: int, month: int, count: int) -> bytes:
    out = []
    for i in range(count):
        out.append(
            f"From person{i} at example.com  Wed Jan  1 00:00:00 {year}\n"
            f"From: person{i} at example.com (Person {i})\n"
            f"Date: Wed, {i + 1:d} {MONTH_NAMES[month - 1][:3]} {year} 10:00:00 +0000\n"
            f"Subject: message {i} of {year}-{month:02}\n"
            f"Message-ID: <{year}{month:02}.{i}@example.com>\n"
            f"\n"
            f"Body {i} " + "padding " * 200 + "\n\n"
        )
    return "".join(out).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def config(url: str, since: date, until: date | None, **options: float) -> MailingListConfig:
    return MailingListConfig(
        name="devel",
        kind="http-archive",
        url=url,
        since=since,
        until=until,
        options={**FAST, **options},
    )


def collect(items: Iterator[MonthFile | SourceProblem]) -> tuple[dict[str, MonthFile], list[SourceProblem]]:
    files, problems = {}, []
    for item in items:
        if isinstance(item, SourceProblem):
            problems.append(item)
        else:
            files[item.month.label] = item
    return files, problems


# ---------------------------------------------------------------------------------------------
# URL templates


def test_expand_placeholders() -> None:
    (m,) = list(months(date(2021, 12, 5), date(2021, 12, 31)))
    assert expand("p/{year}-{month_name}.txt.gz", m) == "p/2021-December.txt.gz"
    assert expand("gnu/LIST/{year}-{month:02}", m) == "gnu/LIST/2021-12"
    assert expand("hk/export/L.mbox.gz?start={start}&end={end}", m) == (
        "hk/export/L.mbox.gz?start=2021-12-01&end=2022-01-01"
    )


def test_month_range_is_inclusive() -> None:
    labels = [m.label for m in months(date(2020, 11, 20), date(2021, 2, 1))]
    assert labels == ["2020-11", "2020-12", "2021-01", "2021-02"]


def test_needs_since() -> None:
    lst = MailingListConfig(name="l", kind="http-archive", url="http://127.0.0.1:1/{year}")
    with pytest.raises(ValueError, match="since"):
        list(download_archives(lst, Path("/nonexistent")))


# ---------------------------------------------------------------------------------------------
# Downloads


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    with serve(ArchiveServer()) as srv:
        yield srv


def pipermail(server: ArchiveServer) -> dict[str, bytes]:
    """Six months of 2020: plain, plain, 404, cut mid-transfer, 503 twice, cut + Range ignored."""
    bodies = {m: gz(mbox(2020, m, 3 + m)) for m in (1, 2, 4, 5, 6)}
    a = server.archives
    a["/pipermail/devel/2020-January.txt.gz"] = Archive(bodies[1])
    a["/pipermail/devel/2020-February.txt.gz"] = Archive(bodies[2])
    a["/pipermail/devel/2020-March.txt.gz"] = Archive(None)
    a["/pipermail/devel/2020-April.txt.gz"] = Archive(bodies[4], script=["drop"])
    a["/pipermail/devel/2020-May.txt.gz"] = Archive(bodies[5], script=["503", "503"])
    a["/pipermail/devel/2020-June.txt.gz"] = Archive(bodies[6], script=["drop"], ignore_range=True)
    return {f"2020-{m:02}": body for m, body in bodies.items()}


def test_download_retries_resumes_and_caches(server: ArchiveServer, tmp_path: Path) -> None:
    bodies = pipermail(server)
    lst = config(
        server.url("/pipermail/devel/{year}-{month_name}.txt.gz"), date(2020, 1, 1), date(2020, 6, 30)
    )

    files, problems = collect(download_archives(lst, tmp_path))
    assert problems == []
    assert sorted(files) == ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05", "2020-06"]
    assert files["2020-03"].path is None  # 404: no archive that month, not an error
    for label, body in bodies.items():
        path = files[label].path
        assert path is not None and path.name == f"{label}.mbox.gz"
        assert path.read_bytes() == body, label  # byte-identical, including the resumed one
    assert not list(files["2020-01"].path.parent.glob("*.part*"))

    april = [r for r in server.requests if "April" in r.path]
    assert len(april) == 2
    assert april[0].range is None
    half = len(bodies["2020-04"]) // 2
    assert april[1].range == f"bytes={half}-"  # resumed where the connection dropped
    assert april[1].if_range == '"v1"'
    assert server.count(lambda r: "May" in r.path) == 3  # 503, 503, 200
    assert server.count(lambda r: "June" in r.path) == 2  # cut, then a full 200 despite Range
    assert server.count() == 1 + 1 + 1 + 2 + 3 + 2

    # Every month is closed (fetched years after its end): a second run asks the server nothing.
    before = server.count()
    files2, problems2 = collect(download_archives(lst, tmp_path))
    assert problems2 == []
    assert server.count() == before
    assert not any(f.fetched for f in files2.values())
    assert {k: f.path for k, f in files2.items()} == {k: f.path for k, f in files.items()}


def test_failed_month_is_reported_and_others_complete(server: ArchiveServer, tmp_path: Path) -> None:
    for m in (1, 2, 3):
        server.archives[f"/gnu/devel/2020-{m:02}"] = Archive(mbox(2020, m, 2))
    server.archives["/gnu/devel/2020-02"].script = ["500"] * 10
    lst = config(server.url("/gnu/devel/{year}-{month:02}"), date(2020, 1, 1), date(2020, 3, 1), retries=3)

    files, problems = collect(download_archives(lst, tmp_path))
    assert [p.reason for p in problems] == ["download_failed"]
    assert "2020-02" in problems[0].detail and problems[0].location.endswith("/gnu/devel/2020-02")
    assert sorted(files) == ["2020-01", "2020-03"]
    assert files["2020-01"].path.name == "2020-01.mbox"  # not compressed: no suffix
    assert server.count(lambda r: r.path.endswith("2020-02")) == 3

    # The failed month is retried on the next run; the good ones are not fetched again.
    server.archives["/gnu/devel/2020-02"].script = []
    before = server.count()
    files, problems = collect(download_archives(lst, tmp_path))
    assert problems == []
    assert server.count() == before + 1
    assert [label for label, f in files.items() if f.fetched] == ["2020-02"]


def test_current_month_is_fetched_again_until_closed(server: ArchiveServer, tmp_path: Path) -> None:
    path = "/hk/export/devel.mbox.gz"
    server.archives[path + "?start=2020-05-01&end=2020-06-01"] = Archive(gz(mbox(2020, 5, 2)))
    server.archives[path + "?start=2020-06-01&end=2020-07-01"] = Archive(gz(mbox(2020, 6, 1)))
    lst = config(server.url(path + "?start={start}&end={end}"), date(2020, 5, 1), None)

    mid_june = datetime(2020, 6, 15, 12)
    collect(download_archives(lst, tmp_path, now=mid_june))
    assert server.count() == 2
    # June is the current month: fetched again, May is closed: not
    server.archives[path + "?start=2020-06-01&end=2020-07-01"] = Archive(gz(mbox(2020, 6, 3)), etag='"v2"')
    files, _ = collect(download_archives(lst, tmp_path, now=mid_june))
    assert server.count() == 3 and server.requests[-1].path.endswith("start=2020-06-01&end=2020-07-01")
    assert files["2020-06"].path.read_bytes() == gz(mbox(2020, 6, 3))

    # After the grace period June is closed, but the copy we have was taken while it was open:
    # fetched once more, then never again.
    lst_later = lst.model_copy(update={"until": date(2020, 6, 30)})
    collect(download_archives(lst_later, tmp_path, now=datetime(2020, 7, 3)))
    collect(download_archives(lst_later, tmp_path, now=datetime(2020, 7, 4)))
    assert server.count() == 4


def test_iter_http_archive_reads_messages(server: ArchiveServer, tmp_path: Path) -> None:
    pytest.importorskip("extractors.mail.mbox", reason="the shared mbox reader is not there yet")
    pipermail(server)
    lst = config(
        server.url("/pipermail/devel/{year}-{month_name}.txt.gz"), date(2020, 1, 1), date(2020, 6, 30)
    )
    items = list(iter_http_archive(lst, tmp_path))
    messages = [i for i in items if isinstance(i, RawMessage)]
    assert [i for i in items if isinstance(i, SourceProblem)] == []
    assert len(messages) == sum(3 + m for m in (1, 2, 4, 5, 6))
    assert b"Message-ID: <202004.6@example.com>" in messages[4 + 5 + 6].data


def test_unreachable_archive_fails_the_source(tmp_path: Path) -> None:
    import socket

    from extractors.mail.errors import SourceError

    with socket.socket() as s:  # a loopback port nothing listens on once released
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lst = config(
        f"http://127.0.0.1:{port}/devel/{{year}}-{{month:02}}", date(2020, 1, 1), date(2020, 2, 1), retries=1
    )
    with pytest.raises(SourceError) as info:
        list(iter_http_archive(lst, tmp_path))
    assert str(info.value).startswith(
        f"mailing list 'devel': cannot download http://127.0.0.1:{port}/devel/2020-01 (2020-01: ConnectError"
    )


def test_one_failed_month_among_good_ones_is_quarantined(server: ArchiveServer, tmp_path: Path) -> None:
    for m in (1, 2):
        server.archives[f"/gnu/devel/2020-{m:02}"] = Archive(mbox(2020, m, 2))
    server.archives["/gnu/devel/2020-02"].script = ["500"] * 10
    lst = config(server.url("/gnu/devel/{year}-{month:02}"), date(2020, 1, 1), date(2020, 2, 1), retries=2)
    items = list(iter_http_archive(lst, tmp_path))
    # January's two messages load; February's failure is one quarantine row
    assert [type(i).__name__ for i in items] == ["RawMessage"] * 2 + ["SourceProblem"]
    assert items[-1].reason == "download_failed"
