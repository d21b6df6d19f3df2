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

from dataclasses import dataclass, fields

from core.config import MailingListConfig
from extractors.mail.errors import SourceError

MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class MailLimits:
    max_message_bytes: int = 64 * MiB
    max_expansion_ratio: int = 200
    expansion_floor_bytes: int = 256 * MiB

    def expansion_cap(self, compressed_size: int) -> int:
        """The most decompressed bytes an archive of `compressed_size` bytes may yield."""
        return max(self.expansion_floor_bytes, self.max_expansion_ratio * compressed_size)


DEFAULT_LIMITS = MailLimits()


def mail_limits(lst: MailingListConfig) -> MailLimits:
    """The list's limits: each option of the same name, else the default; SourceError (one line
    naming the list and the option) for a value that is not a positive whole number."""
    values: dict[str, int] = {}
    for f in fields(MailLimits):
        if f.name not in lst.options:
            continue
        raw = lst.options[f.name]
        try:
            value = int(raw) if not isinstance(raw, bool) and str(raw).strip().isdigit() else -1
        except (TypeError, ValueError):
            value = -1
        if value <= 0:
            raise SourceError(
                f"mailing list '{lst.name}': option {f.name} must be a positive whole number, not '{raw}'"
            )
        values[f.name] = value
    return MailLimits(**values)
