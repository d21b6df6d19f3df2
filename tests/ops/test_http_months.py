"""Monthly partitions of HTTP-archive lists: one month re-fetched, a range backfilled in one run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from core.config import load_config
from orchestration.defs.archives import build_http_archive_months
from orchestration.defs.resources import CommstatsConfig
from tests.mail_sources.http_server import Archive, ArchiveServer, serve
from tests.mail_sources.test_http_archive import FAST, MONTH_NAMES, gz, mbox

SIZES = {1: 3, 2: 4, 3: 2}  # messages per month of 2024


def path(month: int) -> str:
    return f"/pipermail/devel/2024-{MONTH_NAMES[month - 1]}.txt.gz"


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    with serve(ArchiveServer()) as srv:
        for month, n in SIZES.items():
            srv.archives[path(month)] = Archive(gz(mbox(2024, month, n)))
        yield srv


@pytest.fixture
def setup(server: ArchiveServer, tmp_path: Path) -> tuple[dg.AssetsDefinition, CommstatsConfig, Path]:
    template = server.url("/pipermail/devel/{year}-{month_name}.txt.gz")
    lists = [
        {
            "name": "devel",
            "kind": "http-archive",
            "url": template,
            "since": "2024-01-01",
            "until": "2024-03-31",
        },
        {
            "name": "late",
            "kind": "http-archive",
            "url": template,
            "since": "2024-02-01",
            "until": "2024-03-31",
        },
    ]
    for lst in lists:
        lst["options"] = FAST
    cfg_path = tmp_path / "communities.yaml"
    cfg_path.write_text(
        yaml.safe_dump(
            {
                "warehouse": str(tmp_path / "wh.duckdb"),
                "output_dir": str(tmp_path / "out"),
                "cache_dir": str(tmp_path / "cache"),
                "projects": {"proj": {"mailing_lists": lists}},
            }
        )
    )
    asset = build_http_archive_months(load_config(cfg_path))
    assert asset is not None
    return asset, CommstatsConfig(config_path=str(cfg_path)), tmp_path / "wh.duckdb"


def messages(warehouse: Path, list_name: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "SELECT count(*) FROM raw.mail_messages WHERE list_name = ?", [list_name]
        ).fetchone()[0]


def fetches(server: ArchiveServer, month: int) -> int:
    return server.count(lambda r: r.path == path(month))


def key(list_key: str, month: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"list": list_key, "month": month})


def test_partitions_are_lists_by_months(setup) -> None:
    asset, _, _ = setup
    parts = asset.partitions_def
    assert isinstance(parts, dg.MultiPartitionsDefinition)
    lists = parts.get_partitions_def_for_dimension("list").get_partition_keys()
    assert lists == ["proj/devel", "proj/late"]
    months = parts.get_partitions_def_for_dimension("month").get_partition_keys()
    assert months[:3] == ["2024-01-01", "2024-02-01", "2024-03-01"]


def test_one_month_is_fetched_again_and_loaded(setup, server: ArchiveServer) -> None:
    asset, res, warehouse = setup
    run = dg.materialize([asset], partition_key=key("proj/devel", "2024-02-01"), resources={"commstats": res})
    assert run.success
    # the month itself, then the list's load brings the other months of its range into the cache
    assert messages(warehouse, "devel") == sum(SIZES.values())
    assert [fetches(server, m) for m in (1, 2, 3)] == [1, 1, 1]

    # the archive of a closed month changes: the list's own load keeps its cached copy ...
    server.archives[path(2)] = Archive(gz(mbox(2024, 2, SIZES[2] + 2)), etag='"v2"')
    run = dg.materialize([asset], partition_key=key("proj/devel", "2024-03-01"), resources={"commstats": res})
    assert run.success and messages(warehouse, "devel") == sum(SIZES.values())
    assert [fetches(server, m) for m in (1, 2, 3)] == [1, 1, 2]
    # ... and re-running that month's partition fetches it again and loads the change
    run = dg.materialize([asset], partition_key=key("proj/devel", "2024-02-01"), resources={"commstats": res})
    assert run.success and messages(warehouse, "devel") == sum(SIZES.values()) + 2
    assert [fetches(server, m) for m in (1, 2, 3)] == [1, 2, 2]
    meta = run.asset_materializations_for_node("http_archive_months")[0].metadata
    assert meta["dagster/row_count"].value == sum(SIZES.values()) + 2
    assert set(meta["months"].value) == {"proj/devel 2024-02"}


def test_a_range_is_one_run_and_each_month_is_fetched_once(setup, server: ArchiveServer) -> None:
    asset, res, warehouse = setup
    run = dg.materialize(
        [asset],
        resources={"commstats": res},
        tags={
            "dagster/asset_partition_range_start": str(key("proj/devel", "2024-01-01")),
            "dagster/asset_partition_range_end": str(key("proj/devel", "2024-03-01")),
        },
    )
    assert run.success
    assert [fetches(server, m) for m in (1, 2, 3)] == [1, 1, 1]
    assert messages(warehouse, "devel") == sum(SIZES.values())
    assert messages(warehouse, "late") == 0  # another list's months are not part of the range
    meta = run.asset_materializations_for_node("http_archive_months")[0].metadata
    assert sorted(meta["months"].value) == ["proj/devel 2024-01", "proj/devel 2024-02", "proj/devel 2024-03"]


def test_a_month_outside_the_lists_range_fails_with_one_line(setup, server: ArchiveServer) -> None:
    asset, res, warehouse = setup
    run = dg.materialize(
        [asset],
        partition_key=key("proj/late", "2024-01-01"),
        resources={"commstats": res},
        raise_on_error=False,
    )
    assert not run.success
    failure = next(e for e in run.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description
    assert message == (
        "http archive proj/late: mailing list 'late': month 2024-01 is outside its range "
        "2024-02..2024-03 (since/until in the config)"
    )
    assert server.count() == 0 and not warehouse.exists()


def test_the_rebuild_job_leaves_the_months_asset_out(setup) -> None:
    from orchestration.defs.archives import ASSET_KEY
    from orchestration.defs.automation import rebuild_job
    from orchestration.defs.ingest import git_repositories, identities, mail_lists

    asset, res, _ = setup
    assets = [asset, identities, mail_lists, git_repositories]
    graph = dg.Definitions(assets=assets, resources={"commstats": res}).resolve_asset_graph()
    assert rebuild_job.selection is not None
    chosen = rebuild_job.selection.resolve(graph)
    assert ASSET_KEY not in chosen and set(identities.keys) <= chosen
