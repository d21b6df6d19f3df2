"""Build small public-inbox v2 archives with pygit2, the way public-inbox itself writes them."""

from __future__ import annotations

from pathlib import Path

import pygit2


def message(n: int, subject: str | None = None) -> bytes:
    subject = subject or f"message {n}"
    return (
        f"From: Person {n} <person{n}@example.com>\n"
        f"To: list@example.org\n"
        f"Subject: {subject}\n"
        f"Date: Mon, 1 Jun 2020 12:{n % 60:02d}:00 +0000\n"
        f"Message-ID: <msg{n}@example.com>\n"
        f"\n"
        f"Body of message {n}.\n"
    ).encode()


class Epoch:
    """One epoch repository; each `add`/`delete` is one commit on refs/heads/master."""

    def __init__(self, path: Path) -> None:
        self.repo = pygit2.init_repository(str(path), bare=True)
        self.time = 1_590_000_000

    def _commit(self, name: str, data: bytes) -> str:
        self.time += 60
        sig = pygit2.Signature("public-inbox", "pi@example.org", self.time, 0)
        tb = self.repo.TreeBuilder()
        tb.insert(name, self.repo.create_blob(data), pygit2.enums.FileMode.BLOB)
        parents = [] if self.repo.head_is_unborn else [self.repo.head.target]
        oid = self.repo.create_commit("refs/heads/master", sig, sig, "msg", tb.write(), parents)
        return str(oid)

    def add(self, data: bytes) -> str:
        return self._commit("m", data)

    def delete(self, data: bytes) -> str:
        return self._commit("d", data)
