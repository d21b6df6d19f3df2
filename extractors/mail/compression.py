"""Opening archives that may be compressed, detected by magic bytes rather than file name."""

from __future__ import annotations

import bz2
import lzma
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

# ISA-L's inflate reads gzip at about twice the speed of zlib's (0.057 s against 0.126 s for the
# 53 MB of the kvm-ppc archive), same stream format and errors: decompression was a fifth of the
# mail parsing time.
from isal import igzip

from extractors.mail.limits import DEFAULT_LIMITS

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)


class DecompressionBomb(Exception):
    """A compressed archive expanded past its cap (see extractors.mail.limits); str() says how far."""


# Exceptions a decompressor raises on damaged input; EOFError means the stream just stops.
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    OSError,
    lzma.LZMAError,
    ValueError,
    DecompressionBomb,
)


def detect_compression(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(6)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


class _Capped:
    """A decompressed stream that raises DecompressionBomb once it has yielded more than `cap`
    bytes: reading stops there, so a bomb costs bounded time as well as memory."""

    def __init__(self, inner: BinaryIO, cap: int, compressed: int) -> None:
        self._inner = inner
        self._cap = cap
        self._compressed = compressed
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        # never one unbounded read: at most one byte past the cap is ever decompressed into memory
        left = self._cap - self.total + 1
        data = self._inner.read(left if size is None or size < 0 else min(size, left))
        self.total += len(data)
        if self.total > self._cap:
            raise DecompressionBomb(
                f"{self._compressed} compressed bytes expand past {self._cap} bytes; "
                "the rest of the archive was not read"
            )
        return data

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> _Capped:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_archive(path: Path, expansion_cap: Callable[[int], int] | None = None) -> BinaryIO:
    """A binary stream of the decompressed bytes (the file itself when not compressed).

    `expansion_cap(compressed size)` bounds what a compressed file may expand to (reading past it
    raises DecompressionBomb); the default is extractors.mail.limits.DEFAULT_LIMITS's."""
    kind = detect_compression(path)
    if kind is None:
        return open(path, "rb")
    if kind == "gzip":
        inner = igzip.open(path, "rb")
    elif kind == "bz2":
        inner = bz2.open(path, "rb")  # noqa: SIM115 (the caller closes it)
    else:
        inner = lzma.open(path, "rb")  # noqa: SIM115 (the caller closes it)
    if expansion_cap is None:
        expansion_cap = DEFAULT_LIMITS.expansion_cap
    size = os.stat(path).st_size
    return _Capped(inner, expansion_cap(size), size)  # type: ignore[arg-type, return-value]


def read_head(path: Path, size: int = 4096) -> bytes:
    """The first decompressed bytes of a file, or b'' when it cannot be read."""
    try:
        with open_archive(path) as f:
            return f.read(size)
    except DECOMPRESS_ERRORS:
        return b""
