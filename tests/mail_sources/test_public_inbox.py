"""public-inbox v2: archives built with pygit2, read in place and through a file:// clone."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from core.config import MailingListConfig
from extractors.mail.errors import SourceError
from extractors.mail.public_inbox import iter_public_inbox, local_epochs
from extractors.mail.raw import DeletedMessage, RawMessage, SourceCursor, SourceProblem
from tests.mail_sources.inbox_builder import Epoch, message

Item = RawMessage | DeletedMessage | SourceCursor | SourceProblem


def read(lst: MailingListConfig, cache: Path, state: dict[str, str]) -> list[Item]:
    """Everything the source yields; cursors are stored the way the ingest driver stores them."""
    items = list(iter_public_inbox(lst, cache, state))
    state.update({i.key: i.value for i in items if isinstance(i, SourceCursor)})
    return items


def kinds(items: list[Item]) -> list[str]:
    return [type(i).__name__ for i in items]


def build(root: Path) -> tuple[Epoch, Epoch, dict[str, str]]:
    """Two epochs: 0 with messages 0-2, 1 with message 3 and the deletion of message 1."""
    e0, e1 = Epoch(root / "git" / "0.git"), Epoch(root / "git" / "1.git")
    shas = {f"m{n}": e0.add(message(n)) for n in range(3)}
    shas["m3"] = e1.add(message(3))
    shas["d1"] = e1.delete(message(1))
    return e0, e1, shas


@pytest.mark.parametrize("layout", ["inbox", "flat"])
def test_local_layouts(tmp_path: Path, layout: str) -> None:
    build(tmp_path / "inbox")
    path = tmp_path / "inbox" if layout == "inbox" else tmp_path / "inbox" / "git"
    assert [e.name for e in local_epochs(path)] == ["0", "1"]
    assert [e.name for e in local_epochs(tmp_path / "inbox" / "git" / "1.git")] == ["1"]
    assert local_epochs(tmp_path) == []


def test_read_in_place_then_refresh(tmp_path: Path) -> None:
    e0, e1, shas = build(tmp_path / "inbox")
    lst = MailingListConfig(name="devel", kind="public-inbox", path=tmp_path / "inbox")
    state: dict[str, str] = {}

    items = read(lst, tmp_path / "cache", state)
    assert kinds(items) == ["RawMessage"] * 3 + [
        "SourceCursor",
        "RawMessage",
        "DeletedMessage",
        "SourceCursor",
    ]
    assert [i.location for i in items if isinstance(i, RawMessage | DeletedMessage)] == [
        f"0:{shas['m0']}",
        f"0:{shas['m1']}",
        f"0:{shas['m2']}",
        f"1:{shas['m3']}",
        f"1:{shas['d1']}",
    ]
    first = items[0]
    assert isinstance(first, RawMessage) and first.data == message(0) and first.from_line is None
    # archived_at is the commit time (naive UTC): the builder starts at 1_590_000_000 + 60
    assert first.archived_at is not None and first.archived_at.isoformat() == "2020-05-20T18:41:00"
    deleted = items[5]
    assert isinstance(deleted, DeletedMessage) and b"<msg1@example.com>" in deleted.data
    assert state == {"epoch:0": shas["m2"], "epoch:1": shas["d1"]}

    # nothing new: nothing read, no cursor moves
    assert read(lst, tmp_path / "cache", state) == []

    # two new messages in the newest epoch, then a new epoch
    n4, n5 = e1.add(message(4)), e1.add(message(5))
    n6 = Epoch(tmp_path / "inbox" / "git" / "2.git").add(message(6))
    items = read(lst, tmp_path / "cache", state)
    assert [i.location for i in items if isinstance(i, RawMessage)] == [f"1:{n4}", f"1:{n5}", f"2:{n6}"]
    assert kinds(items).count("RawMessage") == 3
    assert state == {"epoch:0": shas["m2"], "epoch:1": n5, "epoch:2": n6}


def test_clone_over_file_url_and_fetch(tmp_path: Path) -> None:
    _, e1, _ = build(tmp_path / "inbox")
    url = (tmp_path / "inbox" / "git").as_uri()  # file:///.../git, epochs probed as .../0(.git)
    lst = MailingListConfig(name="devel", kind="public-inbox", url=url)
    state: dict[str, str] = {}

    items = read(lst, tmp_path / "cache", state)
    assert kinds(items).count("RawMessage") == 4 and kinds(items).count("DeletedMessage") == 1
    clones = sorted(p.name for p in (tmp_path / "cache" / "public-inbox").glob("*/*.git"))
    assert clones == ["0.git", "1.git"]

    new = e1.add(message(7))
    items = read(lst, tmp_path / "cache", state)
    assert kinds(items) == ["RawMessage", "SourceCursor"]
    assert items[0].location == f"1:{new}"
    assert state["epoch:1"] == new

    # a URL naming one epoch clones just that one
    single = MailingListConfig(name="devel", kind="public-inbox", url=url + "/0.git")
    items = read(single, tmp_path / "cache2", {})
    assert kinds(items) == ["RawMessage"] * 3 + ["SourceCursor"]


def test_missing_remote_fails_the_source(tmp_path: Path) -> None:
    url = (tmp_path / "nothing").as_uri()
    lst = MailingListConfig(name="devel", kind="public-inbox", url=url)
    with pytest.raises(SourceError) as info:
        read(lst, tmp_path / "cache", {})
    assert str(info.value).startswith(f"mailing list 'devel': clone failed: {url} (")
    assert "\n" not in str(info.value)


def test_rewritten_history_rereads_the_epoch(tmp_path: Path) -> None:
    e0, _, _ = build(tmp_path / "inbox")
    lst = MailingListConfig(name="devel", kind="public-inbox", path=tmp_path / "inbox")
    state: dict[str, str] = {}
    read(lst, tmp_path / "cache", state)

    # public-inbox-purge: epoch 0 rewritten without message 1
    repo = e0.repo
    sig = pygit2.Signature("public-inbox", "pi@example.org", 1_600_000_000, 0)
    parent: list[pygit2.Oid] = []
    for n in (0, 2):
        tb = repo.TreeBuilder()
        tb.insert("m", repo.create_blob(message(n)), pygit2.enums.FileMode.BLOB)
        parent = [repo.create_commit(None, sig, sig, "m", tb.write(), parent)]
    repo.references["refs/heads/master"].set_target(parent[0])

    items = read(lst, tmp_path / "cache", state)
    assert kinds(items) == ["SourceProblem", "RawMessage", "RawMessage", "SourceCursor"]
    assert items[0].reason == "history_rewritten"
    assert state["epoch:0"] == str(parent[0])


def test_merge_in_history_falls_back_to_full_walk(tmp_path: Path) -> None:
    e0 = Epoch(tmp_path / "0.git")
    base = e0.add(message(0))
    repo = e0.repo
    sig = pygit2.Signature("x", "x@example.org", 1_600_000_000, 0)

    def commit(n: int, parents: list[str]) -> str:
        tb = repo.TreeBuilder()
        tb.insert("m", repo.create_blob(message(n)), pygit2.enums.FileMode.BLOB)
        return str(repo.create_commit(None, sig, sig, "m", tb.write(), [pygit2.Oid(hex=p) for p in parents]))

    a, b = commit(1, [base]), commit(2, [base])
    merge = commit(3, [a, b])
    repo.references["refs/heads/master"].set_target(pygit2.Oid(hex=merge))
    lst = MailingListConfig(name="devel", kind="public-inbox", path=tmp_path / "0.git")
    items = read(lst, tmp_path / "cache", {"epoch:0": base})
    got = sorted(i.data for i in items if isinstance(i, RawMessage))
    assert got == sorted([message(1), message(2), message(3)])
