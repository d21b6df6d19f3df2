"""Maildir (cur/ and new/) and plain directories of one-message files.

Only regular files are read. A mail directory comes from someone else, so every other entry is
skipped with a SourceProblem (quarantined with its reason) rather than opened:

- `symlink`: a symbolic link, to a file or a directory, inside the archive or out of it (it could
  name /etc/shadow, /dev/zero or a loop); never followed;
- `special_file`: a FIFO, socket or device (reading one blocks forever or never ends);
- `message_too_large`: a file larger than the message cap (extractors.mail.limits).

Files are opened with O_NOFOLLOW | O_NONBLOCK and checked again with fstat, so a name swapped for
a link or a FIFO between listing and reading is caught too, and at most cap + 1 bytes are read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from extractors.mail.limits import DEFAULT_LIMITS
from extractors.mail.mbox import LOOSE_SEPARATOR
from extractors.mail.raw import RawMessage, SourceProblem

_SKIP_NAMES = {".DS_Store"}
_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)


def _kind(mode: int) -> str | None:
    """None for a regular file, else the reason it is skipped."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "symlink"
    return "special_file"


def _skipped(entry: Path, reason: str, what: str) -> SourceProblem:
    return SourceProblem(f"{entry}:0", reason, f"{what}: not read")


def _listing(path: Path) -> Iterator[Path | SourceProblem]:
    """Every entry to read, or a SourceProblem for one skipped, in a deterministic order: cur/
    then new/ for a maildir (tmp/ holds deliveries in progress and is skipped), otherwise every
    file below `path`, sorted by relative path. Hidden entries are skipped silently; directory
    symlinks are never descended into."""
    if any(os.path.isdir(path / sub) and not os.path.islink(path / sub) for sub in ("cur", "new")):
        for sub in ("cur", "new"):
            d = path / sub
            if os.path.islink(d):
                yield _skipped(d, "symlink", "a symbolic link")
                continue
            if d.is_dir():
                # sub-folders are not messages (skipped silently, as before); every other entry is
                # read or reported
                yield from sorted(
                    p
                    for p in d.iterdir()
                    if not p.name.startswith(".") and (p.is_symlink() or not p.is_dir())
                )
        return
    found: list[Path] = []
    for root, dirs, names in os.walk(path):  # os.walk never follows directory symlinks by default
        kept = []
        for d in dirs:
            if d.startswith(".") or d == "tmp":
                continue
            if os.path.islink(os.path.join(root, d)):
                found.append(Path(root) / d)  # reported below as a symlink
            else:
                kept.append(d)
        dirs[:] = sorted(kept)
        found.extend(Path(root) / n for n in names if not n.startswith(".") and n not in _SKIP_NAMES)
    yield from sorted(found, key=lambda p: p.relative_to(path).as_posix())


def read_message_file(
    file: Path, max_bytes: int = DEFAULT_LIMITS.max_message_bytes
) -> RawMessage | SourceProblem:
    """One regular file = one message; a leading mbox From_ line (some tools write one) is split off.
    Anything else (see the module docstring) is a SourceProblem."""
    try:
        reason = _kind(os.lstat(file).st_mode)
        if reason is not None:
            return _skipped(file, reason, "a symbolic link" if reason == "symlink" else "not a regular file")
        fd = os.open(file, _OPEN_FLAGS)
    except OSError as exc:
        if getattr(exc, "errno", None) == getattr(os, "ELOOP", -1):  # replaced by a link meanwhile
            return _skipped(file, "symlink", "a symbolic link")
        return SourceProblem(f"{file}:0", "unreadable_file", f"{type(exc).__name__}: {exc}")
    try:
        st = os.fstat(fd)
        reason = _kind(st.st_mode)
        if reason is not None:
            return _skipped(file, reason, "not a regular file")
        if st.st_size > max_bytes:
            return _skipped(file, "message_too_large", f"{st.st_size} bytes, over the {max_bytes} bytes cap")
        with os.fdopen(fd, "rb", closefd=True) as f:
            fd = -1
            data = f.read(max_bytes + 1)  # a file growing while read is still bounded
    except OSError as exc:
        return SourceProblem(f"{file}:0", "unreadable_file", f"{type(exc).__name__}: {exc}")
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:
        return _skipped(file, "message_too_large", f"over the {max_bytes} bytes cap")
    from_line = None
    if LOOSE_SEPARATOR.match(data):
        nl = data.find(b"\n")
        from_line = data[: nl if nl >= 0 else len(data)].rstrip(b"\r")
        data = data[nl + 1 :] if nl >= 0 else b""
    return RawMessage(data, f"{file}:0", from_line)


def iter_maildir(
    path: str | Path, max_bytes: int = DEFAULT_LIMITS.max_message_bytes
) -> Iterator[RawMessage | SourceProblem]:
    for entry in _listing(Path(path)):
        yield entry if isinstance(entry, SourceProblem) else read_message_file(entry, max_bytes)
