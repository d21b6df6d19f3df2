"""The base class of every error the user has to fix, and how such an error is worded.

Both `commstats` and `extractors` raise these; the Dagster assets catch them alone, so a user
error is one line and a real bug keeps its traceback.
"""

from __future__ import annotations

# An error's text never grows with its input: a value quoted in a message is cut to this length.
MAX_QUOTED = 80
MAX_MESSAGE = 400


class CommstatsError(Exception):
    """A problem with the user's config, files or sources; str() is the one line to print."""


# here rather than in core/config.py, so the command line can catch it without loading pydantic
class ConfigError(CommstatsError):
    """A user-facing configuration problem; str() is the one line to print."""


def clip(value: object, limit: int = MAX_QUOTED) -> str:
    """`value` as text, on one line and at most `limit` characters (an ellipsis marks the cut)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """A message reduced to its first non-empty line, at most `limit` characters."""
    lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
    return clip(lines[0] if lines else "", limit)
