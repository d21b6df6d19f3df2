"""Per-source partitions: one partition per mailing list and per repository in the config.

The keys are read from communities.yaml when the code location loads, so the UI lists every source
and can re-run one of them or backfill any set. A source added to the config appears after the code
location is reloaded. HTTP-archive lists also have monthly partitions, on their own asset
(archives.py), so that the rows of a list keep one owner.
"""

import dagster as dg

from core.config import CommunitiesConfig, load_config
from core.partitions import git_partition_keys, mail_partition_keys
from core.warehouse import lake_of
from orchestration.defs.resources import EXTRACT_POOL, WAREHOUSE_POOL


def _definitions(
    cfg: CommunitiesConfig,
) -> tuple[dg.StaticPartitionsDefinition, dg.StaticPartitionsDefinition]:
    return (
        dg.StaticPartitionsDefinition(mail_partition_keys(cfg)),
        dg.StaticPartitionsDefinition(git_partition_keys(cfg)),
    )


# A bad config fails the code location with the config's own one-line message.
_CONFIG = load_config()
MAIL_PARTITIONS, GIT_PARTITIONS = _definitions(_CONFIG)

# The pool of the assets that load one source: a DuckDB file has one writer, so its sources wait
# for each other and for the rebuild (one pool of limit 1); the sources of a DuckLake commit
# concurrently, so they have a pool of their own (orchestration.instance sets its limit).
SOURCE_POOL = EXTRACT_POOL if lake_of(_CONFIG.warehouse) is not None else WAREHOUSE_POOL
