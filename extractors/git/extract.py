"""Rows of the raw git tables for the commits of one repository branch.

Semantics follow git: non-merge commits count their lines like `git log --no-merges --numstat`;
merges are kept (is_merge, parent_count) without files or lines. With a path scope a commit is
emitted only when it changes an in-scope file: a non-merge that touches the scope (as
`git log --full-history --no-merges -- <pathspecs>`, so a side branch's commits count even when
git's default history simplification would hide them), a merge that differs from every parent
within the scope (as plain `git log -- <pathspecs>` shows merges). Its files and lines cover
in-scope files only; its patch-id is the whole commit's (what was posted to the list).

With `workers > 1` the history is split between the calling process and forked processes, each
with its own `Repository` (libgit2 objects do not cross processes): the parent walks the history
once and deals its commit ids out in a few long blocks of consecutive commits, in turn, so
neighbouring commits, which share most trees and blob versions, stay in one process and its
caches. Rows stream back in chunks
through a bounded queue so memory does not grow with the history. A worker ends with its parent
and on SIGTERM (core.procs).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from queue import Empty
from typing import Any

import pygit2
from pygit2.enums import ObjectType

from core.procs import init_worker
from extractors.git.diffstat import ChangeReader, TreeChanges
from extractors.git.identity import identity
from extractors.git.rawcommit import RawCommit, commit_tree_id, read_commit
from extractors.git.repository import resolve_branch
from extractors.git.scope import PathScope
from extractors.git.trailers import trailer_people
from extractors.git.walk import iter_commits

Row = tuple[str, dict[str, Any]]
Progress = Callable[[int], None]

_EPOCH = datetime(1970, 1, 1)
CHUNK_ROWS = 2000  # rows per message from a worker
WHOLE_TREE_CACHE_BYTES = 128 << 20


def _configure_libgit2() -> None:
    """Process-wide libgit2 settings for extraction (they are global in libgit2)."""
    # git does not verify object hashes on read; libgit2 does, for about a quarter of the time.
    pygit2.settings.enable_strict_hash_verification(False)
    # libgit2's object cache, once full, evicts by scanning its hash table from the first bucket
    # on every store: past a few thousand commits that scan cost more than the cache saved. On
    # a 50,000-commit history with one worker: 26.2 s with a 64 MB cache (trees up to 1 MB),
    # 20.4 s with 256 MB for trees only (868 MB of RSS), 21.9 s with no cache (219 MB of RSS). The fast path
    # caches the trees it compares and the blobs in Python (diffstat.ChangeReader), and turns
    # the cache on for the whole-tree diff only, which reads whole trees again and again.
    pygit2.settings.enable_caching(False)
    pygit2.settings.cache_max_size(WHOLE_TREE_CACHE_BYTES)
    pygit2.settings.cache_object_limit(ObjectType.TREE, 1 << 20)  # default 4 KB: a large directory


_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_GLIBC_DEFAULTS = {_M_TRIM_THRESHOLD: 128 << 10, _M_TOP_PAD: 128 << 10, _M_MMAP_THRESHOLD: 128 << 10}


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt  # noqa: B018 - glibc only
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def _keep_heap(keep: bool = True) -> None:
    """Stop glibc from returning freed memory to the kernel after every object (or restore).

    libgit2 allocates and frees object and diff buffers of tens to hundreds of KB per file; with
    glibc's defaults these go back to the kernel at once and every next allocation faults fresh
    zeroed pages in (about 18 page faults a commit, some 5 % of the CPU time). Restoring the
    defaults (a process that goes on after the extraction) also hands the kept memory back.
    """
    libc = _libc()
    if libc is None:
        return  # not glibc: nothing to tune
    if keep:
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
        libc.mallopt(_M_TOP_PAD, 16 << 20)
    else:
        for param, value in _GLIBC_DEFAULTS.items():
            libc.mallopt(param, value)
        libc.malloc_trim(0)


def _no_gc() -> bool:
    """Turn the cyclic garbage collector off; True when it was on (the caller turns it back on).

    The extraction allocates millions of short-lived tuples and dicts (rows, tree entries) that
    never form cycles, and every 700 allocations more than frees the collector scanned the young
    objects again, every so often all of them: 7 % of the CPU time of one worker. Without it
    the memory is the same (reference counting frees all of it).
    """
    was = gc.isenabled()
    gc.disable()
    return was


# With the parent diffing a share too, it looks at the queue every POLL_COMMITS commits of its own,
# but a batch of its own (BATCH_COMMITS) is diffed in one go: room for the chunks a worker makes
# meanwhile (a chunk is CHUNK_ROWS rows, about 1 MB), so that it does not wait.
PARENT_QUEUE_CHUNKS = 16
POLL_COMMITS = 256
# Each worker takes this many blocks of consecutive commits, in turn with the others: few and
# long blocks keep a file's or directory's successive versions, often hundreds of commits apart,
# in one process and its caches (with blocks of 64 commits two workers were slower than one on
# a 40,000-file tree), several blocks each even out cheaper and dearer stretches of history.
BLOCKS_PER_WORKER = 4
MIN_BLOCK = 64
# Commits diffed together, their files' versions read grouped by path (ChangeReader.changes_many):
# the more, the more of a file's delta chain is reused (blob reads on the 50,000-commit benchmark:
# 2.5 s for 20,000 commits one by one, 1.6 s in batches of 250 commits, 0.8 s of 1,000, 0.4 s of
# 4,000); their rows wait for the batch, a few MB.
BATCH_COMMITS = 4096


@dataclass(frozen=True, slots=True)
class _Context:
    project: str
    repository: str
    scope: PathScope
    shallow: frozenset[str]


def _decode(raw: bytes | None, encoding: str | None) -> str:
    if not raw:
        return ""
    if encoding:
        try:
            return raw.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Undeclared legacy bytes are nearly always Latin-1 names: decode them as such rather
        # than with replacement characters, so "M\xfcller" stays readable (never fails).
        return raw.decode("latin-1")


def _timestamp(seconds: int) -> datetime | None:
    try:
        return _EPOCH + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None


def _subject(message: str) -> str:
    # git's %s: the first paragraph, lines joined with spaces
    text = message.lstrip("\n")
    first, _, rest = text.partition("\n")
    if not rest.partition("\n")[0].strip():  # a one-line first paragraph, as nearly always
        return first.strip()
    lines: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            break
        lines.append(line.strip())
    return " ".join(lines)


def _read_shallow(repo: pygit2.Repository) -> frozenset[str]:
    try:
        text = (Path(repo.path) / "shallow").read_text()
    except OSError:
        return frozenset()
    return frozenset(line.strip() for line in text.split() if line.strip())


def _parent_ids(commit: pygit2.Commit, ctx: _Context) -> list[pygit2.Oid]:
    return [] if str(commit.id) in ctx.shallow else list(commit.parent_ids)


def commit_rows(
    repo: pygit2.Repository,
    commit: pygit2.Commit,
    ctx: _Context,
    reader: ChangeReader | None = None,
    diff: TreeChanges | Exception | None = None,
    parent_ids: list[pygit2.Oid] | None = None,
) -> list[Row]:
    """All rows for one commit; empty when the commit is outside the scope. `diff` is the
    commit's `ChangeReader.changes` against its parent when already read (not for merges)."""
    if reader is None:
        reader = ChangeReader(repo, ctx.scope)
    sha = str(commit.id)
    base = {"project": ctx.project, "repository": ctx.repository, "sha": sha}
    out: list[Row] = []

    def quarantine(reason: str, detail: str) -> None:
        out.append(("git_quarantine", {**base, "reason": reason, "detail": detail[:1000]}))

    if parent_ids is None:
        parent_ids = _parent_ids(commit, ctx)
    if sha in ctx.shallow:
        quarantine(
            "shallow_boundary", "parents not in the clone: counted against the empty tree, as git does"
        )
    scoped = bool(ctx.scope)
    files: list | None = None
    pid: str | None = None
    try:
        if len(parent_ids) > 1:
            tree = commit.tree
            if scoped and not all(
                ctx.scope.trees_differ(repo[commit_tree_id(repo, p)], tree) for p in parent_ids
            ):
                return []
        else:
            if diff is None:
                old = commit_tree_id(repo, parent_ids[0]) if parent_ids else None
                diff = reader.changes(old, commit.tree_id)
            elif isinstance(diff, Exception):
                raise diff
            files, pid = diff
            if scoped and not files:
                return []
    except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
        if scoped:
            quarantine("unreadable", f"cannot diff against the scope: {exc}")
            return out
        quarantine("diff_failed", f"{type(exc).__name__}: {exc}")

    encoding = commit.message_encoding
    author, committer = commit.author, commit.committer
    authored_at = _timestamp(author.time)
    committed_at = _timestamp(committer.time)
    if authored_at is None or committed_at is None:
        quarantine("bad_date", f"author time {author.time}, committer time {committer.time}: kept with null")
    message = _decode(commit.raw_message, encoding)
    author_name, author_address = identity(
        _decode(author.raw_name, encoding), _decode(author.raw_email, encoding)
    )
    committer_name, committer_address = identity(
        _decode(committer.raw_name, encoding), _decode(committer.raw_email, encoding)
    )
    is_merge = len(parent_ids) > 1
    project, repository = ctx.project, ctx.repository
    commit_row = {
        "project": project,
        "repository": repository,
        "sha": sha,
        "author_name": author_name,
        "author_address": author_address,
        "authored_at": authored_at,
        "author_tz_offset": author.offset,
        "committer_name": committer_name,
        "committer_address": committer_address,
        "committed_at": committed_at,
        "committer_tz_offset": committer.offset,
        "is_merge": is_merge,
        "parent_count": len(parent_ids),
        "subject": _subject(message),
        "patch_id": pid,
        "files_changed": 0 if is_merge else None,
        "lines_added": 0 if is_merge else None,
        "lines_removed": 0 if is_merge else None,
    }
    out.append(("git_commits", commit_row))
    if files is not None and not is_merge:
        # the file rows and the commit's sums in one pass (about 4 files per commit)
        added = removed = 0
        for path, old_path, change_type, a, r, is_binary in files:  # FileChange, a named tuple
            added += a
            removed += r
            out.append(
                (
                    "git_file_changes",
                    {
                        "project": project,
                        "repository": repository,
                        "sha": sha,
                        "path": path,
                        "old_path": old_path,
                        "change_type": change_type,
                        "lines_added": a,
                        "lines_removed": r,
                        "is_binary": is_binary,
                    },
                )
            )
        commit_row["files_changed"] = len(files)
        commit_row["lines_added"] = added
        commit_row["lines_removed"] = removed
    # every trailer has a `Key:` separator: a message without ':' has none (a cheap skip)
    if ":" in message:
        for position, trailer in enumerate(trailer_people(message)):
            out.append(
                (
                    "git_trailers",
                    {
                        "project": project,
                        "repository": repository,
                        "sha": sha,
                        "kind": trailer.kind,
                        "name": trailer.name,
                        "address": trailer.address,
                        "raw_value": trailer.raw_value,
                        "position": position,
                    },
                )
            )
    return out


def _iter_share(
    repo: pygit2.Repository,
    tip: pygit2.Oid,
    ctx: _Context,
    since: date | None,
    until: date | None,
    skip: Iterable[str],
    hide: Iterable[str],
) -> Iterator[list[Row]]:
    """Rows per commit of the whole history (skipped commits left out), in walk order."""
    yield from _iter_commit_rows(
        repo, iter_commits(repo, tip, since=since, until=until, hide=hide), ctx, skip
    )


def _iter_commit_rows(
    repo: pygit2.Repository,
    commits: Iterable[pygit2.Commit | RawCommit],
    ctx: _Context,
    skip: Iterable[str],
) -> Iterator[list[Row]]:
    """Rows per commit of `commits` (skipped commits left out), in their order, in batches."""
    skip_set = skip if isinstance(skip, set | frozenset) else set(skip)
    reader = ChangeReader(repo, ctx.scope)
    batch: list[pygit2.Commit] = []
    for commit in commits:
        if skip_set and str(commit.id) in skip_set:
            continue
        batch.append(commit)  # type: ignore[arg-type]
        if len(batch) >= BATCH_COMMITS:
            yield from _batch_rows(repo, batch, ctx, reader)
            batch = []
    yield from _batch_rows(repo, batch, ctx, reader)


def split_blocks(ids: list[pygit2.Oid], shares: int, block: int) -> list[list[pygit2.Oid]]:
    """Each worker's commits: blocks of `block` consecutive commits of the walk, dealt in turn."""
    out: list[list[pygit2.Oid]] = [[] for _ in range(shares)]
    for start in range(0, len(ids), block):
        out[(start // block) % shares].extend(ids[start : start + block])
    return out


def _batch_rows(
    repo: pygit2.Repository, commits: list[pygit2.Commit], ctx: _Context, reader: ChangeReader
) -> Iterator[list[Row]]:
    """Rows per commit of a batch, the non-merges diffed together (ChangeReader.changes_many)."""
    diffs: list[TreeChanges | Exception | None] = [None] * len(commits)
    pairs: list[tuple[pygit2.Oid | None, pygit2.Oid]] = []
    at: list[int] = []
    # a commit's parent is nearly always in the same batch, its tree id at hand (reading the
    # parent commit again would cost a pack read per commit)
    trees = {commit.id: commit.tree_id for commit in commits}
    parents: list[list[pygit2.Oid] | None] = [None] * len(commits)
    for k, commit in enumerate(commits):
        try:
            parent_ids = parents[k] = _parent_ids(commit, ctx)
            if len(parent_ids) > 1:
                continue
            parent_tree = None
            if parent_ids:
                parent_tree = trees.get(parent_ids[0]) or commit_tree_id(repo, parent_ids[0])
            pairs.append((parent_tree, trees[commit.id]))
            at.append(k)
        except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
            diffs[k] = exc
    try:
        for k, diff in zip(at, reader.changes_many(pairs), strict=True):
            diffs[k] = diff
    except Exception:  # something unforeseen: diff each commit on its own, where it is reported
        diffs = [d if isinstance(d, Exception) else None for d in diffs]
    for commit, diff, parent_ids in zip(commits, diffs, parents, strict=True):
        try:
            yield commit_rows(repo, commit, ctx, reader, diff, parent_ids)
        except Exception as exc:  # never let one odd commit stop the repository
            yield [
                (
                    "git_quarantine",
                    {
                        "project": ctx.project,
                        "repository": ctx.repository,
                        "sha": str(commit.id),
                        "reason": "unreadable",
                        "detail": f"{type(exc).__name__}: {exc}"[:1000],
                    },
                )
            ]


def _worker(
    repo_path: str,
    ids: list[pygit2.Oid],
    ctx: _Context,
    skip: Iterable[str],
    queue: Any,
    parent_pid: int,
) -> None:
    init_worker(parent_pid)  # dies with the parent and on SIGTERM, whatever handlers it inherited
    _no_gc()  # a worker process ends with the extraction
    try:
        _configure_libgit2()
        _keep_heap()  # a worker process ends with the extraction
        repo = pygit2.Repository(repo_path)  # libgit2 handles must not be shared across fork
        buf: list[Row] = []
        commits = 0
        # the parent walked the history once and dealt out the commit ids: no walk here
        for rows in _iter_commit_rows(repo, (read_commit(repo, oid) for oid in ids), ctx, skip):
            commits += 1
            buf.extend(rows)
            if len(buf) >= CHUNK_ROWS:
                queue.put(("rows", commits, buf))
                buf, commits = [], 0
        queue.put(("rows", commits, buf))
        queue.put(("done", 0, None))
    except BaseException:
        queue.put(("error", 0, traceback.format_exc()))


def iter_repository_rows(
    project: str,
    repo_name: str,
    repo: pygit2.Repository,
    *,
    branch: str | None,
    paths: list[str],
    since: date | None,
    until: date | None,
    skip: set[str] | frozenset[str] = frozenset(),
    workers: int = 2,
    progress: Progress | None = None,
    hide: Iterable[str] = (),
) -> Iterator[Row]:
    """Yield (table, row) for every commit reachable from the branch tip, in scope and window.

    `skip` holds SHAs already ingested; `hide` holds commits whose ancestors are known (their
    history is not walked). `progress(n)` is called with the number of commits examined so far
    (in scope or not, `skip` excluded).
    """
    _configure_libgit2()
    tip = resolve_branch(repo, branch, repo_name).id
    ctx = _Context(project, repo_name, PathScope(paths), _read_shallow(repo))
    hide = [str(h) for h in hide]
    done = 0
    if workers <= 1:
        _keep_heap()
        collecting = _no_gc()
        try:
            for rows in _iter_share(repo, tip, ctx, since, until, skip, hide):
                done += 1
                yield from rows
                if progress is not None and done % 500 == 0:
                    progress(done)
        finally:
            _keep_heap(False)
            if collecting:
                gc.enable()
        if progress is not None:
            progress(done)
        return

    # the history is walked once, here; each worker reads only its own commits (by id: Oids
    # hold no libgit2 handle, and the forked workers inherit the lists without pickling)
    ids = [c.id for c in iter_commits(repo, tip, since=since, until=until, hide=hide)]
    block = max(MIN_BLOCK, -(-len(ids) // (workers * BLOCKS_PER_WORKER)))
    shares = split_blocks(ids, workers, block)
    del ids
    mpctx = mp.get_context("fork")
    # the parent diffs the first share itself (its rows need no pickling, no pipe); the queue
    # holds what the others make meanwhile, between the parent's looks at it
    queue = mpctx.Queue(maxsize=PARENT_QUEUE_CHUNKS * (workers - 1))
    procs = [
        mpctx.Process(
            target=_worker,
            args=(repo.path, shares[k], ctx, skip, queue, os.getpid()),
            daemon=True,
        )
        for k in range(1, workers)
    ]
    for p in procs:
        p.start()
    own = shares[0]
    del shares
    # the rows arrive pickled: unpickling them allocates as many dicts as the workers made,
    # and the cyclic collector would scan them again and again (no cycles among them)
    collecting = _no_gc()
    _keep_heap()
    running = len(procs)

    def received(message: tuple[str, int, Any]) -> list[Row]:
        nonlocal running, done
        kind, commits, payload = message
        if kind == "done":
            running -= 1
            return []
        if kind == "error":
            raise RuntimeError(f"git repository '{repo_name}': extraction worker failed:\n{payload}")
        done += commits
        if progress is not None:
            progress(done)
        return payload  # type: ignore[no-any-return]

    try:
        commits = (read_commit(repo, oid) for oid in own)
        for rows in _iter_commit_rows(repo, commits, ctx, skip):
            done += 1
            yield from rows
            if done % POLL_COMMITS == 0:
                if progress is not None:
                    progress(done)
                while running:  # what the workers sent meanwhile, without waiting for more
                    try:
                        message = queue.get_nowait()
                    except Empty:
                        break
                    yield from received(message)
        del own
        if progress is not None:
            progress(done)
        while running:
            try:
                message = queue.get(timeout=10)
            except Empty:
                # a worker killed from outside (e.g. out of memory) never reports: do not wait forever
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(
                        f"git repository '{repo_name}': extraction worker exited with code {dead[0].exitcode}"
                    ) from None
                continue
            yield from received(message)
        for p in procs:
            p.join()
    finally:
        _keep_heap(False)
        if collecting:
            gc.enable()
        _end(procs)
        queue.close()


def _end(procs: list[Any], grace: float = 5.0) -> None:
    """Terminate the workers still running (an error or an interruption ended the extraction early),
    and kill any that has not ended `grace` seconds later."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()
