"""Git ingestion with pygit2: repositories by path or URL, path scopes, trailers, incremental loads.

Pure Python; the orchestration layer calls `ingest_repository` per (project, repository).
"""

from extractors.git.extract import iter_repository_rows
from extractors.git.ingest import ingest_repository
from extractors.git.repository import GitSourceError, open_repository, resolve_branch
from extractors.git.scope import PathScope

__all__ = [
    "GitSourceError",
    "PathScope",
    "ingest_repository",
    "iter_repository_rows",
    "open_repository",
    "resolve_branch",
]
