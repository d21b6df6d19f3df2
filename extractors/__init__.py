"""Pure-Python extraction: mail archives and git repositories into the raw warehouse tables.

Nothing here imports Dagster; the orchestration layer calls these functions.
"""
