"""The dbt project's manifest: made on a fresh clone; outside `dagster dev` used as it is until
`prepare()` (what `commstats run` calls before loading the definitions) parses the models again;
under `dagster dev` parsed on a load where a project file changed (not in every run process), by
this venv's dbt even when it is not on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# import a copy of orchestration/project.py (beside a copy of dbt_project/), print the models of
# the manifest it left, then call prepare() and print them again
SCRIPT = """
import json, runpy, sys
ns = runpy.run_path(sys.argv[1])
names = lambda: sorted(n["name"] for n in json.loads(ns["dbt_project"].manifest_path.read_text())["nodes"].values()
                       if n["resource_type"] == "model")
print(json.dumps(names()))
if sys.argv[2] == "prepare":
    ns["prepare"]()
    print(json.dumps(names()))
"""


def _run(project_py: Path, step: str, dev: bool = False, cwd: Path | None = None) -> list[list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_IS_DEV_CLI"}  # not `dagster dev`
    if dev:  # `dagster dev` started without the venv on PATH
        env.update(DAGSTER_IS_DEV_CLI="1", PATH="/usr/bin:/bin")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(project_py), step],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=cwd,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("[")]


def test_manifest_on_a_fresh_clone_and_prepare_follows_the_models(tmp_path: Path):
    (tmp_path / "orchestration").mkdir()
    project_py = tmp_path / "orchestration" / "project.py"
    shutil.copy(ROOT / "orchestration" / "project.py", project_py)
    shutil.copytree(
        ROOT / "dbt_project", tmp_path / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    manifest = tmp_path / "dbt_project" / "target" / "manifest.json"
    assert not manifest.exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    [fresh] = _run(project_py, "import", cwd=elsewhere)
    assert manifest.exists()
    # the parse lock sits beside the manifest, whatever the working directory
    assert (manifest.parent / ".prepare.lock").exists() and list(elsewhere.iterdir()) == []
    assert "community_health" in fresh and "zz_probe" not in fresh

    (tmp_path / "dbt_project" / "models" / "marts" / "zz_probe.sql").write_text("select 1 as one\n")
    before, after = _run(project_py, "prepare")
    assert before == fresh  # outside `dagster dev` an existing manifest is used as it is
    assert after == sorted([*fresh, "zz_probe"])  # the command line's prepare() parses the edit

    (tmp_path / "dbt_project" / "models" / "marts" / "zz_probe.sql").unlink()
    [dev] = _run(project_py, "import", dev=True)
    assert dev == fresh  # under `dagster dev` a load parses what changed, with this venv's dbt
    stamp = manifest.stat().st_mtime_ns
    [again] = _run(project_py, "import", dev=True)
    assert again == fresh and manifest.stat().st_mtime_ns == stamp  # nothing changed: no parse


def test_a_dbt_command_starts_no_version_process_and_loads_no_adapter(tmp_path: Path, monkeypatch):
    """dagster-dbt would run `dbt --version` and load dbt's adapter into the run's process before
    every command (3 s of each build); the resource knows the venv's version instead."""
    import importlib.metadata

    import dagster_dbt.core.resource as resource
    from packaging.version import Version

    from orchestration.project import dbt_cli

    def no_version_process(*args, **kwargs):
        raise AssertionError(f"dbt started for its version: {args}")

    monkeypatch.setattr(resource, "check_output", no_version_process)
    cli = dbt_cli()
    assert cli._cli_version == Version(importlib.metadata.version("dbt-core"))
    invocation = cli.cli(["debug", "--config-dir"], target_path=tmp_path / "target")
    invocation.wait()
    assert invocation.is_successful()
    assert invocation.adapter is None


def _tests_selected(select: list[str], target: Path) -> set[str]:
    from orchestration.project import dbt_cli

    args = ["ls", "--resource-type", "test", "--output", "name", "--select", " ".join(select)]
    invocation = dbt_cli().cli(args, target_path=target)
    events = [e.raw_event["info"] for e in invocation.stream_raw_events()]
    return {e["msg"] for e in events if e["name"] == "PrintEvent"}


def test_a_partial_build_runs_no_test_of_a_model_not_built(tmp_path: Path):
    """ "Materialize all" in the UI builds the models in several runs as their sources land; a
    run building int_addresses_resolved must not test a mart's relationship to it before the
    mart exists (under dbt's default the test ran, and failed on the missing table)."""
    relationship = "relationships_unaffiliated_addresses_address__address__ref_int_addresses_resolved_"
    alone = _tests_selected(["int_addresses_resolved"], tmp_path / "a")
    assert alone == {
        "not_null_columns_int_addresses_resolved_address__is_invalid_address__person_id",
        "unique_int_addresses_resolved_address",
    }
    # built together, or the mart alone once its upstream model exists: the relationship is tested
    assert relationship in _tests_selected(
        ["int_addresses_resolved", "unaffiliated_addresses"], tmp_path / "b"
    )
    assert relationship in _tests_selected(["unaffiliated_addresses"], tmp_path / "c")
