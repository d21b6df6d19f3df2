"""Resources shared by every asset: the communities config (and through it the warehouse path)."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from core.config import CommunitiesConfig, ConfigError, load_config
from core.warehouse import connect

# DuckDB has a single writer: every asset that writes the warehouse runs in this pool, whose
# limit is 1 in the instance settings written by `commstats ui` (dagster.yaml).
WAREHOUSE_POOL = "warehouse"  # also in orchestration.instance.POOLS
# the sources of a DuckLake warehouse, which commit concurrently (orchestration.instance.POOLS)
EXTRACT_POOL = "extract"


class CommstatsConfig(dg.ConfigurableResource):
    """Where the communities config lives; None means COMMSTATS_CONFIG or ./communities.yaml.

    `warehouse`, when given, replaces the config's `warehouse:` (as `commstats run --warehouse`).
    """

    config_path: str | None = None
    warehouse: str | None = None
    _config: CommunitiesConfig | None = PrivateAttr(default=None)

    def load(self) -> CommunitiesConfig:
        """The config, read once per run (a run's assets all see the same file)."""
        if self._config is None:
            try:
                cfg = load_config(self.config_path)
            except ConfigError as exc:
                # edited into an invalid file after the code location loaded: the asset fails with
                # the file's one line, no traceback
                raise dg.Failure(description=str(exc), allow_retries=False) from None
            if self.warehouse:
                cfg.warehouse = Path(self.warehouse).expanduser().resolve()
            self._config = cfg
        return self._config

    @contextlib.contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the live warehouse, waiting while another process writes it."""
        con = connect(self.load().warehouse, read_only=True)
        try:
            yield con
        finally:
            con.close()

    def cache_dir(self) -> Path:
        return Path(self.load().cache_dir)
