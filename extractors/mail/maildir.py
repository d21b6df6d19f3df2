"""Maildir (cur/ and new/) and plain directories of one-message files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from extractors.mail.mbox import LOOSE_SEPARATOR
from extractors.mail.raw import RawMessage, SourceProblem

_SKIP_NAMES = {".DS_Store"}


def maildir_files(path: Path) -> list[Path]:
    """Message files in a deterministic order: cur/ then new/ for a maildir (tmp/ holds
    deliveries in progress and is skipped), otherwise every regular file below `path`,
    sorted by relative path. Hidden files and folders are skipped."""
    path = Path(path)
    if (path / "cur").is_dir() or (path / "new").is_dir():
        files: list[Path] = []
        for sub in ("cur", "new"):
            d = path / sub
            if d.is_dir():
                files.extend(sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")))
        return files
    found: list[Path] = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "tmp")
        for n in names:
            if not n.startswith(".") and n not in _SKIP_NAMES:
                found.append(Path(root) / n)
    return sorted(found, key=lambda p: p.relative_to(path).as_posix())


def read_message_file(file: Path) -> RawMessage | SourceProblem:
    """One file = one message; a leading mbox From_ line (some tools write one) is split off."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        return SourceProblem(f"{file}:0", "unreadable_file", f"{type(exc).__name__}: {exc}")
    from_line = None
    if LOOSE_SEPARATOR.match(data):
        nl = data.find(b"\n")
        from_line = data[: nl if nl >= 0 else len(data)].rstrip(b"\r")
        data = data[nl + 1 :] if nl >= 0 else b""
    return RawMessage(data, f"{file}:0", from_line)


def iter_maildir(path: str | Path) -> Iterator[RawMessage | SourceProblem]:
    for file in maildir_files(Path(path)):
        yield read_message_file(file)
