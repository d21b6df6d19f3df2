"""The import contracts of pyproject.toml [tool.importlinter], as `make lint` runs them.

Each probe writes a bad import into a copy of the packages (never into the real tree) and shows
that `lint-imports` fails, naming the contract and the import; the real tree keeps every contract.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tools.module_cycles import cycle_through, strongly_connected

REPO = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
PACKAGES = CONFIG["root_packages"]
CONTRACTS = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    # lint-imports puts its working directory first on sys.path, so a copy is read, not the install
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *selected],
        cwd=cwd,
        env={**env, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def outcome(report: str, contract_id: str) -> str:
    """KEPT or BROKEN, as the report's summary line gives it for the contract."""
    found = re.search(rf"^{re.escape(CONTRACTS[contract_id])} (KEPT|BROKEN)$", report, re.MULTILINE)
    assert found, f"no summary line for {contract_id!r} in:\n{report}"
    return found.group(1)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages, the import-linter configuration and its custom contract."""
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")
    for package in [*PACKAGES, "tools"]:
        shutil.copytree(REPO / package, tmp_path / package, ignore=skip)
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def write(tree: Path, relative: str, text: str) -> None:
    path = tree / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_every_contract_is_checked_by_make_lint() -> None:
    assert "$(BIN)/lint-imports --no-logo\n" in (REPO / "Makefile").read_text()
    assert set(CONTRACTS) == {"layers", "acyclic", "module-cycles", "private-modules", "private-names"}
    layers = next(c for c in CONFIG["contracts"] if c["id"] == "layers")
    assert layers["layers"] == ["commstats", "orchestration", "charts | extractors", "core"]
    acyclic = next(c for c in CONFIG["contracts"] if c["id"] == "acyclic")
    assert sorted(acyclic["ancestors"]) == sorted(PACKAGES)
    # no contract is kept by waving imports through
    assert not any("ignore_imports" in contract for contract in CONFIG["contracts"])


def test_the_real_tree_keeps_every_contract() -> None:
    done = lint_imports(REPO)
    report = done.stdout + done.stderr
    assert {cid: outcome(report, cid) for cid in CONTRACTS} == dict.fromkeys(CONTRACTS, "KEPT"), report
    assert done.returncode == 0


def test_the_copy_keeps_the_layers_before_a_probe(tree: Path) -> None:
    done = lint_imports(tree, "layers")
    assert outcome(done.stdout, "layers") == "KEPT", done.stdout
    assert done.returncode == 0


# each probe in its own module; one lint run reads them all
UPWARD = [
    ("core/layers_probe_1.py", "import orchestration\n", "core.layers_probe_1 -> orchestration"),
    ("core/layers_probe_2.py", "from charts import style\n", "core.layers_probe_2 -> charts.style"),
    ("extractors/layers_probe.py", "import charts.style\n", "extractors.layers_probe -> charts.style"),
    ("charts/layers_probe.py", "import extractors\n", "charts.layers_probe -> extractors"),
    (
        "orchestration/layers_probe.py",
        "def late():\n    from commstats import cli\n",
        "orchestration.layers_probe -> commstats.cli",
    ),
]


def test_an_upward_or_sideways_import_breaks_the_layers(tree: Path) -> None:
    for module, imports, _ in UPWARD:
        write(tree, module, imports)
    done = lint_imports(tree, "layers")
    assert done.returncode == 1
    assert outcome(done.stdout, "layers") == "BROKEN"
    assert [arrow for _, _, arrow in UPWARD if arrow not in done.stdout] == [], done.stdout


def test_a_cycle_between_modules_breaks_the_acyclic_contract(tree: Path) -> None:
    # core.partitions imports core.errors; the reverse import closes a cycle
    errors = tree / "core" / "errors.py"
    errors.write_text(
        errors.read_text() + "\n\ndef _late() -> None:\n    from core import partitions  # noqa: F401\n"
    )
    done = lint_imports(tree, "acyclic")
    assert done.returncode == 1
    assert outcome(done.stdout, "acyclic") == "BROKEN"
    assert "No cycles are allowed in core." in done.stdout
    assert re.search(r"- \.(errors -> \.partitions|partitions -> \.errors|config -> \.errors)", done.stdout)


def test_a_cycle_between_subpackages_breaks_the_acyclic_contract(tree: Path) -> None:
    write(tree, "charts/probe_a/__init__.py", "")
    write(tree, "charts/probe_a/one.py", "from charts.probe_b import two\n")
    write(tree, "charts/probe_b/__init__.py", "")
    write(tree, "charts/probe_b/two.py", "from charts.probe_a import one\n")
    done = lint_imports(tree, "acyclic")
    assert done.returncode == 1
    assert "No cycles are allowed in charts." in done.stdout
    assert re.search(r"- \.probe_(a -> \.probe_b|b -> \.probe_a) \(1 import\)", done.stdout)


def test_a_cycle_through_a_package_init_breaks_the_module_cycles_contract(tree: Path) -> None:
    write(tree, "core/probe_pkg/__init__.py", "from core.probe_pkg.child import VALUE\n\nNAME = 'x'\n")
    write(
        tree, "core/probe_pkg/child.py", "VALUE = 1\n\n\ndef name():\n    from core.probe_pkg import NAME\n"
    )
    done = lint_imports(tree, "module-cycles", "acyclic")
    assert done.returncode == 1
    assert outcome(done.stdout, "module-cycles") == "BROKEN"
    report = " ".join(done.stdout.split())  # rich wraps long lines
    assert "Cycle: core.probe_pkg -> core.probe_pkg.child -> core.probe_pkg" in report
    assert "- core.probe_pkg -> core.probe_pkg.child (l.1)" in report
    assert "- core.probe_pkg.child -> core.probe_pkg (l.5)" in report
    # the package is not a sibling of its own module: acyclic_siblings does not see this cycle
    assert "No cycles are allowed in core" not in report


def test_strongly_connected_groups_and_a_shortest_cycle() -> None:
    edges = {"a": ["b"], "b": ["c", "d"], "c": ["a"], "d": ["b"], "e": ["a"], "f": []}
    assert strongly_connected(edges) == [["a", "b", "c", "d"]]
    assert cycle_through("a", {"a", "b", "c", "d"}, edges) == ["a", "b", "c", "a"]
    assert cycle_through("d", {"a", "b", "c", "d"}, edges) == ["d", "b", "d"]
    assert strongly_connected({"a": ["b"], "b": [], "c": ["a"]}) == []
    # two separate cycles, and a chain long enough to exhaust recursion if it were recursive
    chain = {f"m{i}": [f"m{i + 1}"] for i in range(5000)} | {"m5000": ["m0"], "x": ["y"], "y": ["x"]}
    groups = strongly_connected(chain)
    assert [len(group) for group in groups] == [5001, 2]
    assert groups[1] == ["x", "y"]


def test_a_private_module_imported_from_outside_its_package_breaks_a_contract(tree: Path) -> None:
    write(tree, "core/_hidden.py", "VALUE = 1\n")
    write(tree, "core/inside.py", "from core import _hidden\n")  # allowed: same package
    write(tree, "charts/probe.py", "from core._hidden import VALUE\n")
    done = lint_imports(tree, "private-modules")
    assert done.returncode == 1
    assert outcome(done.stdout, "private-modules") == "BROKEN"
    assert "charts.probe -> core._hidden" in done.stdout
    assert "core.inside" not in done.stdout


PRIVATE_SOURCE = "_secret = 1\nPUBLIC = 2\n\n\ndef _helper() -> None:\n    pass\n"


# core/probe_user_<n>.py holds the n-th import; the report names it and its line
PRIVATE_USES = [
    ("from core.probe_source import _secret\n", "-> core.probe_source._secret (l.1)"),
    ("from .probe_source import PUBLIC, _helper\n", "-> core.probe_source._helper (l.1)"),
    # hidden in a function, and through the module object: the same import
    ("def f():\n    from core.probe_source import _helper\n", "-> core.probe_source._helper (l.2)"),
    ("from core import probe_source\n\nprobe_source._helper()\n", "-> core.probe_source._helper (l.3)"),
    ("import core.probe_source as src\n\nsrc._secret\n", "-> core.probe_source._secret (l.3)"),
    ("import core.probe_source\n\ncore.probe_source._secret\n", "-> core.probe_source._secret (l.3)"),
    # another project's internals
    ("from dagster._core.errors import DagsterError\n", "-> dagster._core.errors (l.1)"),
]


def test_a_private_name_imported_across_modules_breaks_the_private_names_contract(tree: Path) -> None:
    write(tree, "core/probe_source.py", PRIVATE_SOURCE)
    for n, (user, _) in enumerate(PRIVATE_USES):
        write(tree, f"core/probe_user_{n}.py", user)
    done = lint_imports(tree, "private-names")
    assert done.returncode == 1
    assert outcome(done.stdout, "private-names") == "BROKEN"
    reported = [line for line in done.stdout.splitlines() if "core.probe_user_" in line]
    assert sorted(reported) == sorted(
        f"- core.probe_user_{n} {arrow}" for n, (_, arrow) in enumerate(PRIVATE_USES)
    )


def test_public_names_private_submodules_and_dunders_keep_the_private_names_contract(tree: Path) -> None:
    write(tree, "core/probe_source.py", PRIVATE_SOURCE + "\n\ndef use() -> None:\n    _helper()\n")
    write(tree, "core/probe_pkg/__init__.py", '"""A package with a compiled private module."""\n')
    write(
        tree,
        "core/probe_pkg/user.py",
        "try:\n    from core.probe_pkg import _native\nexcept ImportError:\n    _native = None\n",
    )
    write(
        tree,
        "core/probe_user.py",
        "import os\n\nfrom core.probe_source import PUBLIC, __doc__ as doc\n\nos._exit\n",
    )
    # the rest of the copy may hold private imports of its own: only the probes must be clean
    report = lint_imports(tree, "private-names").stdout
    assert "probe_" not in report, report
