"""The parser's C modules are optional at install (setup.py).

The package is installed from a copy of the source tree (no compiled module in it) with a compiler
and a linker that always fail: the install exits 0, says which module it could not build, and
installs none. A mail extraction through that install (ingest_mailing_list into a DuckDB warehouse,
on the sample's mailing lists) then runs the Python references (and pyarrow's conversion of the
spool's columns) and gives the raw tables the compiled modules give.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import patchid
from extractors import load
from extractors.mail import dates, headers, mbox

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("commstats", "core", "extractors", "orchestration", "charts")
C_MODULES = (
    "core._patchid",
    "extractors.mail._scan",
    "extractors.mail._mbox",
    "extractors.git._gitdiff",
    "extractors._columns",
)
NO_COMPILER = {"CC": "/bin/false", "CXX": "/bin/false", "LDSHARED": "/bin/false", "LDCXXSHARED": "/bin/false"}

# Runs in a child process with PYTHONPATH at one tree: which package it imported, which C modules it
# runs, and every raw mail table the extraction wrote, rows sorted.
EXTRACT = """
import json, sys
from pathlib import Path

# an editable install's finder resolves submodules of its packages (core._patchid) in the checkout,
# ahead of PYTHONPATH: take it out so every module comes from the tree under test
sys.meta_path = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]

import duckdb

import extractors
from core.config import MailingListConfig
from core import patchid
from extractors import load
from extractors.mail import dates, headers, mbox
from extractors.mail.ingest import ingest_mailing_list
from extractors.schema import MAIL_TABLES

out, mboxes = Path(sys.argv[1]), sys.argv[2:]
for path in mboxes:
    lst = MailingListConfig(name=Path(path).stem, kind="mbox", path=path)
    ingest_mailing_list(out / "warehouse.duckdb", "p", lst, out / "cache")
con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
json.dump({
    "package": extractors.__file__,
    "compiled": sorted(m.__name__ for m in (dates, headers, mbox, patchid, load) if m._native is not None),
    "patch_ids": con.execute("SELECT count(patch_id) FROM raw.mail_messages").fetchone()[0],
    "tables": {t: sorted(repr(r) for r in con.execute(f"SELECT * FROM raw.{t}").fetchall()) for t in MAIL_TABLES},
}, sys.stdout)
"""


def _source_copy(dest: Path) -> Path:
    """The files an install reads, without anything built in the checkout (*.so, caches)."""
    skip = shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "*.egg-info", "build")
    for name in PACKAGES:
        shutil.copytree(REPO / name, dest / name, ignore=skip)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def install_without_compiler(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The package installed (pip, no dependencies, offline) with every compiler command failing;
    returns the target directory and pip's output."""
    # offline, so with the environment's setuptools: one that builds wheels itself ([dev] has it)
    pytest.importorskip("setuptools", minversion="70.1")
    tmp = tmp_path_factory.mktemp("nocc")
    src = _source_copy(tmp / "src")
    target = tmp / "site"
    cmd = [sys.executable, "-m", "pip", "install", "-v", "--no-deps", "--no-index", "--no-build-isolation"]
    cmd += ["--no-cache-dir", "--disable-pip-version-check", "--target", str(target), str(src)]
    done = subprocess.run(
        cmd, cwd=tmp, env={**os.environ, **NO_COMPILER}, capture_output=True, text=True, timeout=300
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return target, output


def _extract(tmp: Path, pythonpath: Path, mboxes: list[Path]) -> dict:
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "COMMSTATS_MAIL_WORKERS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", EXTRACT, str(tmp), *map(str, mboxes)],
        cwd=tmp,  # not the checkout: its modules must come from `pythonpath` only
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def test_install_without_a_compiler_succeeds_without_the_c_modules(
    install_without_compiler: tuple[Path, str],
) -> None:
    target, output = install_without_compiler
    assert (target / "extractors" / "mail" / "mbox.py").is_file()
    assert sorted(p.name for p in target.rglob("*") if p.suffix in (".so", ".pyd")) == []
    for name in C_MODULES:
        # setuptools' one warning line per module, naming it: the build was tried and failed
        assert f'building extension "{name}" failed' in output, output[-4000:]


def test_an_extraction_without_the_c_modules_gives_the_compiled_rows(
    install_without_compiler: tuple[Path, str], sample_dir: Path, tmp_path: Path
) -> None:
    if any(m._native is None for m in (headers, mbox, patchid, load)):
        pytest.skip("the C modules are not compiled here: no compiled rows to compare with")
    target, _ = install_without_compiler
    mboxes = sorted((sample_dir / "mail").glob("*.mbox"))
    assert len(mboxes) == 2
    python = _extract(tmp_path / "python", target, mboxes)
    compiled = _extract(tmp_path / "compiled", REPO, mboxes)

    assert Path(python["package"]).is_relative_to(target)
    assert python["compiled"] == []
    assert Path(compiled["package"]).is_relative_to(REPO)
    names = sorted(m.__name__ for m in (dates, headers, mbox, patchid, load))
    assert compiled["compiled"] == names
    assert python["tables"] == compiled["tables"]
    # not vacuous: thousands of the sample's messages, trailers and patch-ids went through every scan
    assert len(compiled["tables"]["mail_messages"]) > 5000
    assert len(compiled["tables"]["mail_trailers"]) > 2000
    assert python["patch_ids"] == compiled["patch_ids"] > 1000
