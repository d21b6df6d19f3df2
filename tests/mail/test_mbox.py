from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import pytest

from extractors.mail.maildir import iter_maildir
from extractors.mail.mbox import iter_mbox, unescape
from extractors.mail.paths import expand_path
from extractors.mail.raw import RawMessage, SourceProblem

M1 = b"From: a@example.com\nSubject: one\nMessage-ID: <1@x>\n\nbody one\n"
M2 = b"From: b@example.com\nSubject: two\nMessage-ID: <2@x>\n\nbody two\n"
SEP1 = b"From a@example.com Mon Jan  1 00:00:00 2001\n"
SEP2 = b"From b@example.com Tue Jan  2 00:00:00 2001\n"
TWO = SEP1 + M1 + b"\n" + SEP2 + M2 + b"\n"


def read(path: Path, **kw) -> list[RawMessage | SourceProblem]:
    return list(iter_mbox(path, **kw))


def write(tmp_path: Path, data: bytes, name: str = "list.mbox") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_two_messages_with_offsets(tmp_path: Path) -> None:
    msgs = read(write(tmp_path, TWO))
    assert [m.data for m in msgs] == [M1, M2]
    assert msgs[0].location.endswith(":0")
    assert msgs[1].location.endswith(f":{len(SEP1) + len(M1) + 1}")
    assert msgs[1].from_line == SEP2.rstrip(b"\n")


def test_body_from_line_is_not_a_separator(tmp_path: Path) -> None:
    body = b"From: a@x\nSubject: s\n\nHello\nFrom here on we differ.\n\nFrom the start, no.\n"
    msgs = read(write(tmp_path, SEP1 + body))
    assert len(msgs) == 1
    assert b"From the start, no." in msgs[0].data


def test_separator_needs_blank_line_before(tmp_path: Path) -> None:
    body = b"From: a@x\nSubject: s\n\nquoted mbox:\nFrom b@example.com Tue Jan  2 00:00:00 2001\nmore\n"
    assert len(read(write(tmp_path, SEP1 + body))) == 1


def test_pipermail_separator_without_blank_line(tmp_path: Path) -> None:
    # Mailman leaves no blank line after a scrubbed attachment's URL line.
    data = (
        b"From jdoe at example.com  Mon Jan  1 00:00:00 2001\nFrom: jdoe at example.com (J)\n\n"
        b"text\nURL: http://example.com/attachment.htm\n"
        b"From ann at example.org  Mon Jan  1 00:00:01 2001\nFrom: ann at example.org (A)\n\nx\n"
    )
    msgs = read(write(tmp_path, data))
    assert len(msgs) == 2
    assert msgs[1].from_line.startswith(b"From ann at example.org")


@pytest.mark.parametrize(
    ("line", "next_line", "separates"),
    [
        (b"From jdoe at example.com  Mon Jan  1 00:00:00 2001", b"just text", True),
        (b"From glyph@divunal.com Sun, 13 Jun 1999 02:28:09 -0400 (EDT)", b"just text", True),
        ("From christian at “example.org”  Thu Jan 15 13:22:25 2015".encode(), b"just text", True),
        (b"From mboxrd@z Thu Jan  1 00:00:00 1970", b"just text", True),
        # patchew's bare form counts only when a header follows
        (b"From A", b"Subject: x", True),
        (b"From A", b"just text", False),
        (b"From here on we differ.", b"and more text", False),
    ],
)
def test_separator_forms(tmp_path: Path, line: bytes, next_line: bytes, separates: bool) -> None:
    # after a blank line, `line` starts a second message only if it is a separator
    data = SEP1 + M1 + b"\n" + line + b"\n" + next_line + b"\n"
    assert len(read(write(tmp_path, data))) == (2 if separates else 1)


def test_bare_from_a_separators(tmp_path: Path) -> None:
    data = b"From A\n" + M1 + b"\nFrom A\n" + M2
    msgs = read(write(tmp_path, data))
    assert [m.data for m in msgs] == [M1, M2]


def test_mboxrd_unescaping(tmp_path: Path) -> None:
    body = b"From: a@x\nSubject: s\n\n>From the start\n>>From twice\n> >From quoted\n"
    (msg,) = read(write(tmp_path, SEP1 + body))
    assert msg.data.endswith(b"\n\nFrom the start\n>From twice\n> >From quoted\n")


def test_mboxo_unescaping_option() -> None:
    data = b"H: v\n\n>From one\n>>From two\n"
    assert unescape(data, "mboxo") == b"H: v\n\nFrom one\n>>From two\n"
    assert unescape(data, "none") == data
    with pytest.raises(ValueError):
        list(iter_mbox("x", escaping="bogus"))


def test_crlf_line_ends(tmp_path: Path) -> None:
    data = TWO.replace(b"\n", b"\r\n")
    msgs = read(write(tmp_path, data))
    assert len(msgs) == 2
    assert msgs[1].data == M2.replace(b"\n", b"\r\n")


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress], ids=["gzip", "bz2", "xz"])
def test_compressed_detected_by_magic(tmp_path: Path, compress) -> None:
    # deliberately misleading name: detection is by magic bytes
    msgs = read(write(tmp_path, compress(TWO), "archive.txt"))
    assert [m.data for m in msgs] == [M1, M2]


def test_truncated_gzip_yields_complete_messages_then_problem(tmp_path: Path) -> None:
    many = b"".join(
        b"From a@x Mon Jan  1 00:00:00 2001\nFrom: a@x\nMessage-ID: <%d@x>\n\n%s\n\n" % (i, b"y" * 3000)
        for i in range(200)
    )
    blob = gzip.compress(many)
    path = write(tmp_path, blob[: len(blob) // 2], "cut.mbox.gz")
    items = read(path, chunk_size=4096)
    assert isinstance(items[-1], SourceProblem)
    assert items[-1].reason == "truncated_archive"
    msgs = items[:-1]
    assert 10 < len(msgs) < 200
    for i, m in enumerate(msgs):
        assert isinstance(m, RawMessage)
        assert m.data == b"From: a@x\nMessage-ID: <%d@x>\n\n%s\n" % (i, b"y" * 3000)


def test_small_chunks_give_same_result(tmp_path: Path) -> None:
    path = write(tmp_path, TWO * 5)
    assert [m.data for m in read(path, chunk_size=7)] == [m.data for m in read(path)]


def test_single_message_without_from_line(tmp_path: Path) -> None:
    (msg,) = read(write(tmp_path, M1))
    assert msg.data == M1 and msg.from_line is None and msg.location.endswith(":0")


def test_empty_file(tmp_path: Path) -> None:
    assert read(write(tmp_path, b"")) == []


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    (p,) = read(tmp_path / "nope.mbox")
    assert isinstance(p, SourceProblem) and p.reason == "unreadable_file"


def test_maildir_order_and_from_line(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "2").write_bytes(M2)
    (tmp_path / "cur" / "1").write_bytes(SEP1 + M1)
    (tmp_path / "tmp" / "0").write_bytes(b"partial")
    msgs = list(iter_maildir(tmp_path))
    assert [m.data for m in msgs] == [M1, M2]
    assert msgs[0].from_line == SEP1.rstrip(b"\n")


def test_plain_directory_of_messages(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_bytes(M2)
    (tmp_path / "a").write_bytes(M1)
    assert [m.data for m in iter_maildir(tmp_path)] == [M1, M2]


def test_expand_path(tmp_path: Path) -> None:
    (tmp_path / "2020-01.txt.gz").write_bytes(gzip.compress(TWO))
    (tmp_path / "2020-02.mbox").write_bytes(TWO)
    (tmp_path / "index.html").write_bytes(b"<html></html>")
    files = expand_path(tmp_path)
    assert [f.name for f in files] == ["2020-01.txt.gz", "2020-02.mbox"]
    assert expand_path(tmp_path / "*.mbox") == [tmp_path / "2020-02.mbox"]
    assert expand_path(tmp_path / "2020-02.mbox") == [tmp_path / "2020-02.mbox"]
    assert expand_path(tmp_path / "missing") == []
