"""Parsing one mbox file on several cores, with exactly the rows of the serial path.

The parent decompresses the file and cuts the stream into blocks at separators the serial reader
always honours (a blank line, then a `From ` line matching STRICT_SEPARATOR); each worker process
runs the same reader and parser on its block and returns the parsed messages. The parent keeps the
order and does the deduplication, so `iter_mbox_rows_parallel` yields what
`iter_list_rows(project, lst, iter_mbox(path))` yields. At most `2 * workers` blocks are in flight,
so memory stays bounded. A decompression error ends the last block exactly where the serial reader
would have stopped, and the worker reports it the same way.
"""

from __future__ import annotations

import io
import multiprocessing
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from commstats.config import MailingListConfig
from extractors.mail.compression import DECOMPRESS_ERRORS, open_archive
from extractors.mail.ingest import _digest, _list_rows
from extractors.mail.mbox import CHUNK_SIZE, ESCAPINGS, STRICT_SEPARATOR, iter_mbox_stream
from extractors.mail.parse import ParsedMessage, parse_message, utc_now
from extractors.mail.raw import SourceProblem

BLOCK_SIZE = 2 << 20


class _Replay(io.RawIOBase):
    """The bytes of one block, then (for the last block of a damaged file) the decompression error."""

    def __init__(self, data: bytes, failure: BaseException | None) -> None:
        self._data = io.BytesIO(data)
        self._failure = failure

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        chunk = self._data.read(size)
        if not chunk and self._failure is not None:
            raise self._failure
        return chunk


def _cut(buf: bytes, start: int) -> int:
    """Where to end a block: just after the line end that precedes a `From ` line the serial reader
    always takes as a separator (a blank line, then STRICT_SEPARATOR), searching from `start`;
    -1 if there is none. The block then ends in "\n\n" or "\r\n\r\n", which the reader strips
    from the last message of a stream exactly as it strips it before a separator."""
    i = buf.find(b"\nFrom ", start)
    while i >= 0:
        nl = buf.find(b"\n", i + 1)
        if nl < 0:
            return -1
        if (buf[i - 1] == 0x0A or buf[i - 3 : i] == b"\r\n\r") and STRICT_SEPARATOR.match(
            buf[i + 1 : nl].rstrip(b"\r")
        ):
            return i + 1
        i = buf.find(b"\nFrom ", i + 1)
    return -1


def _blocks(path: Path, block_size: int) -> Iterator[tuple[bytes, int, BaseException | None]]:
    """(block, stream offset of its first byte, error after it) covering the decompressed stream.

    Reads in the serial reader's chunk size: a decompression error then loses exactly the bytes
    the serial reader loses (a failing read returns nothing)."""
    with open_archive(path) as stream:
        chunks: list[bytes] = []  # joined once per block rather than grown chunk by chunk
        size = 0
        base = 0
        while True:
            try:
                chunk = stream.read(CHUNK_SIZE)
            except DECOMPRESS_ERRORS as exc:
                yield b"".join(chunks), base, exc
                return
            if not chunk:
                yield b"".join(chunks), base, None
                return
            chunks.append(chunk)
            size += len(chunk)
            while size >= block_size:
                buf = b"".join(chunks)
                # cut at the first separator after the block size (never at 0: no empty block)
                k = _cut(buf, max(block_size - 8, 1))
                if k < 0:
                    chunks = [buf]
                    break
                yield buf[:k], base, None
                base += k
                rest = buf[k:]
                chunks, size = [rest], len(rest)


def _parse_block(
    job: tuple[bytes, int, BaseException | None, str, str, datetime],
) -> list[Any]:
    data, base, failure, name, escaping, now = job
    out: list[Any] = []
    for item in iter_mbox_stream(_Replay(data, failure), name, escaping, CHUNK_SIZE, base):  # type: ignore[arg-type]
        if isinstance(item, SourceProblem):
            out.append(item)
            continue
        parsed = parse_message(item, now)
        # plain tuples travel back faster than dataclass instances
        packed = (parsed.row, parsed.trailers, parsed.issues) if isinstance(parsed, ParsedMessage) else parsed
        out.append((packed, _digest(item.data)))
    return out


def _unpack(results: list[Any]) -> Iterator[Any]:
    for item in results:
        if isinstance(item, SourceProblem):
            yield item
            continue
        packed, digest = item
        yield (ParsedMessage(*packed) if isinstance(packed, tuple) else packed), digest


def iter_mbox_rows_parallel(
    project: str,
    lst: MailingListConfig,
    path: str | Path,
    escaping: str = "mboxrd",
    workers: int = 2,
    block_size: int = BLOCK_SIZE,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """`iter_list_rows(project, lst, iter_mbox(path, escaping))`, parsed by `workers` processes."""
    if escaping not in ESCAPINGS:
        raise ValueError(f"escaping must be one of {ESCAPINGS}, not {escaping!r}")
    name = str(path)
    try:
        open_archive(Path(path)).close()
    except OSError as exc:
        problem = SourceProblem(f"{name}:0", "unreadable_file", f"{type(exc).__name__}: {exc}")
        yield from _list_rows(project, lst, iter([problem]))
        return
    now = utc_now()
    ctx = multiprocessing.get_context("fork")  # workers share the parent's hash() key for _digest
    with ctx.Pool(workers) as pool:
        pending: deque[Any] = deque()

        def results() -> Iterator[Any]:
            for block, base, failure in _blocks(Path(path), block_size):
                pending.append(pool.apply_async(_parse_block, ((block, base, failure, name, escaping, now),)))
                while len(pending) > 2 * workers:
                    yield from _unpack(pending.popleft().get())
            while pending:
                yield from _unpack(pending.popleft().get())

        yield from _list_rows(project, lst, results())
