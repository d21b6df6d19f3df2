"""The registry of mail source kinds: `kind` in the config -> a function yielding raw messages.

A source is `fn(list_config, cache_dir) -> Iterable[RawMessage | SourceProblem]`. It should check
what it can up front (path exists, URL well-formed) and raise SourceError before yielding, so a
misconfigured list fails with one clear line.

To add a kind, write a module that calls `register("<kind>")` on its function at import time.
`get_source` imports `extractors.mail.<kind with - as _>` (e.g. `extractors.mail.public_inbox`)
the first time a kind is asked for that is not registered yet, so such a module needs no other
wiring.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from core.config import MailingListConfig, MboxOptions
from extractors.mail.errors import SourceError
from extractors.mail.limits import mail_limits
from extractors.mail.maildir import iter_maildir
from extractors.mail.mbox import iter_mbox
from extractors.mail.paths import expand_path
from extractors.mail.raw import RawMessage, SourceProblem

MailSource = Callable[[MailingListConfig, Path], Iterable[RawMessage | SourceProblem]]
SOURCES: dict[str, MailSource] = {}


def register(kind: str) -> Callable[[MailSource], MailSource]:
    def wrap(fn: MailSource) -> MailSource:
        SOURCES[kind] = fn
        return fn

    return wrap


def get_source(kind: str) -> MailSource:
    if kind not in SOURCES:
        module = f"extractors.mail.{kind.replace('-', '_')}"
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            importlib.import_module(module)
    try:
        return SOURCES[kind]
    except KeyError:
        raise SourceError(
            f"mail source kind '{kind}' is not available (known: {', '.join(sorted(SOURCES))})"
        ) from None


def _required_path(lst: MailingListConfig) -> Path:
    if lst.path is None:
        raise SourceError(f"mailing list '{lst.name}': kind '{lst.kind}' needs a 'path'")
    return Path(lst.path)


def mbox_files(lst: MailingListConfig) -> tuple[list[Path], str]:
    """The mbox files a list's path names (file, directory or glob), in sorted order, and the
    escaping to read them with; SourceError when there are none or the option is wrong."""
    path = _required_path(lst)
    files = expand_path(path)
    if not files:
        what = "path not found" if not path.exists() else "no mbox files found"
        raise SourceError(f"mailing list '{lst.name}': {what}: {path}")
    escaping = lst.options.escaping if isinstance(lst.options, MboxOptions) else "mboxrd"
    return files, escaping


@register("mbox")
def mbox_source(lst: MailingListConfig, cache_dir: Path) -> Iterable[RawMessage | SourceProblem]:
    """Every mbox file the configured path names (file, directory or glob), in sorted order.

    Option `escaping`: mboxrd (default) | mboxo | none, see extractors.mail.mbox; the size limits
    of extractors.mail.limits."""
    files, escaping = mbox_files(lst)
    limits = mail_limits(lst)

    def gen() -> Iterator[RawMessage | SourceProblem]:
        for f in files:
            yield from iter_mbox(f, escaping, limits=limits)

    return gen()


@register("maildir")
def maildir_source(lst: MailingListConfig, cache_dir: Path) -> Iterable[RawMessage | SourceProblem]:
    path = _required_path(lst)
    if not path.is_dir():
        what = "path not found" if not path.exists() else "not a directory"
        raise SourceError(f"mailing list '{lst.name}': {what}: {path}")
    return iter_maildir(path, mail_limits(lst).max_message_bytes)
