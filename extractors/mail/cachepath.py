"""Where remote mail sources keep their downloads and clones inside the cache directory."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def sanitize_url(url: str) -> str:
    """A readable, filesystem-safe and collision-free directory name for a URL.

    The readable part drops the scheme and folds every run of unsafe characters to `_`; that
    folding can map two URLs to one name (`a/b` and `a_b`), so a short hash of the exact URL is
    appended.
    """
    readable = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", url)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", readable).strip("._")[:80] or "source"
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}"


def source_cache_dir(cache_dir: Path, kind: str, url: str) -> Path:
    return Path(cache_dir) / kind / sanitize_url(url)
