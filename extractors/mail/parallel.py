"""Parsing mail on several cores, with exactly the rows of the serial path.

The parent reads the source and hands work to `workers` forked processes; each parses and builds
the rows of its share (`rows.message_entry`, the serial path's own code) and sends them back in
order; the caller deduplicates them (`dedup.dedup_rows`), so the rows are those of
`dedup.iter_list_rows` in the same order.

Two kinds of work:

- an mbox file: the parent only decompresses and cuts the stream into blocks at separators the
  serial reader always honours (a blank line, then a `From ` line matching STRICT_SEPARATOR); each
  worker runs the same reader on its block. A decompression error ends the last block exactly
  where the serial reader would have stopped, and the worker reports it the same way;
- any other source: the parent collects the source's messages into batches of about a block's
  size. A source that ends before the first batch is full is parsed in-process, without workers.

What crosses a pipe is cheap to move: raw block bytes (no pickling) one way, one pickle of the
finished rows per block the other way. Each worker reads its pipe in a thread, so the parent never
waits on a busy worker to hand over the next block; at most `2 * workers` blocks are in flight, so
memory stays bounded. A worker ends with its parent and on SIGTERM (core.procs); a pool
abandoned with answers outstanding (an error, an interruption) terminates its workers at once.
"""

from __future__ import annotations

import gc
import io
import mmap
import multiprocessing
import os
import pickle
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from core.procs import init_worker, temp_prefix
from extractors.mail.compression import DECOMPRESS_ERRORS, open_archive
from extractors.mail.limits import DEFAULT_LIMITS, MailLimits
from extractors.mail.mbox import CHUNK_SIZE, ESCAPINGS, STRICT_SEPARATOR, iter_mbox, iter_mbox_stream
from extractors.mail.parse import parse_message, utc_now
from extractors.mail.raw import RawMessage, SourceProblem
from extractors.mail.rows import Entry, iter_entries, message_digest, message_entry, quarantine_row

BLOCK_SIZE = 1 << 20
# A block that finds no cut within this many bytes past its size (a message this large is rare:
# lists cap attachments at a few MB) ends the blocks: the serial reader reads the rest of the file,
# so the parent never holds more than this (nor searches it more than once per chunk read).
_MAX_UNCUT = 16 << 20
# Below this many bytes on disk an mbox list is parsed in-process: starting workers costs more.
MIN_PARALLEL_BYTES = 4 << 20


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


class _Rest(io.RawIOBase):
    """The chunks already read, then the rest of `stream`: a block too long to cut is read on by
    the serial reader from the block's start (a separator it always honours)."""

    def __init__(self, chunks: list[bytes], stream: Any) -> None:
        self._chunks = deque(chunks)
        self._stream = stream

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        return self._chunks.popleft() if self._chunks else self._stream.read(size)


def _blocks(
    path: Path, block_size: int, limits: MailLimits = DEFAULT_LIMITS
) -> Iterator[tuple[list[bytes], int, BaseException | None] | tuple[_Rest, int]]:
    """(block as a list of pieces, stream offset of its first byte, error after it) covering the
    decompressed stream. The pieces are the reader's own chunks, never joined here: the parent
    copies each byte once, into a worker's slot. A block that finds no cut within _MAX_UNCUT or a
    message's cap (a very large message, or a long run of loosely separated messages) ends the blocks:
    last comes (_Rest, its offset), the rest of the stream for the caller to read serially.

    Reads in the serial reader's chunk size: a decompression error then loses exactly the bytes
    the serial reader loses (a failing read returns nothing)."""
    start = max(block_size - 8, 1)  # cut at the first separator after the block size (never at 0)
    with open_archive(path, limits.expansion_cap) as stream:
        chunks: list[bytes] = []
        size = 0
        base = 0
        while True:
            try:
                chunk = stream.read(CHUNK_SIZE)
            except DECOMPRESS_ERRORS as exc:
                yield chunks, base, exc
                return
            if not chunk:
                yield chunks, base, None
                return
            chunks.append(chunk)
            size += len(chunk)
            while size >= block_size:
                # Only the chunks from a little before `start` on are searched for the cut, joined:
                # _cut looks at up to three bytes before a "\nFrom " line.
                j, off = len(chunks) - 1, size - len(chunks[-1])
                while off > start - 8 and j > 0:
                    j -= 1
                    off -= len(chunks[j])
                tail = chunks[j] if j == len(chunks) - 1 else b"".join(chunks[j:])
                k = _cut(tail, start - off)
                if k < 0:
                    if size > block_size + min(limits.max_message_bytes, _MAX_UNCUT):
                        yield _Rest(chunks, stream), base
                        return
                    chunks[j:] = [tail]
                    break
                yield [*chunks[:j], tail[:k]], base, None
                base += off + k
                rest = tail[k:]
                chunks, size = [rest], len(rest)


# ---- worker side ---------------------------------------------------------------------------------
# Each worker shares one anonymous memory map with the parent: two input slots and two output
# slots, one of each per task in flight. A task is one small pickled message on the task pipe,
#   (spec, slot, where), spec being
#   ("block", name, escaping, base, failure): the payload is a piece of mbox stream, or
#   ("batch", [(location, from_line, archived_at, size) | SourceProblem, ...]): the payload is the
#   messages' bytes, concatenated;
# and `where` saying where the payload sits: ("shm", length) in the slot, or ("file", path) for
# the rare payload larger than a slot. The answer (a pickled list of entries, or ("error", text))
# comes back the same way. Pipes thus only ever carry a few dozen bytes: neither side ever blocks
# on a full pipe, and no thread is needed to drain one.


def _block_entries(
    owner: dict[str, str],
    data: bytes,
    name: str,
    escaping: str,
    base: int,
    failure: BaseException | None,
    now: datetime,
    limits: MailLimits = DEFAULT_LIMITS,
) -> list[Entry]:
    # the whole block in one read: the reader then slices messages straight out of it
    stream = _Replay(data, failure)
    messages = iter_mbox_stream(stream, name, escaping, max(len(data), 1), base, limits)  # type: ignore[arg-type]
    return list(iter_entries(owner, messages, now))


def _batch_entries(owner: dict[str, str], items: list[Any], payload: bytes, now: datetime) -> list[Entry]:
    out: list[Entry] = []
    pos = 0
    for item in items:
        if isinstance(item, SourceProblem):
            out.append((None, 0, item.location, [quarantine_row(owner, item)]))
            continue
        location, from_line, archived_at, size = item
        data = payload[pos : pos + size]
        pos += size
        raw = RawMessage(data, location, from_line, archived_at)
        out.append(message_entry(owner, parse_message(raw, now), message_digest(data)))
    return out


class _Slots:
    """Two input and two output slots of `size` bytes in memory shared with one worker."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.mm = mmap.mmap(-1, 4 * size)

    def put(self, slot: int, pieces: list[bytes]) -> tuple[str, Any]:
        """Store the concatenation of `pieces` for the other side; where it went."""
        total = sum(len(p) for p in pieces)
        if total > self.size:
            fd, path = tempfile.mkstemp(prefix=temp_prefix("mail"))
            with os.fdopen(fd, "wb") as f:
                f.writelines(pieces)
            return "file", path
        at = slot * self.size
        for piece in pieces:
            self.mm[at : at + len(piece)] = piece
            at += len(piece)
        return "shm", total

    def get(self, slot: int, where: tuple[str, Any]) -> bytes:
        kind, value = where
        if kind == "file":
            try:
                return Path(value).read_bytes()
            finally:
                Path(value).unlink()
        at = slot * self.size
        return self.mm[at : at + value]

    def load(self, slot: int, where: tuple[str, Any]) -> Any:
        """pickle.loads of what get() would return, without copying it out of the slot."""
        if where[0] == "file":
            return pickle.loads(self.get(slot, where))
        at = slot * self.size
        with memoryview(self.mm) as view:
            return pickle.loads(view[at : at + where[1]])


def _serve(
    tasks: Connection, results: Connection, slots: _Slots, owner: dict[str, str], now: datetime
) -> None:
    while True:
        try:
            spec, slot, where = pickle.loads(tasks.recv_bytes())
        except EOFError:
            return
        try:
            payload = slots.get(slot, where)
            if spec[0] == "block":
                _, name, escaping, base, failure, limits = spec
                entries = _block_entries(owner, payload, name, escaping, base, failure, now, limits)
            else:
                entries = _batch_entries(owner, spec[1], payload, now)
            answer = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # reported to the parent, which raises it there
            answer = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
        results.send_bytes(pickle.dumps(slots.put(2 + slot, [answer])))


def _worker_main(
    tasks: Connection,
    results: Connection,
    slots: _Slots,
    owner: dict[str, str],
    now: datetime,
    inherited: list[Connection],
    parent_pid: int,
) -> None:
    init_worker(parent_pid)  # dies with the parent and on SIGTERM, whatever handlers it inherited
    # The parent's pipe ends (this worker's and earlier workers') came along with the fork: holding
    # them open would keep a worker from ever seeing the end of its input.
    for conn in inherited:
        conn.close()
    try:
        _serve(tasks, results, slots, owner, now)
    finally:
        results.close()
        # skip the interpreter's teardown: a forked copy of the parent has nothing to clean up
        os._exit(0)


# ---- parent side ---------------------------------------------------------------------------------


class _Pool:
    """`n` forked workers fed round robin, at most two tasks each in flight; answers come back in
    the order the tasks were sent."""

    def __init__(self, n: int, owner: dict[str, str], now: datetime, slot_size: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.procs: list[Any] = []
        self.tasks: list[Connection] = []
        self.results: list[Connection] = []
        self.slots: list[_Slots] = []
        self.pending: deque[tuple[int, int]] = deque()  # (worker, slot) per task in flight
        self.sent = 0
        # Objects the parent holds are left out of the workers' garbage collections: a collection
        # writes to every object it visits, which would copy the parent's whole heap page by page.
        gc.freeze()
        try:
            for _ in range(n):
                task_r, task_w = ctx.Pipe(duplex=False)
                result_r, result_w = ctx.Pipe(duplex=False)
                slots = _Slots(slot_size)
                inherited = [*self.tasks, *self.results, task_w, result_r]
                proc = ctx.Process(
                    target=_worker_main,
                    args=(task_r, result_w, slots, owner, now, inherited, os.getpid()),
                    daemon=True,
                )
                proc.start()
                task_r.close()
                result_w.close()
                self.procs.append(proc)
                self.tasks.append(task_w)
                self.results.append(result_r)
                self.slots.append(slots)
        except BaseException:
            self.close()
            raise
        finally:
            gc.unfreeze()

    def send(self, spec: tuple[Any, ...], payload: list[bytes]) -> None:
        n = len(self.procs)
        w = self.sent % n
        slot = (self.sent // n) % 2  # the task two rounds back used it, and has been answered
        self.sent += 1
        where = self.slots[w].put(slot, payload)
        self.tasks[w].send_bytes(pickle.dumps((spec, slot, where), protocol=pickle.HIGHEST_PROTOCOL))
        self.pending.append((w, slot))

    def full(self) -> bool:
        return len(self.pending) >= 2 * len(self.procs)

    def receive(self) -> list[Entry]:
        w, slot = self.pending.popleft()
        try:
            where = pickle.loads(self.results[w].recv_bytes())
        except EOFError:
            raise RuntimeError(f"mail parsing worker {w} exited unexpectedly") from None
        answer = self.slots[w].load(2 + slot, where)
        if isinstance(answer, tuple):
            raise RuntimeError(f"mail parsing worker {w} failed: {answer[1]}")
        return answer

    def drain(self) -> Iterator[Entry]:
        while self.pending:
            yield from self.receive()

    def close(self, grace: float = 5.0) -> None:
        """End the workers: each ends at the end of its input once it has answered all it was sent;
        with answers still awaited (an error or an interruption abandoned the pool) they are
        terminated at once. One still running `grace` seconds later is killed."""
        for conn in self.tasks:
            conn.close()
        if self.pending:
            for proc in self.procs:
                proc.terminate()
        deadline = time.monotonic() + grace
        for proc in self.procs:
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self.results:
            conn.close()
        for slots in self.slots:
            slots.mm.close()


def _start(n: int, owner: dict[str, str], now: datetime, slot_size: int) -> _Pool | None:
    """A pool, or None where processes cannot be forked (no fork on this platform, or a daemonic
    process, which may not have children)."""
    try:
        return _Pool(n, owner, now, slot_size)
    except (OSError, ValueError, AssertionError):
        return None


def mbox_entries(
    owner: dict[str, str],
    paths: Iterable[str | Path],
    escaping: str = "mboxrd",
    workers: int = 2,
    block_size: int = BLOCK_SIZE,
    now: datetime | None = None,
    limits: MailLimits = DEFAULT_LIMITS,
) -> Iterator[Entry]:
    """`iter_entries(owner, iter_mbox(path, escaping, limits=limits) for each path)`, parsed by
    `workers` processes."""
    if escaping not in ESCAPINGS:
        raise ValueError(f"escaping must be one of {ESCAPINGS}, not {escaping!r}")
    now = now or utc_now()
    paths = list(paths)
    pool = _start(workers, owner, now, 2 * block_size)
    if pool is None:
        messages = (m for path in paths for m in iter_mbox(path, escaping, limits=limits))
        yield from iter_entries(owner, messages, now)
        return
    try:
        for path in paths:
            name = str(path)
            try:
                open_archive(Path(path)).close()
            except OSError as exc:
                yield from pool.drain()
                problem = SourceProblem(f"{name}:0", "unreadable_file", f"{type(exc).__name__}: {exc}")
                yield None, 0, problem.location, [quarantine_row(owner, problem)]
                continue
            for item in _blocks(Path(path), block_size, limits):
                if isinstance(item[0], _Rest):  # no cut in sight: the rest of the file in-process
                    yield from pool.drain()
                    rest = iter_mbox_stream(item[0], name, escaping, CHUNK_SIZE, item[1], limits)  # type: ignore[arg-type]
                    yield from iter_entries(owner, rest, now)
                    continue
                block, base, failure = item
                if pool.full():
                    yield from pool.receive()
                pool.send(("block", name, escaping, base, failure, limits), block)
        yield from pool.drain()
    finally:
        pool.close()


def message_entries(
    owner: dict[str, str],
    messages: Iterable[RawMessage | SourceProblem],
    workers: int = 2,
    batch_size: int = BLOCK_SIZE,
    now: datetime | None = None,
) -> Iterator[Entry]:
    """`iter_entries(owner, messages)`, parsed by `workers` processes once the source has yielded
    a batch's worth of bytes (a smaller source is parsed in-process)."""
    now = now or utc_now()
    messages = iter(messages)  # read on below if workers cannot start
    pool: _Pool | None = None
    try:
        items: list[Any] = []
        datas: list[bytes] = []
        size = 0
        for item in messages:
            if isinstance(item, SourceProblem):
                items.append(item)
            else:
                items.append((item.location, item.from_line, item.archived_at, len(item.data)))
                datas.append(item.data)
                size += len(item.data)
            if size < batch_size:
                continue
            if pool is None:
                pool = _start(workers, owner, now, 2 * batch_size)
                if pool is None:  # no way to start workers here: parse in-process
                    yield from _batch_entries(owner, items, b"".join(datas), now)
                    yield from iter_entries(owner, messages, now)
                    return
            elif pool.full():
                yield from pool.receive()
            pool.send(("batch", items), datas)
            items, datas, size = [], [], 0
        if pool is not None:
            if items:
                if pool.full():
                    yield from pool.receive()
                pool.send(("batch", items), datas)
            yield from pool.drain()
        else:
            yield from _batch_entries(owner, items, b"".join(datas), now)
    finally:
        if pool is not None:
            pool.close()
