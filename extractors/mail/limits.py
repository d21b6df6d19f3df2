"""Size limits that keep a hostile or broken archive from exhausting memory or time.

- `max_message_bytes`: one message larger than this is quarantined (`message_too_large`) and the
  reader skips to the next separator without holding it;
- `max_expansion_ratio` and `expansion_floor_bytes`: a compressed archive whose decompressed
  bytes pass max(floor, ratio x its compressed size) is a decompression bomb: the reader stops
  there (`decompression_bomb`), keeping what it read before. Text mail compresses about 4-10x
  (gzip) and rarely past 30x, so 200x leaves a wide margin; the floor keeps a small file (a
  tiny archive of very repetitive text) from ever being flagged.

A list overrides each one through its `options:` (e.g. `max_message_bytes: 134217728`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import MailingListConfig, MboxOptions

_DEFAULTS = MboxOptions()  # the defaults live in the config model


@dataclass(frozen=True, slots=True)
class MailLimits:
    max_message_bytes: int = _DEFAULTS.max_message_bytes
    max_expansion_ratio: int = _DEFAULTS.max_expansion_ratio
    expansion_floor_bytes: int = _DEFAULTS.expansion_floor_bytes

    def expansion_cap(self, compressed_size: int) -> int:
        """The most decompressed bytes an archive of `compressed_size` bytes may yield."""
        return max(self.expansion_floor_bytes, self.max_expansion_ratio * compressed_size)


DEFAULT_LIMITS = MailLimits()


def mail_limits(lst: MailingListConfig) -> MailLimits:
    """The list's limits (its options, validated positive at config load)."""
    o = lst.options
    return MailLimits(o.max_message_bytes, o.max_expansion_ratio, o.expansion_floor_bytes)
