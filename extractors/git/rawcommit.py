"""Commits libgit2 refuses to read, read from their raw bytes instead.

libgit2 rejects a whole commit whose author or committer line lacks `<` or `>`
(`author Jane Doe <jane@example.com 1281975250 +0100`, `committer Jane Doe jane@example.com ...`):
looking it up, and walking any history that holds it, fails with "failed to parse signature -
malformed e-mail". git itself reads such commits (with an empty identity). `RawCommit` offers
what the extraction reads from a pygit2.Commit, parsed from the object's bytes; its identity
fields go through extractors.git.identity like every other (the address is found in the text).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pygit2
from pygit2.enums import ObjectType

_DATE = re.compile(rb"\s+(-?\d+)(?:\s+([+-])(\d\d)(\d\d))?\s*$")


@dataclass(frozen=True, slots=True)
class RawSignature:
    raw_name: bytes
    raw_email: bytes
    time: int
    offset: int  # minutes east of UTC


def parse_ident(line: bytes) -> RawSignature:
    """`Name <email> time tz`, tolerating a missing `<` or `>` (all text then is the name)."""
    m = _DATE.search(line)
    time, offset = 0, 0
    if m:
        time = int(m.group(1))
        if m.group(2):
            offset = int(m.group(3)) * 60 + int(m.group(4))
            offset = -offset if m.group(2) == b"-" else offset
        line = line[: m.start()]
    lt, gt = line.find(b"<"), line.rfind(b">")
    if 0 <= lt < gt:
        return RawSignature(line[:lt].strip(), line[lt + 1 : gt].strip(), time, offset)
    return RawSignature(line.strip(), b"", time, offset)


class RawCommit:
    """The parts of a pygit2.Commit the extraction reads, from the commit object's bytes."""

    __slots__ = (
        "_repo",
        "author",
        "committer",
        "id",
        "message_encoding",
        "parent_ids",
        "raw_message",
        "tree_id",
    )

    def __init__(self, repo: pygit2.Repository, oid: pygit2.Oid, data: bytes) -> None:
        header, _, message = data.partition(b"\n\n")
        self._repo = repo
        self.id = oid
        self.raw_message = message
        self.parent_ids: list[pygit2.Oid] = []
        self.message_encoding: str | None = None
        self.tree_id: pygit2.Oid | None = None
        self.author = self.committer = RawSignature(b"", b"", 0, 0)
        for line in header.split(b"\n"):
            key, _, value = line.partition(b" ")
            if key == b"tree":
                self.tree_id = pygit2.Oid(hex=value.strip().decode("ascii"))
            elif key == b"parent":
                self.parent_ids.append(pygit2.Oid(hex=value.strip().decode("ascii")))
            elif key == b"author":
                self.author = parse_ident(value)
            elif key == b"committer":
                self.committer = parse_ident(value)
            elif key == b"encoding":
                self.message_encoding = value.strip().decode("ascii", "replace")

    @property
    def tree(self) -> pygit2.Tree:
        return self._repo[self.tree_id]  # type: ignore[return-value]


def read_commit(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Commit | RawCommit:
    """The commit as pygit2 reads it, or as a RawCommit when libgit2 rejects its header."""
    try:
        return repo[oid]  # type: ignore[return-value]
    except pygit2.InvalidError:
        kind, data = repo.odb.read(oid)
        if kind != ObjectType.COMMIT:
            raise
        return RawCommit(repo, oid, data)


def commit_tree_id(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Oid:
    return read_commit(repo, oid).tree_id  # type: ignore[return-value]


def _parents(repo: pygit2.Repository, oid: pygit2.Oid) -> list[pygit2.Oid]:
    kind, data = repo.odb.read(oid)
    if kind != ObjectType.COMMIT:
        return []
    out = []
    for line in data.partition(b"\n\n")[0].split(b"\n"):
        if line.startswith(b"parent "):
            out.append(pygit2.Oid(hex=line[7:].strip().decode("ascii")))
    return out


def raw_walk(
    repo: pygit2.Repository, tip: pygit2.Oid, hide: Iterable[pygit2.Oid] = ()
) -> Iterator[pygit2.Commit | RawCommit]:
    """Commits reachable from `tip` and not from `hide`, read from raw objects (breadth first,
    so every process that walks the same history sees the same order)."""
    hidden: set[pygit2.Oid] = set()
    queue = deque(h for h in hide)
    while queue:
        oid = queue.popleft()
        if oid in hidden:
            continue
        try:
            parents = _parents(repo, oid)
        except (KeyError, ValueError, pygit2.GitError):
            continue
        hidden.add(oid)
        queue.extend(parents)
    seen: set[pygit2.Oid] = set()
    queue = deque([tip])
    while queue:
        oid = queue.popleft()
        if oid in seen or oid in hidden:
            continue
        seen.add(oid)
        try:
            commit = read_commit(repo, oid)
        except (KeyError, ValueError, pygit2.GitError):
            continue  # a missing parent (shallow clone): nothing to walk behind it
        yield commit
        queue.extend(commit.parent_ids)
