"""Pure pieces of the operations layer: partition keys, run stages, refresh stages, progress,
instance settings, the published copy and the build fingerprint."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from commstats.run import Stage, plan_stages
from core.config import load_config
from core.partitions import (
    UnknownSource,
    git_partition_keys,
    mail_partition_keys,
    mailing_list,
    repository,
)
from core.progress import Progress
from core.published import publish_copy, published_path
from orchestration.buildstate import fingerprint
from orchestration.instance import ensure_instance
from orchestration.refresh import REFRESH_TAG, RefreshRuns, plan_requests
from tests.ops.conftest import write_config


@pytest.fixture
def cfg(sample_dir: Path, tmp_path: Path):
    return load_config(write_config(sample_dir, tmp_path / "w"))


def test_partition_keys_name_every_source(cfg):
    assert mail_partition_keys(cfg) == ["vmcore/vmcore-devel", "kernel-virt/kvm"]
    assert git_partition_keys(cfg) == ["vmcore/vmcore", "kernel-virt/minikernel"]
    project, _, lst = mailing_list(cfg, "kernel-virt/kvm")
    assert (project, lst.name, lst.kind) == ("kernel-virt", "kvm", "mbox")
    project, _, repo = repository(cfg, "kernel-virt/minikernel")
    assert (project, repo.name, repo.paths) == (
        "kernel-virt",
        "minikernel",
        ["virt/", "arch/*/kvm/", "include/linux/kvm*.h"],
    )
    with pytest.raises(UnknownSource, match="source 'vmcore/gone' is not in the config"):
        repository(cfg, "vmcore/gone")


def test_run_stages_one_per_partition_then_the_rest():
    mail, git = {"raw/m1", "raw/m2"}, {"raw/g"}
    stages = plan_stages({"raw/m1", "raw/m2", "raw/g", "marts/x"}, [(mail, ["a/l", "b/l"]), (git, ["a/r"])])
    assert stages == [
        Stage(frozenset(mail), "a/l"),
        Stage(frozenset(mail), "b/l"),
        Stage(frozenset(git), "a/r"),
        Stage(frozenset({"marts/x"})),
    ]
    # selecting one table of a multi-asset runs the whole source; nothing downstream is added
    assert plan_stages({"raw/g"}, [(mail, ["a/l"]), (git, ["a/r"])]) == [Stage(frozenset(git), "a/r")]
    assert plan_stages({"marts/x"}, [(mail, ["a/l"])]) == [Stage(frozenset({"marts/x"}))]


def test_refresh_fans_out_then_rebuilds_once():
    mail, git = ["p/l"], ["p/r"]
    first = plan_requests([RefreshRuns("R1")], mail, git)
    assert [(r.job, r.partition, r.run_key) for r in first] == [
        ("ingest_mail", "p/l", "R1:ingest_mail:p/l"),
        ("ingest_git", "p/r", "R1:ingest_git:p/r"),
    ]
    assert all(r.tags == {REFRESH_TAG: "R1"} for r in first)
    launched = {("ingest_mail", "p/l"), ("ingest_git", "p/r")}
    # one still running: wait
    assert plan_requests([RefreshRuns("R1", launched, unfinished=1)], mail, git) == []
    # all finished (a failed source counts as finished): rebuild, once
    [rebuild] = plan_requests([RefreshRuns("R1", launched, unfinished=0)], mail, git)
    assert (rebuild.job, rebuild.partition, rebuild.run_key) == ("rebuild", None, "R1:rebuild")
    assert plan_requests([RefreshRuns("R1", launched | {("rebuild", "")})], mail, git + ["p/new"]) == []
    # a refresh that ended without a rebuild (nothing new since the last build) is done too
    assert plan_requests([RefreshRuns("R1", launched, unfinished=0)], mail, git, finished={"R1"}) == []
    assert [r.run_key for r in plan_requests([RefreshRuns("R3", launched)], mail, git, {"R1"})] == [
        "R3:rebuild"
    ]
    # a config without sources rebuilds straight away
    assert [r.job for r in plan_requests([RefreshRuns("R2")], [], [])] == ["rebuild"]


def test_progress_logs_at_most_every_interval_and_a_last_line():
    now = [0.0]
    lines: list[str] = []
    progress = Progress("p/list", "messages", lines.append, log_every_s=10, clock=lambda: now[0])
    for done in range(1000, 30_001, 1000):
        now[0] += 1.0  # 1,000 messages a second
        progress(done)
    progress.finish()
    assert lines == [
        "p/list: 10,000 messages (1,000 messages/s)",
        "p/list: 20,000 messages (1,000 messages/s)",
        "p/list: 30,000 messages (1,000 messages/s)",
        "p/list: 30,000 messages (1,000 messages/s) in 30.0 s",
    ]


def test_the_warehouse_pool_is_limited_before_any_run_is_queued(cfg):
    import dagster as dg

    home = ensure_instance(cfg)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        # the queue would otherwise create the limit lazily and let its first batch of runs all start
        assert [(p.name, p.limit) for p in instance.event_log_storage.get_pool_limits()] == [("warehouse", 1)]
        assert instance.event_log_storage.get_concurrency_info("warehouse").slot_count == 1
    finally:
        instance.dispose()


def test_instance_settings_keep_a_deployments_own_keys(cfg):
    home = ensure_instance(cfg)
    assert yaml.safe_load((home / "dagster.yaml").read_text())["concurrency"]["pools"] == {
        "default_limit": 1,
        "granularity": "run",
    }
    # the queue passes every second, not every 5 s, so the runs of a fan-out start one after the other
    code = "import dagster as dg; print(dg.DagsterInstance.get().run_coordinator.dequeue_interval_seconds)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"DAGSTER_HOME": str(home), "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert out.stdout.split() == ["1"], out.stderr[-2000:]
    # a deployment swaps the run coordinator and launcher in dagster.yaml: only configuration
    custom = {
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"},
        "run_launcher": {"module": "dagster._core.launcher", "class": "DefaultRunLauncher"},
        "concurrency": {"runs": {"max_concurrent_runs": 8}, "pools": {"default_limit": 4}},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(custom))
    ensure_instance(cfg)
    kept = yaml.safe_load((home / "dagster.yaml").read_text())
    assert kept["run_coordinator"] == custom["run_coordinator"]
    assert "run_queue" not in kept  # Dagster refuses it beside a run coordinator of the deployment's
    assert kept["run_launcher"] == custom["run_launcher"]
    assert kept["concurrency"] == {
        "runs": {"max_concurrent_runs": 8},
        "pools": {"default_limit": 4, "granularity": "run"},
    }
    code = (
        "import dagster as dg; i = dg.DagsterInstance.get(); "
        "print(type(i.run_coordinator).__name__, i.get_concurrency_config().run_queue_config.max_concurrent_runs, type(i.run_launcher).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"DAGSTER_HOME": str(home), "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert out.stdout.split() == ["QueuedRunCoordinator", "8", "DefaultRunLauncher"], out.stderr[-2000:]


def _tiny_warehouse(path: Path, rows: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists raw; create schema if not exists marts")
    con.execute("create or replace table raw.t as select range as i from range(?)", [rows])
    con.execute("create or replace table marts.m as select count(*) as n from raw.t")
    con.close()


def test_publish_copy_is_a_consistent_replacement(tmp_path: Path):
    wh = tmp_path / "warehouse.duckdb"
    _tiny_warehouse(wh, 1000)
    assert published_path(wh) == tmp_path / "warehouse.published.duckdb"
    (tmp_path / ".warehouse.published.duckdb.999.tmp").write_text("left by a killed publisher")
    copy, _, rewritten = publish_copy(wh)
    assert not rewritten  # nothing was ever dropped: no free block
    reader = duckdb.connect(str(copy), read_only=True)  # a reader holding the old copy
    _tiny_warehouse(wh, 2000)
    publish_copy(wh)
    assert reader.execute("select n from marts.m").fetchone()[0] == 1000  # its snapshot stays intact
    reader.close()
    with duckdb.connect(str(copy), read_only=True) as fresh:
        assert fresh.execute("select n from marts.m").fetchone()[0] == 2000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb", "warehouse.published.duckdb"]


def test_fingerprint_changes_with_rows_and_inputs_only(cfg, tmp_path: Path):
    wh = Path(cfg.warehouse)
    assert fingerprint(cfg, wh) is None  # no warehouse: always build
    _tiny_warehouse(wh, 10)
    first = fingerprint(cfg, wh)
    assert first and fingerprint(cfg, wh) == first
    con = duckdb.connect(str(wh))
    con.execute("create table raw.mail_source_state as select 'epoch:0' as source_key, now() as updated_at")
    con.close()
    first = fingerprint(cfg, wh)
    con = duckdb.connect(str(wh))
    con.execute("update raw.mail_source_state set updated_at = updated_at + interval 1 day")
    con.close()
    assert fingerprint(cfg, wh) == first  # a cursor re-stored unchanged is not new data
    con = duckdb.connect(str(wh))
    con.execute("update raw.t set i = i + 100 where i = 3")  # same count, other content
    con.close()
    second = fingerprint(cfg, wh)
    assert second != first
    aff = cfg.identities.affiliations[0]
    time.sleep(0.01)
    original = aff.read_text()
    cfg.identities.affiliations = [tmp_path / "aff.yaml"]
    (tmp_path / "aff.yaml").write_text(original + "\n# edited\n")
    assert fingerprint(cfg, wh) != second


def test_the_warehouse_target_is_configuration_only(sample_dir: Path, tmp_path: Path, monkeypatch):
    """Two configs that differ only in `warehouse:` load into two files; dbt's profile follows the
    same setting (the `warehouse` var the dbt asset passes from the config)."""
    import dagster as dg
    import jinja2

    monkeypatch.setenv("COMMSTATS_CONFIG", str(write_config(sample_dir, tmp_path / "a")))
    monkeypatch.delenv("COMMSTATS_WAREHOUSE", raising=False)
    from orchestration.defs.ingest import mail_lists
    from orchestration.defs.resources import CommstatsConfig

    shared = write_config(sample_dir, tmp_path / "a")
    other = tmp_path / "b" / "communities.yaml"
    other.parent.mkdir()
    text = shared.read_text()
    other.write_text(
        text.replace(str(tmp_path / "a" / "warehouse.duckdb"), str(tmp_path / "b" / "other.duckdb"))
    )
    assert sum(x != y for x, y in zip(text.splitlines(), other.read_text().splitlines(), strict=True)) == 1
    for config, target in (
        (shared, tmp_path / "a" / "warehouse.duckdb"),
        (other, tmp_path / "b" / "other.duckdb"),
    ):
        result = dg.materialize(
            [mail_lists],
            partition_key="kernel-virt/kvm",
            resources={"commstats": CommstatsConfig(config_path=str(config))},
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success
        with duckdb.connect(str(target), read_only=True) as con:
            assert con.execute("select count(*) from raw.mail_messages").fetchone()[0] == 3458
    from orchestration.defs.transform import dbt_vars

    profile = (Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml").read_text()
    for config, target in (
        (shared, tmp_path / "a" / "warehouse.duckdb"),
        (other, tmp_path / "b" / "other.duckdb"),
    ):
        dbt_var = dbt_vars(load_config(config))
        rendered = yaml.safe_load(
            jinja2.Template(profile).render(
                var=lambda key, default=None, given=dbt_var: given.get(key, default),
                env_var=lambda key, default=None: default,
            )
        )
        outputs = rendered["commstats"]["outputs"]
        assert outputs[rendered["commstats"]["target"]]["path"] == str(target)
