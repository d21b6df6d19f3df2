"""Subject structure: reply prefixes, list tags and patch tags such as `[PATCH v3 2/7]`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

# Reply prefixes in the languages mail clients localize them to (Re, Aw, Sv, Antw, Odp, VS, YNT).
_PREFIX = re.compile(
    r"(?:(re|aw|sv|antw|antwort|odp|vs|ynt|ref|rif)|(fwd?|wg|tr|fw))\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.I
)
_TOKEN_SPLIT = re.compile(r"[\s,\[\]]+")
_PATCH = re.compile(r"PATCH(?:[-_]?V(\d+)(?:\.\d+)?)?$")
_RFC = re.compile(r"RFC(?:[-_]?V(\d+)(?:\.\d+)?)?$")
_VERSION = re.compile(r"V(\d+)(?:\.\d+)?$")
_COUNTER = re.compile(r"(\d+)/(\d+)$")
_WS = re.compile(r"\s+")


@dataclass(slots=True)
class SubjectInfo:
    is_reply: bool = False
    is_forward: bool = False
    has_patch_tag: bool = False  # a tag names PATCH or RFC, or carries a counter m/n
    is_rfc: bool = False
    is_resend: bool = False
    version: int | None = None  # 1 when a patch tag names no version; None when no patch tag
    counter: int | None = None
    total: int | None = None
    normalized: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def is_cover_letter(self) -> bool:
        return self.counter == 0 and not self.is_reply


def _closing_bracket(s: str) -> int:
    """Index of the ']' closing s[0] == '[', honouring nested brackets; -1 when unbalanced."""
    end = s.find("]")
    if end < 0:
        return -1
    if s.find("[", 1, end) < 0:
        return end  # the usual tag without nested brackets
    depth = 0
    for i, ch in enumerate(s):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _apply_tag(info: SubjectInfo, tag: str) -> None:
    found = _read_tag(tag)
    if found is None:
        return
    patchish, rfc, resend, version, counter, total = found
    # A tag with none of these is a list tag ([Xen-devel]) or a topic and says nothing about patches.
    if not (patchish or counter is not None or (version is not None and resend)):
        if resend:
            info.is_resend = True
        return
    info.has_patch_tag = True
    info.is_rfc |= rfc
    info.is_resend |= resend
    if version is not None:
        info.version = version
    if counter is not None:
        info.counter, info.total = counter, total


_Tag = tuple[bool, bool, bool, int | None, int | None, int | None]


@lru_cache(maxsize=4096)
def _read_tag(tag: str) -> _Tag | None:
    """(names PATCH or RFC, names RFC, names RESEND, version, counter, total) of one tag; a
    series repeats its tags (`PATCH v3 2/7`), so each distinct one is read once."""
    version = counter = total = None
    patchish = rfc = resend = False
    for tok in _TOKEN_SPLIT.split(tag.upper()):
        if not tok:
            continue
        if m := _PATCH.match(tok):
            patchish = True
            version = int(m.group(1)) if m.group(1) else version
        elif m := _RFC.match(tok):
            patchish = rfc = True
            version = int(m.group(1)) if m.group(1) else version
        elif tok == "RESEND":
            resend = True
        elif m := _VERSION.match(tok):
            version = int(m.group(1))
        elif m := _COUNTER.match(tok):
            counter, total = int(m.group(1)), int(m.group(2))
    if not (patchish or rfc or resend or version is not None or counter is not None):
        return None
    return patchish, rfc, resend, version, counter, total


def parse_subject(subject: str | None) -> SubjectInfo:
    info = SubjectInfo()
    s = (subject or "").strip()
    while s:
        m = _PREFIX.match(s)
        if m:
            if m.group(1):
                info.is_reply = True
            else:
                info.is_forward = True
            s = s[m.end() :].lstrip()
            continue
        if s.startswith("["):
            end = _closing_bracket(s)
            if end < 0:
                break
            tag = s[1:end]
            info.tags.append(tag)
            _apply_tag(info, tag)
            s = s[end + 1 :].lstrip()
            continue
        break
    if info.has_patch_tag and info.version is None:
        info.version = 1
    info.normalized = _WS.sub(" ", s).strip().lower()
    return info
