from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pygit2

from extractors.git.extract import iter_repository_rows
from tests.git.conftest import Git


def extract(
    repo_path: Path, *, paths: list[str] | None = None, workers: int = 1, **kw
) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = defaultdict(list)
    repo = pygit2.Repository(str(repo_path))
    for table, row in iter_repository_rows(
        "proj",
        "repo",
        repo,
        branch=kw.pop("branch", None),
        paths=paths or [],
        since=kw.pop("since", None),
        until=kw.pop("until", None),
        workers=workers,
        **kw,
    ):
        tables[table].append(row)
    return tables


def git_numstat(g: Git, pathspecs: list[str] | None = None) -> dict[str, list[tuple[int, int, bool]]]:
    """sha -> [(added, removed, is_binary)] from `git log --no-merges --numstat`."""
    args = ["log", "--no-merges", "--numstat", "--format=%x01%H"]
    if pathspecs:
        args += ["--full-history", "--", *pathspecs]
    out: dict[str, list[tuple[int, int, bool]]] = {}
    sha = None
    for line in g.text(*args).splitlines():
        if line.startswith("\x01"):
            sha = line[1:]
            out[sha] = []
        elif line.strip():
            a, r, _ = line.split("\t", 2)
            binary = a == "-"
            out[sha].append((0 if binary else int(a), 0 if binary else int(r), binary))  # type: ignore[index]
    return out


def git_patch_ids(g: Git, pathspecs: list[str] | None = None) -> dict[str, str]:
    args = ["log", "-p", "--no-merges"]
    if pathspecs:
        args += ["--full-history", "--", *pathspecs]
    text = g("log", *args[1:])
    out = g("patch-id", "--stable", input=text).decode()
    return {line.split()[1]: line.split()[0] for line in out.splitlines()}


def git_trailers(g: Git, sha: str) -> list[tuple[str, str]]:
    body = g("log", "-1", "--format=%B", sha)
    out = g("interpret-trailers", "--parse", input=body).decode("utf-8", errors="replace")
    pairs = []
    for line in out.splitlines():
        key, _, value = line.partition(":")
        pairs.append((key.strip().lower(), value.strip()))
    return pairs


def table_set(rows: list[dict]) -> set[tuple]:
    return {tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows}
