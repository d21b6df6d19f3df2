"""Opening repositories: a local path, or a URL cloned bare into the cache and fetched later."""

from __future__ import annotations

import fcntl
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2

from core.errors import CommstatsError
from extractors.git.rawcommit import read_commit

if TYPE_CHECKING:  # a type only: the config model (pydantic) is not needed to read a repository
    from core.config import RepositoryConfig

FETCH_REFSPEC = "+refs/heads/*:refs/remotes/origin/*"


class GitSourceError(CommstatsError):
    """A repository that cannot be read; str() is one line naming the repository."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def cache_path(cache_dir: Path, url: str) -> Path:
    """Where the bare clone of `url` lives: one clone per URL, shared by every project."""
    tail = re.sub(r"[^A-Za-z0-9._-]+", "_", url.rstrip("/").rsplit("/", 1)[-1]).removesuffix(".git")
    digest = hashlib.sha1(url.encode()).hexdigest()[:12]
    return Path(cache_dir) / "git" / f"{tail or 'repo'}-{digest}.git"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two projects may share a clone; serialize clone/fetch between processes.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def open_repository(repo_cfg: RepositoryConfig, cache_dir: Path, *, fetch: bool = True) -> pygit2.Repository:
    """Open a configured repository; clone or fetch it first when it is given by URL."""
    name = repo_cfg.name
    if repo_cfg.path is not None:
        path = Path(repo_cfg.path)
        if not path.exists():
            raise GitSourceError(f"git repository '{name}': path {path} does not exist")
        try:
            # exactly this path: without NO_SEARCH libgit2 walks up to an enclosing work tree and
            # would silently read another repository
            return pygit2.Repository(str(path), flags=pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
        except (pygit2.GitError, KeyError) as exc:
            raise GitSourceError(
                f"git repository '{name}': {path} is not a git repository ({_first_line(exc)})"
            ) from None
    url = repo_cfg.url
    assert url is not None
    dest = cache_path(cache_dir, url)
    action = "fetch" if (dest / "HEAD").exists() else "clone"
    try:
        with _locked(dest):
            if (dest / "HEAD").exists():
                repo = pygit2.Repository(str(dest))
                if fetch:
                    remote = repo.remotes["origin"]
                    remote.fetch([FETCH_REFSPEC], prune=True)
                return repo
            tmp = dest.with_name(dest.name + ".partial")
            if tmp.exists():
                import shutil

                shutil.rmtree(tmp)
            pygit2.clone_repository(url, str(tmp), bare=True)
            tmp.rename(dest)
            return pygit2.Repository(str(dest))
    except pygit2.GitError as exc:
        raise GitSourceError(f"git repository '{name}': cannot {action} {url} ({_first_line(exc)})") from None
    except OSError as exc:
        raise GitSourceError(
            f"git repository '{name}': cannot clone {url} into {dest} ({_first_line(exc)})"
        ) from None


def resolve_branch(repo: pygit2.Repository, branch: str | None, name: str = "") -> pygit2.Commit:
    """The tip commit of `branch`, or of the default branch (the remote's HEAD) when None."""
    label = f"git repository '{name or repo.path}'"
    is_clone = "origin" in [r.name for r in repo.remotes] and repo.is_bare
    candidates: list[str] = []
    if branch is None:
        if repo.head_is_unborn:
            raise GitSourceError(f"{label}: HEAD names no commit (empty repository?)")
        head = repo.references["HEAD"].target
        short = head.removeprefix("refs/heads/") if isinstance(head, str) else None
        if short and is_clone:
            candidates.append(f"refs/remotes/origin/{short}")
        candidates.append("HEAD")
    else:
        b = branch.removeprefix("refs/heads/")
        if is_clone:
            candidates.append(f"refs/remotes/origin/{b}")
        candidates += [f"refs/heads/{b}", branch]
    for ref in candidates:
        try:
            obj = repo.revparse_single(ref)
        except pygit2.InvalidError:
            # libgit2 rejects the tip commit's header (an identity without `<` or `>`): read it raw
            try:
                return read_commit(repo, repo.lookup_reference_dwim(ref).resolve().target)  # type: ignore[return-value, arg-type]
            except (KeyError, pygit2.GitError, ValueError):
                continue
        except (KeyError, pygit2.GitError, ValueError):
            continue
        commit = obj.peel(pygit2.Commit)
        if commit is not None:
            return commit
    raise GitSourceError(f"{label}: branch '{branch or 'HEAD'}' not found")
