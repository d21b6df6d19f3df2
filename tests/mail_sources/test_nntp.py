"""nntp: a tiny loopback NNTP server; ingest, add articles, refresh reads only the new ones."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.config import MailingListConfig
from extractors.mail.errors import SourceError
from extractors.mail.nntp import NntpUrl, iter_nntp
from extractors.mail.raw import RawMessage, SourceCursor, SourceProblem

GROUP = "comp.emulators.test"


def article(n: int, body_extra: str = "") -> bytes:
    return (
        f"From: Poster {n} <poster{n}@example.com>\r\n"
        f"Newsgroups: {GROUP}\r\n"
        f"Subject: article {n}\r\n"
        f"Message-ID: <art{n}@example.com>\r\n"
        f"Date: Tue, 2 Jun 2020 10:00:{n % 60:02d} +0000\r\n"
        f"\r\n"
        f"Text of article {n}.\r\n{body_extra}"
    ).encode()


@dataclass
class NewsState:
    articles: dict[int, bytes] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    listgroup: bool = True
    drop_after_articles: int | None = None  # hang up after serving this many ARTICLEs (once)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def article_requests(self) -> list[int]:
        return [int(c.split()[1]) for c in self.commands if c.startswith("ARTICLE ")]


def make_handler(news: NewsState) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def send(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.send("200 test server ready")
            served = 0
            while True:
                raw = self.rfile.readline()
                if not raw:
                    return
                cmd = raw.decode().strip()
                with news.lock:
                    news.commands.append(cmd)
                    numbers = sorted(news.articles)
                verb, *args = cmd.split()
                verb = verb.upper()
                if verb == "QUIT":
                    self.send("205 bye")
                    return
                if verb == "MODE":
                    self.send("200 reader mode")
                elif verb == "GROUP":
                    if args[0] != GROUP:
                        self.send("411 no such group")
                    elif numbers:
                        self.send(f"211 {len(numbers)} {numbers[0]} {numbers[-1]} {GROUP}")
                    else:
                        self.send(f"211 0 1 0 {GROUP}")
                elif verb == "LISTGROUP" and news.listgroup:
                    lo, _, hi = args[1].partition("-")
                    self.send(f"211 {len(numbers)} list follows")
                    for n in numbers:
                        if int(lo) <= n <= int(hi):
                            self.send(str(n))
                    self.send(".")
                elif verb == "ARTICLE":
                    n = int(args[0])
                    if news.drop_after_articles is not None and served >= news.drop_after_articles:
                        news.drop_after_articles = None
                        return  # hang up mid-session
                    data = news.articles.get(n)
                    if data is None:
                        self.send("423 no such article")
                        continue
                    served += 1
                    self.send(f"220 {n} <art{n}@example.com>")
                    for line in data.decode().removesuffix("\r\n").split("\r\n"):
                        self.send("." + line if line.startswith(".") else line)
                    self.send(".")
                else:
                    self.send("500 unknown command")
                self.wfile.flush()

    return Handler


@pytest.fixture
def news() -> Iterator[tuple[NewsState, str]]:
    state = NewsState()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"nntp://127.0.0.1:{server.server_address[1]}/{GROUP}"
    finally:
        server.shutdown()
        server.server_close()


def lst_for(url: str) -> MailingListConfig:
    return MailingListConfig(name="test", kind="nntp", url=url, options={"backoff": 0.01})


def run(url: str, state: dict[str, str]) -> tuple[list[RawMessage], list[SourceProblem]]:
    messages, problems = [], []
    for item in iter_nntp(lst_for(url), Path("/nonexistent"), state):
        if isinstance(item, RawMessage):
            messages.append(item)
        elif isinstance(item, SourceCursor):
            state[item.key] = item.value
        else:
            problems.append(item)
    return messages, problems


def test_url_parsing() -> None:
    u = NntpUrl.parse("nntp://news.example.org/comp.lang.python")
    assert (u.host, u.port, u.group, u.tls) == ("news.example.org", 119, "comp.lang.python", False)
    assert NntpUrl.parse("nntps://h:5563/g.x").port == 5563
    with pytest.raises(ValueError):
        NntpUrl.parse("http://h/g")


def test_incremental_by_article_number(news: tuple[NewsState, str]) -> None:
    server, url = news
    # 4 is a hole (expired); 3 has a line starting with a dot, dot-stuffed on the wire
    for n in (1, 2, 3, 5):
        server.articles[n] = article(n, ".dotted line\r\n" if n == 3 else "")
    state: dict[str, str] = {}
    messages, problems = run(url, state)
    assert problems == []
    assert [m.location for m in messages] == [f"{url}#{n}" for n in (1, 2, 3, 5)]
    assert b"\n.dotted line\n" in messages[2].data and b"\r" not in messages[2].data
    assert state == {f"group:{GROUP}": "5"}
    assert server.article_requests() == [1, 2, 3, 5]  # LISTGROUP let it skip the hole

    # nothing new: nothing read, cursor unchanged
    messages, _ = run(url, state)
    assert messages == [] and state == {f"group:{GROUP}": "5"}

    server.articles[6] = article(6)
    server.articles[7] = article(7)
    server.commands.clear()
    messages, problems = run(url, state)
    assert problems == []
    assert [m.data for m in messages] == [
        article(6).replace(b"\r\n", b"\n"),
        article(7).replace(b"\r\n", b"\n"),
    ]
    assert server.article_requests() == [6, 7]
    assert state == {f"group:{GROUP}": "7"}


def test_without_listgroup_reads_number_by_number(news: tuple[NewsState, str]) -> None:
    server, url = news
    server.listgroup = False
    for n in (10, 12):
        server.articles[n] = article(n)
    state: dict[str, str] = {}
    messages, problems = run(url, state)
    assert problems == [] and len(messages) == 2
    assert server.article_requests() == [10, 11, 12]
    assert state[f"group:{GROUP}"] == "12"


def test_dropped_connection_resumes(news: tuple[NewsState, str]) -> None:
    server, url = news
    for n in range(1, 6):
        server.articles[n] = article(n)
    server.drop_after_articles = 2
    state: dict[str, str] = {}
    messages, problems = run(url, state)
    assert problems == []
    assert [m.location.rsplit("#", 1)[1] for m in messages] == ["1", "2", "3", "4", "5"]
    assert server.article_requests() == [1, 2, 3, 3, 4, 5]


def test_missing_group_fails_the_source(news: tuple[NewsState, str]) -> None:
    _, url = news
    with pytest.raises(
        SourceError, match=r"^mailing list '\S+': cannot read nntp://\S+/no\.such\.group \(411"
    ):
        run(url.rsplit("/", 1)[0] + "/no.such.group", {})


def test_unreachable_server_fails_the_source() -> None:
    import socket

    with socket.socket() as s:  # a loopback port nothing listens on once released
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError) as info:
        run(f"nntp://127.0.0.1:{port}/some.group", {})
    assert str(info.value).startswith(
        f"mailing list 'test': cannot read nntp://127.0.0.1:{port}/some.group (ConnectionRefusedError"
    )
