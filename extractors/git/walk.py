"""Walking the commits reachable from a branch tip, optionally within a date window."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

import pygit2
from pygit2.enums import SortMode

from extractors.git.rawcommit import raw_walk


def commit_date(seconds: int) -> date | None:
    try:
        return datetime.fromtimestamp(seconds, UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def in_window(commit: pygit2.Commit, since: date | None, until: date | None) -> bool:
    """Is the commit's author date (UTC day) within [since, until]? Both ends inclusive."""
    if since is None and until is None:
        return True
    d = commit_date(commit.author.time)
    if d is None:
        return True  # an unreadable date is kept (and reported) rather than silently dropped
    return (since is None or d >= since) and (until is None or d <= until)


def iter_commits(
    repo: pygit2.Repository,
    tip: pygit2.Oid,
    *,
    since: date | None = None,
    until: date | None = None,
    hide: Iterable[str | pygit2.Oid] = (),
) -> Iterator[pygit2.Commit]:
    """Commits reachable from `tip` (and not from any `hide`), in no particular order.

    When libgit2 cannot parse a commit of the history (an author line without `<` or `>`), the
    rest of the walk reads raw objects instead (extractors.git.rawcommit), so one broken commit
    neither stops the extraction nor hides the history behind it."""
    hidden: list[pygit2.Oid] = []
    walker: pygit2.Walker | None
    try:
        walker = repo.walk(tip, SortMode.NONE)
    except pygit2.InvalidError:
        walker = None  # libgit2 rejects the tip itself
    raw = walker is None
    for h in hide:
        try:
            oid = h if isinstance(h, pygit2.Oid) else pygit2.Oid(hex=h)
        except ValueError:
            continue
        if walker is not None:
            try:
                walker.hide(oid)
            except pygit2.InvalidError:
                raw = True  # libgit2 rejects the hidden commit itself: only the raw walk can hide it
            except (KeyError, ValueError, pygit2.GitError):
                continue  # a hidden tip that no longer exists hides nothing
        hidden.append(oid)
    walked: set[pygit2.Oid] = set()
    if walker is not None and not raw:
        try:
            for commit in walker:
                walked.add(commit.id)
                if in_window(commit, since, until):
                    yield commit
            return
        except pygit2.InvalidError:
            pass  # a commit libgit2 rejects: walk the rest from the raw objects
    for commit in raw_walk(repo, tip, hidden):
        if commit.id not in walked and in_window(commit, since, until):  # type: ignore[arg-type]
            yield commit  # type: ignore[misc]


def reachable_shas(
    repo: pygit2.Repository,
    tip: pygit2.Oid,
    *,
    since: date | None = None,
    until: date | None = None,
    hide: Iterable[str | pygit2.Oid] = (),
) -> set[str]:
    return {str(c.id) for c in iter_commits(repo, tip, since=since, until=until, hide=hide)}
