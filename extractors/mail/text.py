"""Byte-to-text decoding that never fails: archives hold raw 8-bit headers and unknown charsets."""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([BbQq])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(=\?)")
_WS = re.compile(r"\s+")


class Decoder:
    """Decodes header and body bytes for one message and remembers whether anything was lossy."""

    __slots__ = ("bad_charset", "detail")

    def __init__(self) -> None:
        self.bad_charset = False
        self.detail = ""

    def _flag(self, detail: str) -> None:
        if not self.bad_charset:
            self.bad_charset = True
            self.detail = detail

    def bytes_to_str(self, raw: bytes, charset: str | None = None) -> str:
        """UTF-8 first (most archives), then the declared charset, then Latin-1 (never fails)."""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        if charset:
            try:
                return raw.decode(charset)
            except (LookupError, UnicodeDecodeError):
                pass
        self._flag(f"undecodable bytes (charset {charset or 'undeclared'})")
        return raw.decode("latin-1")

    def _word(self, m: re.Match[str]) -> str:
        charset = m.group(1).split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
        try:
            payload, _ = decode_header(m.group(0))[0]
        except Exception:  # malformed base64 and the like: keep the word as written
            self._flag(f"malformed encoded word {m.group(0)[:40]!r}")
            return m.group(0)
        if isinstance(payload, str):
            return payload
        try:
            codecs.lookup(charset)
        except LookupError:
            self._flag(f"unknown charset {charset!r}")
            return self.bytes_to_str(payload)
        try:
            return payload.decode(charset)
        except UnicodeDecodeError:
            self._flag(f"bytes invalid in {charset!r}")
            return payload.decode(charset, "replace")

    def header(self, raw: bytes | None) -> str | None:
        """Decode one (unfolded) header value: raw 8-bit bytes, then RFC 2047 encoded words."""
        if raw is None:
            return None
        text = raw.decode("ascii") if raw.isascii() else self.bytes_to_str(raw)
        if "=?" in text:
            # Whitespace between adjacent encoded words is not part of the text (RFC 2047 6.2).
            text = _ENCODED_WORD.sub(self._word, _BETWEEN_WORDS.sub(r"\1\2", text))
        return text


def collapse(text: str) -> str:
    # Printable ASCII holds no whitespace but ' ': without a double space there is nothing to join.
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip()
    return _WS.sub(" ", text).strip()
