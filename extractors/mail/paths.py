"""Expanding a configured `path:` (file, directory or glob) into the archive files to read."""

from __future__ import annotations

import glob
import os
import stat
from pathlib import Path

from extractors.mail.compression import read_head
from extractors.mail.headers import FIELD_LINE

_GLOB_CHARS = set("*?[")


def looks_like_mbox(path: Path) -> bool:
    """Sniff the (decompressed) start: an mbox opens with `From ` or, for a one-message file,
    with a header field. Directories of archives also hold indexes, HTML and JSON: skip those."""
    head = read_head(path, 512).lstrip(b"\r\n\t ")
    return head.startswith(b"From ") or FIELD_LINE.match(head) is not None


def _is_regular(path: Path) -> bool:
    # a FIFO would block the sniffing read forever, a device (/dev/zero) never end: regular files only
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _files_below(directory: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        out.extend(Path(root) / n for n in names if not n.startswith(".") and _is_regular(Path(root) / n))
    return sorted(out, key=lambda p: p.relative_to(directory).as_posix())


def expand_path(path: str | Path) -> list[Path]:
    """Every mbox-ish file the path names, sorted; [] when nothing exists there.

    A file is taken as is (the user named it); a directory contributes every file below it that
    sniffs as mail; a glob contributes its matching files and the mail files below matching dirs.
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        return [f for f in _files_below(p) if looks_like_mbox(f)]
    if _GLOB_CHARS & set(str(p)):
        out: list[Path] = []
        for match in sorted(glob.glob(str(p), recursive=True)):
            m = Path(match)
            if m.is_file():
                out.append(m)
            elif m.is_dir():
                out.extend(f for f in _files_below(m) if looks_like_mbox(f))
        return out
    return []
