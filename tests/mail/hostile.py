"""Hostile mail archives built on the fly (a gzip bomb, an oversized message), for tests and
benchmarks/bench_hostile.py."""

from __future__ import annotations

import gzip
from pathlib import Path

MiB = 1 << 20
# 1 MiB of 100-byte body lines: no "From " anywhere, so nothing in it is a separator
BODY_BLOCK = (b"x" * 99 + b"\n") * (MiB // 100) + b"x" * (MiB % 100 - 1) + b"\n"


def message(n: int) -> bytes:
    """A small complete message, separator line included, with Message-ID <n@example.org>."""
    return (
        f"From sender{n}@example.org Mon Jan  1 00:00:{n % 60:02d} 2001\n"
        f"From: Sender {n} <sender{n}@example.org>\nDate: Mon, 1 Jan 2001 00:00:{n % 60:02d} +0000\n"
        f"Subject: message {n}\nMessage-ID: <{n}@example.org>\n\nbody {n}\n\n"
    ).encode()


def big_header(n: int) -> bytes:
    return (
        f"From big{n}@example.org Mon Jan  1 00:00:00 2001\nFrom: Big <big{n}@example.org>\n"
        f"Subject: big {n}\nMessage-ID: <big{n}@example.org>\n\n"
    ).encode()


def write_mbox_with_big_message(path: Path, body_mib: int, before: int = 2, after: int = 2) -> None:
    """`before` small messages, one whose body is `body_mib` MiB, `after` small messages."""
    with open(path, "wb") as f:
        for n in range(before):
            f.write(message(n))
        f.write(big_header(0))
        for _ in range(body_mib):
            f.write(BODY_BLOCK)
        f.write(b"\n")
        for n in range(before, before + after):
            f.write(message(n))


def write_gzip_bomb(path: Path, body_mib: int, before: int = 2, after: int = 2) -> None:
    """The same layout as a gzip file of concatenated members (valid gzip, read as one stream):
    the 1 MiB body block is compressed once and repeated, so a 1 GiB message costs ~3 MB on disk
    and no time to build."""
    block = gzip.compress(BODY_BLOCK, compresslevel=9, mtime=0)
    with open(path, "wb") as f:
        f.write(gzip.compress(b"".join(message(n) for n in range(before)) + big_header(0), mtime=0))
        for _ in range(body_mib):
            f.write(block)
        f.write(gzip.compress(b"\n" + b"".join(message(n) for n in range(before, before + after)), mtime=0))
