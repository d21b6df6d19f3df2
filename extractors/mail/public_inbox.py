"""public-inbox v2 archives (lore.kernel.org and its mirrors), read incrementally.

A v2 inbox is a series of "epoch" git repositories `0.git`, `1.git`, ... Each commit's tree holds
one file: `m`, the message as received, or `d`, a message that was removed (spam, legal
requests), holding the removed message so readers can tell which one went. History is linear
and append-only; a new epoch starts when the current one grows too large, and only the newest
epoch receives new messages.

With `url:` each epoch is cloned bare into `cache_dir/public-inbox/<url>/<epoch>.git` and fetched
on every refresh (lore serves `https://lore.kernel.org/kvm/0` as a git URL). Epochs are probed
as `<url>/0`, `<url>/1`, ... until one does not exist; a URL ending in `/<digits>` or
`/<digits>.git` names one epoch. With `path:` the archive is read in place: a single epoch, an
inbox directory (`<path>/git/N.git`) or a directory of epochs (`<path>/N.git`).

Incremental reading: the caller passes `state` (source key -> cursor, as stored in
raw.mail_source_state) and only commits after the cursor are read. Per epoch the source yields
the messages (`RawMessage`), removals (`DeletedMessage`) and, last, a `SourceCursor("epoch:N",
<last commit sha>)`; the ingest driver stores that cursor in the same transaction as the
messages, so an interrupted run is simply read again.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from core.config import MailingListConfig
from core.errors import clip, one_line
from extractors.mail.cachepath import source_cache_dir
from extractors.mail.errors import SourceError
from extractors.mail.raw import DeletedMessage, RawMessage, SourceCursor, SourceProblem
from extractors.mail.sources import register

# What the incremental machinery needs to know about this source (see extractors.mail.sources).
INCREMENTAL = True

PublicInboxItem = RawMessage | DeletedMessage | SourceCursor | SourceProblem

_EPOCH_URL = re.compile(r"/(\d+)(?:\.git)?/*$")
_EPOCH_DIR = re.compile(r"^(\d+)\.git$")
# libgit2's wording when the remote repository is not there (HTTP 404, missing local path):
# a missing epoch ends the probing, any other failure is a real problem worth retrying.
_NOT_FOUND = re.compile(
    r"\b404\b|not found|failed to resolve path|no such file|does not appear to be a git repository"
    r"|could not find repository",
    re.IGNORECASE,
)
# Seconds libgit2 may wait for a server; 0 (libgit2's default) means forever, which would hang a
# scheduled run on a stalled mirror.
_CONNECT_TIMEOUT_MS = 30_000
_SERVER_TIMEOUT_MS = 300_000


def cursor_key(epoch: str) -> str:
    return f"epoch:{epoch}"


@dataclass(frozen=True, slots=True)
class Epoch:
    name: str  # "0", "1", ... (or a repository's own name for a lone, non-numbered epoch)
    path: Path


def iter_public_inbox(
    lst: MailingListConfig,
    cache_dir: Path,
    state: Mapping[str, str] | None = None,
) -> Iterator[PublicInboxItem]:
    """Every message added (and every removal) after the cursors in `state`, epoch by epoch."""
    state = state or {}
    if lst.url:
        epochs: list[Epoch] = []
        for item in sync_remote(lst.url, source_cache_dir(cache_dir, "public-inbox", lst.url)):
            if isinstance(item, SourceProblem):
                # an archive that cannot be cloned or fetched fails its source, like a git
                # repository does: its previous rows stay, the run says so, nothing is read
                raise SourceError(
                    f"mailing list '{lst.name}': {item.reason.replace('_', ' ')}: "
                    f"{clip(item.location, 300)} ({one_line(item.detail or 'unreachable', 200)})"
                )
            epochs.append(item)
    else:
        assert lst.path is not None  # the config model guarantees path or url
        try:
            epochs = local_epochs(Path(lst.path))
        except OSError as exc:
            yield SourceProblem(str(lst.path), "unreadable_archive", str(exc))
            return
        if not epochs:
            yield SourceProblem(str(lst.path), "unreadable_archive", "no public-inbox epoch found")
            return
    for epoch in epochs:
        yield from read_epoch(epoch, state.get(cursor_key(epoch.name)))


@register("public-inbox")
def public_inbox_source(
    lst: MailingListConfig, cache_dir: Path, state: Mapping[str, str] | None = None
) -> Iterator[PublicInboxItem]:
    """The registered source: checks a local archive up front, so a wrong path is one clear line."""
    if not lst.url:
        path = Path(lst.path) if lst.path is not None else None
        if path is None or not path.exists():
            raise SourceError(f"mailing list '{lst.name}': path not found: {path}")
        if not local_epochs(path):
            raise SourceError(f"mailing list '{lst.name}': no public-inbox epoch (N.git) found in {path}")
    return iter_public_inbox(lst, cache_dir, state)


# ---------------------------------------------------------------------------------------------
# Locating epochs


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def _epoch_name(path: Path) -> str:
    return path.name.removesuffix(".git") or path.name


def local_epochs(path: Path) -> list[Epoch]:
    """The epochs of a local archive, oldest first."""
    if _is_git_dir(path):
        return [Epoch(_epoch_name(path), path)]
    if (path / ".git").is_dir():  # a non-bare checkout of one epoch
        return [Epoch(_epoch_name(path), path / ".git")]
    # public-inbox's own layout keeps epochs in <inbox>/git/; mirrors often flatten it
    for parent in (path / "git", path):
        found = [
            (int(m.group(1)), child)
            for child in (parent.iterdir() if parent.is_dir() else ())
            if (m := _EPOCH_DIR.match(child.name)) and _is_git_dir(child)
        ]
        if found:
            return [Epoch(str(n), child) for n, child in sorted(found)]
    return []


def _set_timeouts() -> None:
    # Global libgit2 options: only fill them in when nobody chose a value yet.
    opt = pygit2.enums.Option
    if not pygit2.option(opt.GET_SERVER_CONNECT_TIMEOUT):
        pygit2.option(opt.SET_SERVER_CONNECT_TIMEOUT, _CONNECT_TIMEOUT_MS)
    if not pygit2.option(opt.GET_SERVER_TIMEOUT):
        pygit2.option(opt.SET_SERVER_TIMEOUT, _SERVER_TIMEOUT_MS)


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, pygit2.GitError | KeyError | ValueError) and bool(_NOT_FOUND.search(str(exc)))


def _retrying() -> Retrying:
    # Transient network failures are retried; a missing repository is an answer, not a failure.
    return Retrying(
        retry=retry_if_exception(lambda e: isinstance(e, pygit2.GitError) and not _is_not_found(e)),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=2, max=30),
        reraise=True,
    )


def _clone(url: str, dest: Path) -> None:
    """Clone bare into a temporary name first, so a half-done clone never looks like an epoch."""
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for attempt in _retrying():
            with attempt:
                shutil.rmtree(tmp, ignore_errors=True)
                pygit2.clone_repository(url, str(tmp), bare=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.rename(dest)


def _fetch(path: Path) -> None:
    repo = pygit2.Repository(str(path))
    remote = repo.remotes["origin"]
    for attempt in _retrying():
        with attempt:
            # Straight into refs/heads: a bare mirror has no work tree to protect, and reading
            # then uses the same refs for cloned and local archives.
            remote.fetch(["+refs/heads/*:refs/heads/*"])


def sync_remote(url: str, root: Path) -> Iterator[Epoch | SourceProblem]:
    """Clone missing epochs and fetch known ones; yield every epoch present locally, oldest first."""
    _set_timeouts()
    root.mkdir(parents=True, exist_ok=True)
    base = url.rstrip("/")
    single = _EPOCH_URL.search(base)
    if single:
        plan: Iterator[tuple[str, str]] = iter([(single.group(1), base)])
    else:

        def probe() -> Iterator[tuple[str, str]]:
            n = 0
            while True:
                yield str(n), f"{base}/{n}"
                n += 1

        plan = probe()
    found = 0
    for name, epoch_url in plan:
        dest = root / f"{name}.git"
        if _is_git_dir(dest):
            try:
                _fetch(dest)
            except pygit2.GitError as exc:
                # The caller fails the source: its rows stay as the last run left them (stale but
                # consistent), and the cursors have not moved, so the next run catches up.
                yield SourceProblem(epoch_url, "fetch_failed", str(exc))
            found += 1
            yield Epoch(name, dest)
            continue
        # lore answers at <inbox>/N; plain git hosting and file:// mirrors name the directory N.git
        candidates = [epoch_url] if epoch_url.endswith(".git") else [epoch_url, epoch_url + ".git"]
        cloned = False
        for candidate in candidates:
            try:
                _clone(candidate, dest)
                cloned = True
                break
            except pygit2.GitError as exc:
                if not _is_not_found(exc):
                    yield SourceProblem(candidate, "clone_failed", str(exc))
                    return
        if not cloned:
            # The first missing epoch is the end of the archive.
            if not found:
                yield SourceProblem(url, "clone_failed", "no public-inbox epoch found at this URL")
            return
        found += 1
        yield Epoch(name, dest)


# ---------------------------------------------------------------------------------------------
# Reading one epoch


def _tip(repo: pygit2.Repository) -> pygit2.Commit | None:
    try:
        return repo.head.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError):
        pass
    # HEAD may name a branch the mirror does not have; any branch of an epoch is its history
    for ref in sorted(repo.references):
        if ref.startswith("refs/heads/"):
            return repo.references[ref].peel(pygit2.Commit)
    return None


def _new_commit_ids(
    repo: pygit2.Repository, tip: pygit2.Commit, cursor: pygit2.Oid | None
) -> tuple[list[pygit2.Oid] | bytearray, bool]:
    """The ids of the commits after `cursor` up to `tip`, and whether the cursor was reached.

    Epoch history is linear, so the first-parent chain from the tip is the whole story. It is
    collected newest first as packed 20-byte ids (a few MB for a full epoch) instead of asking
    libgit2 for a reverse walk, which keeps a node per commit alive for the whole walk. A merge
    (never made by public-inbox, but possible in a hand-made archive) falls back to a full
    topological walk so no message is missed.
    """
    ids = bytearray()
    commit: pygit2.Commit | None = tip
    while commit is not None:
        if cursor is not None and commit.id == cursor:
            return ids, True
        if len(commit.parent_ids) > 1:
            return _walk_all(repo, tip, cursor)
        ids += commit.id.raw
        commit = commit.parents[0] if commit.parent_ids else None
    return ids, cursor is None


def _walk_all(
    repo: pygit2.Repository, tip: pygit2.Commit, cursor: pygit2.Oid | None
) -> tuple[list[pygit2.Oid], bool]:
    walker = repo.walk(tip.id, pygit2.enums.SortMode.TOPOLOGICAL)
    reached = False
    if cursor is not None and repo.descendant_of(tip.id, cursor):
        walker.hide(cursor)
        reached = True
    # newest first, like the packed ids of the linear case
    return [c.id for c in walker], reached or cursor is None


def _oldest_first(ids: list[pygit2.Oid] | bytearray) -> Iterator[pygit2.Oid]:
    if isinstance(ids, bytearray):
        for end in range(len(ids), 0, -20):
            yield pygit2.Oid(raw=bytes(ids[end - 20 : end]))
    else:
        yield from reversed(ids)


def read_epoch(epoch: Epoch, cursor: str | None) -> Iterator[PublicInboxItem]:
    """The commits of one epoch after `cursor`, oldest first, then the new cursor."""
    try:
        repo = pygit2.Repository(str(epoch.path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as exc:
        # e.g. libgit2 refusing a repository owned by another user (safe.directory)
        yield SourceProblem(str(epoch.path), "unreadable_archive", str(exc))
        return
    tip = _tip(repo)
    if tip is None:  # an empty epoch: just created, nothing archived yet
        return
    if cursor and str(tip.id) == cursor:
        return
    cursor_oid: pygit2.Oid | None = None
    if cursor:
        try:
            cursor_oid = pygit2.Oid(hex=cursor)
        except ValueError:
            cursor_oid = None
    ids, reached = _new_commit_ids(repo, tip, cursor_oid)
    if cursor and not reached:
        # public-inbox-purge rewrites history; the old cursor is not in the new one. Reading the
        # epoch again is safe (messages are replaced by Message-ID), but a purged message that is
        # only in the old history stays in the warehouse until a full reload: say so.
        yield SourceProblem(
            f"{epoch.name}:{cursor}",
            "history_rewritten",
            f"epoch {epoch.name}: last ingested commit is no longer in its history; re-reading the epoch",
        )
    last: str | None = None
    for oid in _oldest_first(ids):
        commit = repo[oid]
        sha = str(oid)
        location = f"{epoch.name}:{sha}"
        archived_at = datetime.fromtimestamp(commit.commit_time, UTC).replace(tzinfo=None)
        tree = commit.tree
        if "m" in tree:
            yield RawMessage(repo[tree["m"].id].data, location, None, archived_at)
        elif "d" in tree:
            yield DeletedMessage(repo[tree["d"].id].data, location)
        else:
            yield SourceProblem(location, "unexpected_commit", "commit tree holds neither 'm' nor 'd'")
        last = sha
    if last is not None:
        yield SourceCursor(cursor_key(epoch.name), last)
