"""Monthly mailing-list archives over HTTP: Mailman 2 pipermail, GNU, HyperKitty exports.

`url` is a template expanded once per month of the range `since`..`until` (default: the current
month):

    {year}        2021
    {month}       an int, so a format spec works: {month:02} -> 03
    {month_name}  English month name, as pipermail names its files: March
    {start}       first day of the month, ISO: 2021-03-01   (HyperKitty export)
    {end}         first day of the next month: 2021-04-01

    https://lists.example.org/pipermail/LIST/{year}-{month_name}.txt.gz
    https://lists.gnu.org/archive/mbox/LIST/{year}-{month:02}
    https://lists.example.org/archives/list/LIST@example.org/export/LIST.mbox.gz?start={start}&end={end}

One request per month: never a long session a server might cut off (gmane closed connections
after 30 seconds), and a failure costs one month, not the list. Each request has timeouts and is
retried with exponential backoff on connection errors, 5xx and 429 (honouring Retry-After); a
transfer cut short resumes from the partial `.part` file with a `Range:` request (If-Range keeps
it from splicing two versions of a file that changed), falling back to a full download when the
server ignores Range. A 404 means the month has no archive. A month that still fails after every
retry yields SourceProblem(reason="download_failed") and the other months go on (when no month
at all can be had, the source fails with one line instead).

Downloads are cached as `cache_dir/http-archive/<url>/YYYY-MM.<ext>` with a small `YYYY-MM.json`
saying when and from where. A closed month fetched after its end (plus a grace period, since
archives file late-arriving mail by arrival time in the server's time zone) is never fetched
again; the current month, and a month last fetched while still open, is fetched again.

This source is a full load: every run reads every cached month (reading is local and cheap), so
the ingest driver replaces the list's rows as a whole.
"""

from __future__ import annotations

import email.utils
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from core.config import HttpArchiveOptions, MailingListConfig
from core.errors import clip, one_line
from extractors.mail.cachepath import source_cache_dir
from extractors.mail.errors import SourceError
from extractors.mail.limits import mail_limits
from extractors.mail.mbox import iter_mbox  # the shared mbox reader (compression, quirks)
from extractors.mail.raw import RawMessage, SourceProblem
from extractors.mail.sources import register

INCREMENTAL = False

# Not calendar.month_name: that follows the process locale, archive file names do not.
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

USER_AGENT = "commstats (mail archive statistics; +https://github.com/)"


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.end.year, self.end.month)


def months(since: date, until: date) -> Iterator[Month]:
    m, last = Month(since.year, since.month), Month(until.year, until.month)
    while (m.year, m.month) <= (last.year, last.month):
        yield m
        m = m.next()


def expand(template: str, month: Month) -> str:
    return template.format(
        year=month.year,
        month=month.month,
        month_name=MONTH_NAMES[month.month - 1],
        start=month.start.isoformat(),
        end=month.end.isoformat(),
    )


@dataclass(frozen=True, slots=True)
class MonthFile:
    """A month's archive as cached locally (`path` None: the server has no archive for it)."""

    month: Month
    url: str
    path: Path | None
    fetched: bool  # False when the cached copy was used without asking the server


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Fatal(Exception):
    """A status no retry will fix (403, 410, ...)."""


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _compression_suffix(head: bytes) -> str:
    # Named by content, not by URL: GNU's monthly files have no extension, and a server may
    # gzip a ".txt" on the fly. The mbox reader then sees an honest extension.
    if head.startswith(b"\x1f\x8b"):
        return ".gz"
    if head.startswith(b"BZh"):
        return ".bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return ".xz"
    return ""


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class MonthDownloader:
    """Downloads one month's archive into the cache, resumably, with retries."""

    def __init__(self, client: httpx.Client, directory: Path, options: HttpArchiveOptions) -> None:
        self.client = client
        self.directory = directory
        self.options = options

    def _wait(self) -> Callable[[RetryCallState], float]:
        backoff = wait_exponential(multiplier=self.options.backoff, max=self.options.max_backoff)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                return min(float(retry_after), self.options.max_backoff)
            return backoff(state)

        return wait

    def download(self, month: Month, url: str) -> Path | None:
        """The final cached file, or None on 404. Raises after the last failed attempt."""
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, httpx.TransportError | _Retryable)),
            stop=stop_after_attempt(self.options.retries),
            wait=self._wait(),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._attempt(month, url)
        raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises

    def _attempt(self, month: Month, url: str) -> Path | None:
        part = self.directory / f"{month.label}.part"
        part_meta = self.directory / f"{month.label}.part.json"
        offset = part.stat().st_size if part.exists() else 0
        saved = (_read_json(part_meta) or {}) if offset else {}
        if offset and saved.get("url") != url:
            offset, saved = 0, {}
        # identity: the bytes on disk must be the bytes the server counts for Range
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if saved.get("validator"):
                headers["If-Range"] = saved["validator"]
        with self.client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 404:
                return None
            if status == 416 and offset:
                # our partial file no longer fits the resource: start over
                part.unlink(missing_ok=True)
                raise _Retryable("range not satisfiable; restarting", retry_after=0)
            if status == 429 or status >= 500:
                raise _Retryable(
                    f"HTTP {status}", retry_after=_retry_after(response.headers.get("Retry-After"))
                )
            if status not in (200, 206):
                raise _Fatal(f"HTTP {status}")
            append = status == 206 and offset > 0 and self._range_start(response) == offset
            if status == 206 and not append:
                part.unlink(missing_ok=True)
                raise _Retryable("unexpected Content-Range; restarting", retry_after=0)
            if not append:
                validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
                _write_json(part_meta, {"url": url, "validator": validator})
            expected = response.headers.get("Content-Length")
            written = 0
            with part.open("ab" if append else "wb") as out:
                # no chunk_size: httpx would hold bytes back to fill a chunk, and lose them
                # when the connection drops, which is exactly when they are needed for resuming
                for chunk in response.iter_raw():
                    out.write(chunk)
                    written += len(chunk)
            if expected is not None and expected.isdigit() and written != int(expected):
                raise _Retryable(f"short read: {written} of {expected} bytes")
        return self._finish(month, part, part_meta)

    @staticmethod
    def _range_start(response: httpx.Response) -> int | None:
        # Content-Range: bytes 1000-1999/2000
        value = response.headers.get("Content-Range", "")
        try:
            return int(value.split()[1].split("-")[0])
        except (IndexError, ValueError):
            return None

    def _finish(self, month: Month, part: Path, part_meta: Path) -> Path:
        with part.open("rb") as fh:
            suffix = _compression_suffix(fh.read(6))
        final = self.directory / f"{month.label}.mbox{suffix}"
        for stale in self.directory.glob(f"{month.label}.mbox*"):
            if stale != final:
                stale.unlink(missing_ok=True)
        os.replace(part, final)
        part_meta.unlink(missing_ok=True)
        return final


def _client(options: HttpArchiveOptions) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(options.timeout),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
    )


def _fetch_and_record(downloader: MonthDownloader, month: Month, url: str, fetched_at: datetime) -> MonthFile:
    """Download one month now and record it in the month's metadata; raises on failure."""
    directory = downloader.directory
    meta_path = directory / f"{month.label}.json"
    meta = _read_json(meta_path) or {}
    cached = directory / meta["file"] if meta.get("file") else None
    path = downloader.download(month, url)
    if path is None and cached is not None:
        cached.unlink(missing_ok=True)  # the archive is gone; do not read a stale copy
    _write_json(
        meta_path,
        {
            "url": url,
            "status": 404 if path is None else 200,
            "file": path.name if path else None,
            "fetched_at": fetched_at.isoformat(),
            "bytes": path.stat().st_size if path else 0,
        },
    )
    return MonthFile(month, url, path, fetched=True)


def download_archives(
    lst: MailingListConfig,
    cache_dir: Path,
    *,
    client: httpx.Client | None = None,
    now: datetime | None = None,
) -> Iterator[MonthFile | SourceProblem]:
    """Bring every month of the range into the cache; yield each month's file as it is ready."""
    if not lst.url:
        raise ValueError(f"mailing list '{lst.name}': kind http-archive needs 'url'")
    if lst.since is None:
        raise ValueError(f"mailing list '{lst.name}': kind http-archive needs 'since' (first month)")
    options = _list_options(lst)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    grace = timedelta(hours=options.closed_grace_hours)
    until = lst.until or now.date()
    directory = source_cache_dir(cache_dir, "http-archive", lst.url)
    directory.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    if client is None:
        client = _client(options)
    downloader = MonthDownloader(client, directory, options)
    try:
        for month in months(lst.since, until):
            url = expand(lst.url, month)
            meta = _read_json(directory / f"{month.label}.json") or {}
            month_end = datetime.combine(month.end, datetime.min.time())
            cached = directory / meta["file"] if meta.get("file") else None
            closed_when_fetched = (
                meta.get("url") == url
                and "fetched_at" in meta
                and datetime.fromisoformat(meta["fetched_at"]) >= month_end + grace
            )
            if closed_when_fetched and (cached is None or cached.exists()):
                yield MonthFile(month, url, cached, fetched=False)
                continue
            fetched_at = datetime.now(UTC).replace(tzinfo=None) if now is None else now
            try:
                yield _fetch_and_record(downloader, month, url, fetched_at)
            except (httpx.HTTPError, _Retryable, _Fatal, OSError) as exc:
                yield SourceProblem(url, "download_failed", f"{month.label}: {type(exc).__name__}: {exc}")
                # An older copy (e.g. the current month fetched on an earlier run) is still
                # better than dropping that month's messages from a full load.
                if cached is not None and cached.exists() and meta.get("url") == url:
                    yield MonthFile(month, url, cached, fetched=False)
    finally:
        if own_client:
            client.close()


def refetch_month(
    lst: MailingListConfig,
    cache_dir: Path,
    month: Month,
    *,
    client: httpx.Client | None = None,
) -> MonthFile:
    """Download one month again, closed or not (a month re-run from the UI, a corrected archive).

    Raises SourceError, one line naming the list and month, when the month is outside the list's
    range or cannot be downloaded after every retry; the cached copy is then left as it was.
    """
    if not lst.url or lst.since is None:
        raise SourceError(f"mailing list '{lst.name}': kind http-archive needs 'url' and 'since'")
    first = Month(lst.since.year, lst.since.month)
    last_day = lst.until or datetime.now(UTC).date()
    last = Month(last_day.year, last_day.month)
    if not (first.start <= month.start <= last.start):
        raise SourceError(
            f"mailing list '{lst.name}': month {month.label} is outside its range "
            f"{first.label}..{last.label} (since/until in the config)"
        )
    options = _list_options(lst)
    directory = source_cache_dir(cache_dir, "http-archive", lst.url)
    directory.mkdir(parents=True, exist_ok=True)
    url = expand(lst.url, month)
    own = client is None
    http = _client(options) if client is None else client
    try:
        return _fetch_and_record(
            MonthDownloader(http, directory, options), month, url, datetime.now(UTC).replace(tzinfo=None)
        )
    except (httpx.HTTPError, _Retryable, _Fatal, OSError) as exc:
        raise SourceError(
            f"mailing list '{lst.name}': month {month.label} from {url}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        if own:
            http.close()


def iter_http_archive(
    lst: MailingListConfig,
    cache_dir: Path,
    *,
    client: httpx.Client | None = None,
    now: datetime | None = None,
) -> Iterator[RawMessage | SourceProblem]:
    """Every message of every month in the range, month by month, oldest first."""
    limits = mail_limits(lst)
    problems: list[SourceProblem] = []
    months_read = 0
    for item in download_archives(lst, cache_dir, client=client, now=now):
        if isinstance(item, SourceProblem):
            problems.append(item)
        else:
            months_read += 1
            if item.path is not None:
                yield from iter_mbox(item.path, limits=limits)
    if problems and not months_read:
        # not one month could be had: the archive is unreachable, and the source fails (its rows
        # stay) like an unreachable git repository, instead of loading zero messages
        raise SourceError(
            f"mailing list '{lst.name}': cannot download {clip(problems[0].location, 300)} "
            f"({one_line(problems[0].detail, 200)})"
        )
    # a month that failed among months that did not is quarantined; the others load
    yield from problems


@register("http-archive")
def http_archive_source(lst: MailingListConfig, cache_dir: Path) -> Iterator[RawMessage | SourceProblem]:
    """The registered source: checks the template and the range up front."""
    if not lst.url:
        raise SourceError(f"mailing list '{lst.name}': kind http-archive needs 'url'")
    if lst.since is None:
        raise SourceError(f"mailing list '{lst.name}': kind http-archive needs 'since' (first month)")
    try:
        expand(lst.url, Month(lst.since.year, lst.since.month))
    except (KeyError, IndexError, ValueError) as exc:
        raise SourceError(
            f"mailing list '{lst.name}': bad URL template {lst.url!r} ({type(exc).__name__}: {exc}); "
            "placeholders are {year}, {month}, {month_name}, {start}, {end}"
        ) from None
    return iter_http_archive(lst, cache_dir)


def _list_options(lst: MailingListConfig) -> HttpArchiveOptions:
    # a list built in code with another kind's options still reads with this kind's defaults
    return lst.options if isinstance(lst.options, HttpArchiveOptions) else HttpArchiveOptions()
