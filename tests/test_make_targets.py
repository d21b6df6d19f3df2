"""`make test`, `make lint` and `make fmt`, run against a stand-in environment.

Each tool of the environment is a script that logs how it was called and fails when asked to, so
these tests show the order of the steps and the exit status without running the real suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("pytest", "ruff", "sqlfluff", "lint-imports", "python")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in TOOLS:
        script = bin_dir / tool
        # FAIL names the one call that fails, as "<tool> <first argument>"
        script.write_text(
            "#!/bin/sh\n"
            f'echo "{tool} $*" >> "$MAKE_LOG"\n'
            f'case "{tool} $1" in "$FAIL") exit 3;; esac\n'
            "exit 0\n"
        )
        script.chmod(0o755)
    # newer than pyproject.toml, so make does not reinstall
    (tmp_path / "venv" / ".installed").touch()
    return tmp_path / "venv"


def make(target: str, venv: Path, fail: str = "") -> tuple[int, list[str]]:
    log = venv.parent / "make.log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "MAKE_LOG": str(log), "FAIL": fail, "MAKEFLAGS": ""}
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), target, f"VENV={venv}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return done.returncode, calls


def tools_called(calls: list[str]) -> list[str]:
    return [" ".join(call.split()[:2]) for call in calls]


LINT = ["ruff check", "ruff format", "sqlfluff lint", "lint-imports --no-logo"]


def test_test_runs_the_tests_then_lint_and_passes_when_both_pass(venv: Path) -> None:
    code, calls = make("test", venv)
    assert code == 0
    assert tools_called(calls) == ["pytest -n", *LINT]


def test_a_formatting_nit_does_not_stop_the_tests_but_fails_the_target(venv: Path) -> None:
    code, calls = make("test", venv, fail="ruff format")
    assert code != 0
    # the tests ran in full before lint; lint stopped at the failing step
    assert tools_called(calls) == ["pytest -n", "ruff check", "ruff format"]


def test_a_broken_import_contract_fails_the_target(venv: Path) -> None:
    code, calls = make("test", venv, fail="lint-imports --no-logo")
    assert code != 0
    assert tools_called(calls) == ["pytest -n", *LINT]


def test_failing_tests_fail_the_target_and_lint_still_runs(venv: Path) -> None:
    code, calls = make("test", venv, fail="pytest -n")
    assert code != 0
    assert tools_called(calls) == ["pytest -n", *LINT]


def test_lint_runs_ruff_sqlfluff_then_lint_imports(venv: Path) -> None:
    code, calls = make("lint", venv)
    assert code == 0
    assert calls == [
        "ruff check .",
        "ruff format --check .",
        "sqlfluff lint dbt_project/models dbt_project/macros",
        "lint-imports --no-logo",
    ]


def test_fmt_formats_python_and_fixes_sql(venv: Path) -> None:
    code, calls = make("fmt", venv)
    assert code == 0
    assert calls == [
        "ruff format .",
        "ruff check --fix .",
        "sqlfluff fix dbt_project/models dbt_project/macros",
    ]
