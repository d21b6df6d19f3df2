"""Errors the mail extractors raise for problems the user has to fix (not per-message problems)."""

from __future__ import annotations

from core.errors import CommstatsError


class SourceError(CommstatsError):
    """A mailing-list source that cannot be read at all; str() is one line naming list and path."""
