"""Resources shared by every asset: the communities config (and through it the warehouse path)."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from commstats.config import CommunitiesConfig, load_config

# DuckDB has a single writer: every asset that writes the warehouse runs in this pool, whose
# limit is 1 in the instance settings written by `commstats ui` (dagster.yaml).
WAREHOUSE_POOL = "warehouse"


class CommstatsConfig(dg.ConfigurableResource):
    """Where the communities config lives; None means COMMSTATS_CONFIG or ./communities.yaml."""

    config_path: str | None = None

    def load(self) -> CommunitiesConfig:
        return load_config(self.config_path)

    @contextlib.contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.load().warehouse), read_only=True)
        try:
            yield con
        finally:
            con.close()

    def cache_dir(self) -> Path:
        return Path(self.load().cache_dir)
