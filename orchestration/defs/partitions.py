"""Per-source partitions: one partition per mailing list and per repository in the config.

The keys are read from communities.yaml when the code location loads, so the UI lists every source
and can re-run one of them or backfill any set. A source added to the config appears after the code
location is reloaded. HTTP-archive lists also have monthly partitions, on their own asset
(archives.py), so that the rows of a list keep one owner.
"""

import dagster as dg

from core.config import CommunitiesConfig, load_config
from core.partitions import git_partition_keys, mail_partition_keys


def _definitions(
    cfg: CommunitiesConfig,
) -> tuple[dg.StaticPartitionsDefinition, dg.StaticPartitionsDefinition]:
    return (
        dg.StaticPartitionsDefinition(mail_partition_keys(cfg)),
        dg.StaticPartitionsDefinition(git_partition_keys(cfg)),
    )


# A bad config fails the code location with the config's own one-line message.
MAIL_PARTITIONS, GIT_PARTITIONS = _definitions(load_config())
