"""A newsgroup on an NNTP server (`url: nntp://host[:port]/group.name`, or nntps:// for TLS).

A minimal RFC 3977 reader client over a socket rather than the stdlib's nntplib, which is
deprecated and gone in Python 3.13. It needs only GROUP, LISTGROUP (to skip the holes expired
or cancelled articles leave; servers without it are read number by number) and ARTICLE.

Incremental by article number: `state["group:<name>"]` is the last article read; a run reads
the articles after it and ends with a SourceCursor. A dropped connection (servers do cut long
sessions) reconnects and continues where it stopped, a few times, before giving up with a
SourceProblem; whatever was read until then is kept and the cursor covers exactly that.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.config import MailingListConfig, NntpOptions
from core.errors import clip, one_line
from extractors.mail.errors import SourceError
from extractors.mail.raw import RawMessage, SourceCursor, SourceProblem
from extractors.mail.sources import register

INCREMENTAL = True

NntpItem = RawMessage | SourceCursor | SourceProblem

_MAX_LINE = 1 << 20  # a header or body line longer than this is a broken server, not mail


class NntpError(Exception):
    def __init__(self, code: int, line: str) -> None:
        super().__init__(line)
        self.code = code


@dataclass(frozen=True, slots=True)
class NntpUrl:
    host: str
    port: int
    group: str
    tls: bool
    netloc: str

    @classmethod
    def parse(cls, url: str) -> NntpUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("nntp", "news", "nntps", "snews") or not parts.hostname:
            raise ValueError(f"not an nntp://host[:port]/group URL: {url}")
        group = parts.path.strip("/")
        if not group or "/" in group:
            raise ValueError(f"NNTP URL names no single group: {url}")
        tls = parts.scheme in ("nntps", "snews")
        return cls(parts.hostname, parts.port or (563 if tls else 119), group, tls, parts.netloc)


class NntpClient:
    """Just enough of RFC 3977 to read one group."""

    def __init__(self, host: str, port: int, *, tls: bool = False, timeout: float = 60.0) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.file = sock.makefile("rwb")
        code, line = self._response()
        if code not in (200, 201):
            self.close()
            raise NntpError(code, line)
        # Some servers start in transit mode and only answer GROUP after MODE READER; those
        # that do not know the command answer 5xx, which is harmless.
        self.command("MODE READER")

    def close(self) -> None:
        # best effort: the connection may already be gone, which is why we are closing
        with contextlib.suppress(OSError):
            self.file.write(b"QUIT\r\n")
            self.file.flush()
        for closable in (self.file, self.sock):
            with contextlib.suppress(OSError):
                closable.close()

    def __enter__(self) -> NntpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _readline(self) -> bytes:
        line = self.file.readline(_MAX_LINE + 1)
        if not line:
            raise ConnectionError("connection closed by server")
        if len(line) > _MAX_LINE:
            raise ConnectionError("line too long")
        return line

    def _response(self) -> tuple[int, str]:
        line = self._readline().decode("utf-8", "replace").rstrip("\r\n")
        try:
            return int(line[:3]), line
        except ValueError:
            raise ConnectionError(f"not an NNTP response: {line[:80]!r}") from None

    def command(self, cmd: str) -> tuple[int, str]:
        self.file.write(cmd.encode("utf-8") + b"\r\n")
        self.file.flush()
        return self._response()

    def _multiline(self) -> Iterator[bytes]:
        while True:
            line = self._readline()
            if line in (b".\r\n", b".\n"):
                return
            if line.startswith(b".."):  # dot-stuffing
                line = line[1:]
            yield line.rstrip(b"\r\n")

    def group(self, name: str) -> tuple[int, int, int]:
        """(estimated count, first, last) article numbers."""
        code, line = self.command(f"GROUP {name}")
        if code != 211:
            raise NntpError(code, line)
        count, first, last = (int(x) for x in line.split()[1:4])
        return count, first, last

    def listgroup(self, name: str, first: int, last: int) -> list[int] | None:
        """The article numbers present in first..last, or None when the server lacks LISTGROUP."""
        code, line = self.command(f"LISTGROUP {name} {first}-{last}")
        if code != 211:
            if 500 <= code < 600:
                return None
            raise NntpError(code, line)
        return [int(x) for x in self._multiline() if x.strip().isdigit()]

    def article(self, number: int) -> bytes | None:
        """The article's bytes with LF line ends, or None when it is gone (423)."""
        code, line = self.command(f"ARTICLE {number}")
        if code in (423, 430):
            return None
        if code != 220:
            raise NntpError(code, line)
        return b"".join(line + b"\n" for line in self._multiline())


def cursor_key(group: str) -> str:
    return f"group:{group}"


def _unreadable(lst: MailingListConfig, base: str, detail: str) -> SourceError:
    """Nothing could be read this run: the source fails (its rows and cursor stay), like an
    unreachable git repository. A failure after some articles were read keeps those articles and
    their cursor instead, with a quarantine row, and the next run continues from there."""
    return SourceError(f"mailing list '{lst.name}': cannot read {clip(base, 300)} ({one_line(detail, 200)})")


def iter_nntp(
    lst: MailingListConfig,
    cache_dir: Path,
    state: Mapping[str, str] | None = None,
) -> Iterator[NntpItem]:
    """Every article of the group after the stored cursor, in article-number order."""
    del cache_dir  # nothing is cached: the warehouse holds what was read, the cursor the rest
    if not lst.url:
        raise ValueError(f"mailing list '{lst.name}': kind nntp needs 'url'")
    target = NntpUrl.parse(lst.url)
    options = lst.options if isinstance(lst.options, NntpOptions) else NntpOptions()
    key = cursor_key(target.group)
    stored = (state or {}).get(key)
    last_read = int(stored) if stored and stored.isdigit() else None
    start_cursor = last_read
    base = f"nntp://{target.netloc}/{target.group}"

    failures = 0
    while True:
        try:
            with NntpClient(target.host, target.port, tls=target.tls, timeout=options.timeout) as client:
                for number, data in _read_group(client, target.group, last_read, options.batch):
                    if data is not None:
                        yield RawMessage(data, f"{base}#{number}")
                    last_read = number
                    failures = 0  # progress: a later drop gets its own retries
            break
        except NntpError as exc:
            if last_read == start_cursor:
                raise _unreadable(lst, base, str(exc)) from None
            yield SourceProblem(base, "nntp_error", str(exc))
            break
        except (OSError, ConnectionError) as exc:
            failures += 1
            if failures >= options.retries:
                if last_read == start_cursor:
                    raise _unreadable(lst, base, f"{type(exc).__name__}: {exc}") from None
                yield SourceProblem(base, "download_failed", f"{type(exc).__name__}: {exc}")
                break
            time.sleep(options.backoff * 2 ** (failures - 1))
    if last_read is not None and last_read != start_cursor:
        yield SourceCursor(key, str(last_read))


def _read_group(
    client: NntpClient, group: str, last_read: int | None, batch: int
) -> Iterator[tuple[int, bytes | None]]:
    """(number, article or None when it vanished) for every article after `last_read`."""
    count, first, last = client.group(group)
    if count == 0 or last < first:
        return
    start = first if last_read is None else max(first, last_read + 1)
    while start <= last:
        end = min(last, start + batch - 1)
        numbers = client.listgroup(group, start, end)
        for number in numbers if numbers is not None else range(start, end + 1):
            if start <= number <= end:
                yield number, client.article(number)
        start = end + 1


@register("nntp")
def nntp_source(
    lst: MailingListConfig, cache_dir: Path, state: Mapping[str, str] | None = None
) -> Iterator[NntpItem]:
    """The registered source: checks the URL up front."""
    try:
        NntpUrl.parse(lst.url or "")
    except ValueError as exc:
        raise SourceError(f"mailing list '{lst.name}': {exc}") from None
    return iter_nntp(lst, cache_dir, state)
