"""Opening archives that may be compressed, detected by magic bytes rather than file name."""

from __future__ import annotations

import bz2
import lzma
from pathlib import Path
from typing import BinaryIO

# ISA-L's inflate reads gzip at about twice the speed of zlib's (0.057 s against 0.126 s for the
# 53 MB of the kvm-ppc archive), same stream format and errors: decompression was a fifth of the
# mail parsing time.
from isal import igzip

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)

# Exceptions a decompressor raises on damaged input; EOFError means the stream just stops.
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, lzma.LZMAError, ValueError)


def detect_compression(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(6)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


def open_archive(path: Path) -> BinaryIO:
    """A binary stream of the decompressed bytes (the file itself when not compressed)."""
    kind = detect_compression(path)
    if kind == "gzip":
        return igzip.open(path, "rb")  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_head(path: Path, size: int = 4096) -> bytes:
    """The first decompressed bytes of a file, or b'' when it cannot be read."""
    try:
        with open_archive(path) as f:
            return f.read(size)
    except DECOMPRESS_ERRORS:
        return b""
