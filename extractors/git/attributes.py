"""Whether any gitattributes can apply to a repository's paths.

For every blob diff the extraction asks libgit2 for the path's `diff` attribute (its diff driver:
binary or text). Each lookup costs libgit2 some 13 us (it checks every attribute file again), once
per distinct path: on a 40,000-file tree about a tenth of the extraction. A bare repository that
has none of the files libgit2 reads attributes from gives every path no attribute, so the
lookups can be left out. The files are those of libgit2's default lookup (as
`Repository.get_attr` and the blob diff make it): the system `gitattributes` and the global
`attributes` file (`core.attributesFile`, else in the XDG directory) on libgit2's search paths,
`info/attributes` in the repository, and `.gitattributes` files of the work tree or the index,
which a bare repository without an index file does not have. Anything else (a work tree, an
index, a linked work tree, a configured file) keeps the lookups.
"""

from __future__ import annotations

import os
from pathlib import Path

import pygit2
from pygit2.enums import ConfigLevel


def _on_search_path(level: ConfigLevel, name: str) -> bool:
    paths = pygit2.settings.search_path[level] or ""
    return any(d and (Path(d) / name).exists() for d in paths.split(os.pathsep))


def no_attributes(repo: pygit2.Repository) -> bool:
    """True when no gitattributes file can apply to any path of `repo` (see above)."""
    try:
        if not repo.is_bare or repo.workdir:
            return False
        git_dir = Path(repo.path)
        if any((git_dir / name).exists() for name in ("index", "commondir", "info/attributes")):
            return False
        if "core.attributesFile" in repo.config:
            return False
        if _on_search_path(ConfigLevel.XDG, "attributes") or _on_search_path(
            ConfigLevel.SYSTEM, "gitattributes"
        ):
            return False
    except (pygit2.GitError, OSError, ValueError, KeyError):
        return False
    return True
