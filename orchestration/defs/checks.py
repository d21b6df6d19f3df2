"""Python asset checks guarding the raw tables' keys (dbt tests guard the models)."""

import dagster as dg

from orchestration.defs.resources import CommstatsConfig

_KEYS = {
    "mail_messages": ("project", "list_name", "message_id"),
    "git_commits": ("project", "repository", "sha"),
    "address_domains": ("address",),
}


def _unique_key_check(table: str, key: tuple[str, ...]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", table]),
        name=f"{table}_key_unique",
        description=f"raw.{table} has one row per ({', '.join(key)}).",
    )
    def _check(commstats: CommstatsConfig) -> dg.AssetCheckResult:
        cols = ", ".join(f'"{c}"' for c in key)
        with commstats.read_only() as con:
            dupes = con.execute(
                f"select count(*) from (select {cols} from raw.{table} group by {cols} having count(*) > 1)"
            ).fetchone()[0]
        return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_keys": dupes})

    return _check


defs = dg.Definitions(asset_checks=[_unique_key_check(t, k) for t, k in _KEYS.items()])
