"""Git ingestion with pygit2: repositories by path or URL, path scopes, trailers, incremental loads.

Pure Python plus an optional C module; the orchestration layer calls
`extractors.git.ingest.ingest_repository` per (project, repository). The package imports none of
its modules, so a module may import a sibling (or the compiled `_gitdiff`) through it without a
cycle.
"""
