"""Commit message trailers, found the way `git interpret-trailers --parse` finds them.

The trailer block is the last paragraph of the message (never the first, which is the title),
ending before a `---` divider line. It qualifies when all its lines are trailers (`Key: value`,
the key being letters, digits and `-`), or when it holds a git-generated line
(`Signed-off-by: `, `(cherry picked from commit `) and at least 25 % of it is trailers.
Lines starting with whitespace continue the previous trailer; lines starting with `#` are
comments. Values are unfolded (a continuation becomes one space).
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import NamedTuple

_GIT_GENERATED = ("Signed-off-by: ", "(cherry picked from commit ")
_COMMENT = "#"


class Trailer(NamedTuple):
    key: str  # as written
    value: str  # unfolded and trimmed


_SEPARATOR = re.compile(r"[A-Za-z0-9-]+[ \t]*:")


def _find_separator(line: str) -> int:
    """Index of ':' after a `Key` token (ASCII alnum and '-'), blanks allowed before it; else -1.

    (git also accepts a ':' in the first column, at index 0, which every caller rejects.)
    """
    m = _SEPARATOR.match(line)
    return m.end() - 1 if m else -1


def _is_blank(line: str) -> bool:
    return line.strip(" \t\r\n\v\f") == ""


def _end_of_message(lines: list[str]) -> int:
    """Number of lines before a patch divider (`---` followed by whitespace or end of line)."""
    for i, line in enumerate(lines):
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t\r\n\v\f"):
            return i
    return len(lines)


def find_trailer_lines(message: str) -> list[str]:
    """The raw lines of the trailer block (empty when the message has none)."""
    lines = message.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    end = _end_of_message(lines)
    lines = lines[:end]

    # The first paragraph is the title and cannot hold trailers.
    end_of_title = len(lines)
    for i, line in enumerate(lines):
        if line.startswith(_COMMENT):
            continue
        if _is_blank(line):
            end_of_title = i
            break

    only_spaces = True
    recognized_prefix = False
    trailer_lines = non_trailer_lines = possible_continuation = 0
    start = None
    i = len(lines) - 1
    while i >= end_of_title:
        line = lines[i]
        if line.startswith(_COMMENT):
            non_trailer_lines += possible_continuation
            possible_continuation = 0
        elif _is_blank(line):
            if not only_spaces:
                non_trailer_lines += possible_continuation
                if (recognized_prefix and trailer_lines * 3 >= non_trailer_lines) or (
                    trailer_lines and not non_trailer_lines
                ):
                    start = i + 1
                break
        else:
            only_spaces = False
            if line.startswith(_GIT_GENERATED):
                trailer_lines += 1
                possible_continuation = 0
                recognized_prefix = True
            elif _find_separator(line) >= 1 and not line[0].isspace():
                trailer_lines += 1
                possible_continuation = 0
            elif line[0].isspace():
                possible_continuation += 1
            else:
                non_trailer_lines += 1 + possible_continuation
                possible_continuation = 0
        i -= 1
    if start is None:
        return []
    return lines[start:]


def _unfold(value: str) -> str:
    out = re.sub(r"\n[ \t\n\r\v\f]*", " ", value)
    return out.strip(" \t\n\r\v\f")


def parse_trailers(message: str) -> list[Trailer]:
    """Every trailer of the message in order, as `git interpret-trailers --parse` lists them."""
    block = find_trailer_lines(message)
    items: list[str] = []
    last_is_trailer = False
    for line in block:
        if items and last_is_trailer and line[:1].isspace():
            items[-1] += "\n" + line
            continue
        items.append(line)
        last_is_trailer = _find_separator(line) >= 1
    out: list[Trailer] = []
    for item in items:
        if item.startswith(_COMMENT):
            continue
        sep = _find_separator(item)
        if sep < 1:
            continue
        key = item[:sep].strip()
        value = _unfold(item[sep + 1 :].strip(" \t\n\r\v\f"))
        out.append(Trailer(key, value))
    return out


# --- people in trailer values ---------------------------------------------------------------

_ANGLE = re.compile(r"<\s*([^<>\s]+@[^<>\s]+?)\s*>")
_BARE_ADDR = re.compile(r"(?<![\w.+-])([\w.+'=-]+@[\w-]+(?:\.[\w-]+)+)(?![\w.-]*@)")
_COMMENT_PAREN = re.compile(r"\([^()]*\)")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def parse_person(value: str) -> tuple[str | None, str | None]:
    """Split a trailer value into (name, address); either may be None.

    Handles `Name <addr>`, `<addr>`, `addr`, `"Last, First" <addr>`, `Name (Comment) <addr>`,
    trailing notes such as `<stable@vger.kernel.org> # 5.10`, and the malformed
    `Jane Doe jane.doe@example.com` without brackets. Addresses are lower-cased. Values that
    are URLs or hold no address give a name only (or nothing).
    """
    v = value.strip()
    if not v or _URL.match(v):
        return None, None
    address: str | None = None
    name_part = v
    m = _ANGLE.search(v)
    if m:
        address = m.group(1)
        name_part = v[: m.start()]
    else:
        m2 = _BARE_ADDR.search(v)
        if m2:
            address = m2.group(1)
            name_part = v[: m2.start()]
        elif "@" in v:
            parsed_name, parsed_addr = parseaddr(v)
            if "@" in parsed_addr:
                address, name_part = parsed_addr, parsed_name
    name = _COMMENT_PAREN.sub(" ", re.sub(r"<[^<>]*>?", " ", name_part))
    name = " ".join(name.split()).strip(" \"'")
    name = name.replace('\\"', '"')
    if address is not None:
        address = address.strip().strip(".,;").lower() or None
    if not name:
        name = None
    if address is None and name is not None and (len(name) > 200 or "http" in name.lower()):
        name = None
    return name, address
