"""Resources shared by every asset: the communities config (and through it the warehouse path)."""

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from core.config import CommunitiesConfig, ConfigError, load_config

# DuckDB has a single writer: every asset that writes the warehouse runs in this pool, whose
# limit is 1 in the instance settings written by `commstats ui` (dagster.yaml).
WAREHOUSE_POOL = "warehouse"  # also in orchestration.instance.POOLS


class CommstatsConfig(dg.ConfigurableResource):
    """Where the communities config lives; None means COMMSTATS_CONFIG or ./communities.yaml."""

    config_path: str | None = None

    def load(self) -> CommunitiesConfig:
        try:
            return load_config(self.config_path)
        except ConfigError as exc:
            # edited into an invalid file after the code location loaded: the asset fails with
            # the file's one line, no traceback
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    @contextlib.contextmanager
    def read_only(self, timeout_s: float = 600.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the live warehouse, waiting while another process writes it."""
        path = str(self.load().warehouse)
        deadline = time.monotonic() + timeout_s
        delay = 0.2
        while True:
            try:
                con = duckdb.connect(path, read_only=True)
                break
            except duckdb.IOException as exc:
                # a source publishing from another run (checks and charts run beside ingestion)
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        try:
            yield con
        finally:
            con.close()

    def cache_dir(self) -> Path:
        return Path(self.load().cache_dir)
