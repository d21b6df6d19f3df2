"""Abbreviated object ids as `git log -p` prints them in `index` lines.

The patch-id of a binary file hashes the two abbreviated blob ids of its `index` line, so they
must have git's length. git takes `core.abbrev` (a number, `auto` or `no`); by default (auto) it
sizes the abbreviation to the repository: with about 2^n packed objects, ceil((n + 1) / 2) hex
digits, at least 7 (10 for some 500,000 objects). Loose objects are not counted (git's
repo_approximate_object_count reads pack indexes only). Each id is then lengthened until no
other object of the repository shares its prefix.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pygit2

HEXSZ = 40
FALLBACK_ABBREV = 7
MINIMUM_ABBREV = 4
_IDX_MAGIC = b"\377tOc"
_NULL_HEX = "0" * HEXSZ


def _pack_index_count(path: Path) -> int | None:
    """Objects in one pack index (.idx, versions 1 and 2); None if unreadable."""
    try:
        with path.open("rb") as f:
            head = f.read(8 + 256 * 4)
    except OSError:
        return None
    offset = 8 if head[:4] == _IDX_MAGIC else 0
    if len(head) < offset + 256 * 4:
        return None
    return struct.unpack_from(">I", head, offset + 255 * 4)[0]


def _midx(pack_dir: Path) -> tuple[int, set[str]]:
    """(objects, idx names covered) of a multi-pack-index; (0, empty) when there is none."""
    try:
        data = (pack_dir / "multi-pack-index").read_bytes()
    except OSError:
        return 0, set()
    if data[:4] != b"MIDX" or len(data) < 12:
        return 0, set()
    chunks = data[6]
    table: list[tuple[bytes, int]] = []
    for i in range(chunks + 1):
        at = 12 + 12 * i
        table.append((data[at : at + 4], struct.unpack_from(">Q", data, at + 4)[0]))
    count, names = 0, set()
    for (cid, start), (_, end) in zip(table, table[1:], strict=False):
        if cid == b"OIDF":
            count = struct.unpack_from(">I", data, start + 255 * 4)[0]
        elif cid == b"PNAM":
            names = {n.decode(errors="replace") for n in data[start:end].split(b"\0") if n}
    return count, names


def _object_dirs(objects: Path, seen: set[Path] | None = None, depth: int = 0) -> list[Path]:
    """The object directory and its alternates (recursively, as git does up to 5 deep)."""
    seen = set() if seen is None else seen
    try:
        key = objects.resolve()
    except OSError:
        return []
    if key in seen or depth > 5:
        return []
    seen.add(key)
    out = [objects]
    try:
        lines = (objects / "info" / "alternates").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        alt = Path(line)
        out += _object_dirs(alt if alt.is_absolute() else objects / alt, seen, depth + 1)
    return out


def approximate_object_count(git_dir: str | Path) -> int:
    """git's repo_approximate_object_count(): objects in the pack indexes (and multi-pack-index)."""
    total = 0
    for objects in _object_dirs(Path(git_dir) / "objects"):
        pack_dir = objects / "pack"
        count, covered = _midx(pack_dir)
        total += count
        for idx in sorted(pack_dir.glob("*.idx")):
            if idx.name in covered or not idx.with_suffix(".pack").is_file():
                continue
            n = _pack_index_count(idx)
            total += n or 0
    return total


def default_abbrev_length(repo: pygit2.Repository) -> int:
    """The minimum length git gives abbreviated ids in this repository (before lengthening)."""
    value = None
    with contextlib.suppress(KeyError, pygit2.GitError, ValueError):
        value = repo.config["core.abbrev"]
    if value is not None:
        v = value.strip().lower()
        if v in ("false", "no", "off"):
            return HEXSZ
        if v != "auto":
            try:
                n = int(v)
            except ValueError:
                n = -1
            if MINIMUM_ABBREV <= n <= HEXSZ:
                return n
    count = approximate_object_count(repo.path)
    bits = count.bit_length()  # git's msb(count) + 1 (1 for a count of 0)
    return max(FALLBACK_ABBREV, (max(bits, 1) + 1) // 2)


class Abbreviator:
    """git's find_unique_abbrev() for one repository: `abbrev(hex)` -> the printed prefix."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._length: int | None = None
        self._done: dict[str, str] = {}

    @property
    def length(self) -> int:
        if self._length is None:
            self._length = default_abbrev_length(self.repo)
        return self._length

    def __call__(self, hex_id: str) -> str:
        n = self.length
        if n >= HEXSZ:
            return hex_id
        if hex_id == _NULL_HEX:
            return hex_id[:n]
        got = self._done.get(hex_id)
        if got is None:
            while n < HEXSZ:
                try:
                    self.repo.get(hex_id[:n])
                    break
                except ValueError:  # ambiguous: another object shares the prefix
                    n += 1
                except (KeyError, pygit2.GitError):
                    break
            got = self._done[hex_id] = hex_id[:n]
        return got
