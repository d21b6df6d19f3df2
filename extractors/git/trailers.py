"""Commit message trailers, found the way `git interpret-trailers --parse` finds them.

The trailer block is the last paragraph of the message (never the first, which is the title),
ending before a `---` divider line. It qualifies when all its lines are trailers (`Key: value`,
the key being letters, digits and `-`), or when it holds a git-generated line
(`Signed-off-by: `, `(cherry picked from commit `) and at least 25 % of it is trailers.
Lines starting with whitespace continue the previous trailer; lines starting with `#` are
comments. Values are unfolded (a continuation becomes one space). As in git, a trailing run of
comment lines, empty lines and old cherry-pick `Conflicts:` blocks (tab-indented paths) is not
part of the message's end, so it neither counts as trailers nor hides the block above it.

`trailer_people` then reads the people in each value (extractors.people), one row per person.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from extractors.people import person, split_people

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


_SPACE = " \t\n\r"  # git's isspace(): \v and \f are not blanks to git
_SCISSORS = "# ------------------------ >8 ------------------------\n"
_PATCH_DIVIDER = re.compile(r"^---[ \t\n\r]", re.MULTILINE)


def _patch_start(message: str) -> int:
    """Offset of the first `---` divider line (git's find_patch_start), else the length."""
    if "---" not in message:  # as in nearly every commit message: no search
        return len(message)
    m = _PATCH_DIVIDER.search(message)
    return m.start() if m else len(message)


def _trailer_end(message: str, end: int) -> int:
    """End of the text that can hold trailers (git's ignore_non_trailer).

    git leaves out a trailing run of comment lines, empty lines and old cherry-pick conflict
    blocks (`Conflicts:` then tab-indented paths) so that `Signed-off-by` lines above them are
    still the trailer block; and everything from a `git commit -v` scissors line on."""
    if message.startswith(_SCISSORS):
        end = 0
    else:
        cut = message.find("\n" + _SCISSORS)
        if cut >= 0 and cut + 1 < end:
            end = cut + 1
    if _COMMENT not in message and "Conflicts:\n" not in message:
        return _blank_tail(message, end)
    return _ignored_run(message, end)


def _blank_tail(message: str, end: int) -> int:
    """`_ignored_run` of a message without comment lines or conflict blocks, where only empty
    lines can be ignored: the start of the empty lines that end message[:end], without a walk
    over every line."""
    kept = len(message[:end].rstrip("\n"))
    if kept == 0:  # only empty lines: the first cannot start the run (see _ignored_run)
        return 1 if end >= 2 else end
    return kept + 1 if kept + 1 < end else end


def _ignored_run(message: str, end: int) -> int:
    """The start of the trailing run of comment lines, empty lines and conflict blocks of
    message[:end], else `end`."""
    boc = 0  # start of the ignored run (0: none, as in git, so the first line never starts one)
    in_conflicts = False
    bol = 0
    while bol < end:
        nl = message.find("\n", bol, end)
        next_line = end if nl < 0 else nl + 1
        first = message[bol]
        if first == _COMMENT or first == "\n":
            if not boc:
                boc = bol
        elif message.startswith("Conflicts:\n", bol) and bol + 11 <= end:
            in_conflicts = True
            if not boc:
                boc = bol
        elif in_conflicts and first == "\t":
            pass  # a path of the conflicts block
        elif boc:
            boc = 0
            in_conflicts = False
        bol = next_line
    return boc if boc else end


def find_trailer_lines(message: str) -> list[str]:
    """The raw lines of the trailer block (empty when the message has none)."""
    end = _trailer_end(message, _patch_start(message))
    lines = message[:end].split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    # The first paragraph is the title and cannot hold trailers.
    end_of_title = len(lines)
    for i, line in enumerate(lines):
        if line.startswith(_COMMENT):
            continue
        if not line.strip(_SPACE):  # blank to git
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
        elif not line.strip(_SPACE):  # blank to git
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
            elif _find_separator(line) >= 1 and line[0] not in _SPACE:
                trailer_lines += 1
                possible_continuation = 0
            elif line[0] in _SPACE:
                possible_continuation += 1
            else:
                non_trailer_lines += 1 + possible_continuation
                possible_continuation = 0
        i -= 1
    if start is None:
        return []
    return lines[start:]


_FOLD = re.compile(r"\n[ \t\n\r]*")


def _unfold(value: str) -> str:
    if "\n" in value:  # a value continued on further lines (rare)
        value = _FOLD.sub(" ", value)
    return value.strip(_SPACE)


def parse_trailers(message: str) -> list[Trailer]:
    """Every trailer of the message in order, as `git interpret-trailers --parse` lists them."""
    block = find_trailer_lines(message)
    items: list[tuple[str, int]] = []  # (text, where its first line's separator is)
    last_is_trailer = False
    for line in block:
        if items and last_is_trailer and line[:1] in _SPACE and line:
            text, sep = items[-1]
            items[-1] = (text + "\n" + line, sep)
            continue
        sep = _find_separator(line)
        items.append((line, sep))
        last_is_trailer = sep >= 1
    out: list[Trailer] = []
    for item, sep in items:
        if item.startswith(_COMMENT) or sep < 1:
            continue
        key = item[:sep].strip()
        value = _unfold(item[sep + 1 :].strip(_SPACE))
        out.append(Trailer(key, value))
    return out


# --- people in trailer values ---------------------------------------------------------------


class TrailerPerson(NamedTuple):
    kind: str  # lower-case key
    name: str | None
    address: str | None  # lower case
    raw_value: str  # the part of the value that names this person


def parse_person(value: str) -> tuple[str | None, str | None]:
    """Split one person's trailer value into (name, address); either may be None.

    `Name <addr>`, `<addr>`, `addr`, `"Last, First" <addr>`, `Name (Comment) <addr>`, trailing
    notes such as `<stable@vger.kernel.org> # 5.10`, no brackets (`Jane Doe jane.doe@example.com`),
    obfuscated (`quinn at lab.acme.co.jp`) and mangled (`<Christoph. Egger@amd.com>`) addresses:
    see extractors.people. URLs and values with no address give a name only (or nothing)."""
    return person(value)


def trailer_people(message: str) -> list[TrailerPerson]:
    """One row per person per trailer, in order.

    Beyond `git interpret-trailers --parse`, which keeps a value whole: a value naming several
    people (`A <a@x.org> B <b@y.org>`) gives one row each under its key, and a trailer glued to
    the previous one on a line (`A <a@x.org>Signed-off-by: C <c@z.org>`) gives its person under its
    own key. Other values (one person, `Link:`, `Fixes:`) give one row with the value unchanged."""
    out: list[TrailerPerson] = []
    for trailer in parse_trailers(message):
        out.extend(_people(trailer.key.lower(), trailer.value))
    return out


@lru_cache(maxsize=8192)
def _people(kind: str, value: str) -> tuple[TrailerPerson, ...]:
    # the same maintainers sign off commit after commit: read each value once
    out = []
    for own_key, piece in split_people(value):
        name, address = person(piece)
        out.append(TrailerPerson((own_key or kind).lower(), name, address, piece))
    return tuple(out)
