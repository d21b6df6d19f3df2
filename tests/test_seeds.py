"""The seeds' own tests (dbt_project/seeds/_seeds.yml): they pass on the shipped seeds and catch a
duplicated key, which would otherwise count one domain or robot twice in the affiliation rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.dbt_helpers import run_dbt

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def build_seeds(project: Path, warehouse: Path) -> subprocess.CompletedProcess:
    target = warehouse.parent / "target"
    return run_dbt(warehouse, target, "build", "--select", "resource_type:seed", project=project, check=False)


def copy_project(dest: Path) -> Path:
    shutil.copytree(DBT_DIR, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return dest


def test_shipped_seeds_pass_their_tests(tmp_path):
    proc = build_seeds(DBT_DIR, tmp_path / "w.duckdb")
    assert proc.returncode == 0, proc.stdout[-3000:]
    # five seeds, each with at least one test that ran
    assert "PASS=" in proc.stdout and "ERROR=0" in proc.stdout


@pytest.mark.parametrize(
    ("seed", "row", "failing"),
    [
        ("webmail_domains.csv", "gmail.com\n", "unique_webmail_domains_domain"),
        ("bot_address_patterns.csv", "syzbot%,again\n", "unique_bot_address_patterns_pattern"),
        ("domain_organizations.csv", "redhat.com,Other,,\n", "unique_combination_domain_organizations"),
    ],
)
def test_a_duplicated_seed_key_fails_the_build(tmp_path, seed, row, failing):
    project = copy_project(tmp_path / "dbt_project")
    path = project / "seeds" / seed
    text = path.read_text()
    path.write_text(text if text.endswith("\n") else text + "\n")
    with path.open("a") as f:
        f.write(row)
    proc = build_seeds(project, tmp_path / "w.duckdb")
    assert proc.returncode != 0
    assert failing in proc.stdout
