"""The dbt project as Dagster sees it, prepared (parsed into target/manifest.json) before use.

Under `dagster dev` (`commstats ui`) `prepare_if_dev()` prepares the project on every load, so model
edits show up on reload; preparing parses only when a project file is newer than the manifest, so
the run processes it starts do not each parse it again. Outside it Dagster expects the manifest
to exist already, as a deployment makes it with `dagster-dbt project prepare-and-package --file
orchestration/project.py`; `commstats run` calls `prepare()` itself before loading the
definitions, and a fresh clone without a manifest is parsed once on import. Parsing holds a lock,
so processes starting together parse once and none reads a manifest being written.
"""

import fcntl
import importlib.metadata
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from dagster_shared.record import replace
from packaging.version import Version

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

# the dbt installed beside this Python, so a venv's dbt is used even when the venv is not on PATH
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


class VenvDbtCli(DbtCliResource):
    """dagster-dbt's resource for this venv's dbt, without two costs of its own before every
    command (3 s of each build): asking the executable for its version (`dbt --version`, another
    Python start) and loading dbt's adapter into this process. The executable is this venv's, so
    its version is the installed dbt-core's; the adapter serves only dagster-dbt's row-count and
    column-metadata helpers, and commstats counts rows itself (defs/dbt_row_counts.py)."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_cli() -> DbtCliResource:
    return VenvDbtCli(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """Dagster's preparer with this venv's dbt (Dagster's own runs the `dbt` found on PATH).

    The project has no packages, so preparing it is parsing it.
    """

    def prepare(self, project: DbtProject) -> None:
        # every run process of `dagster dev` loads the definitions: parse only what changed. dbt
        # writes the manifest in place, so processes starting together take turns: one parses,
        # the others wait and then find it current instead of reading it half written
        with preparing(project):
            if manifest_is_current(project):
                return
            dbt_cli().cli(["parse", "--quiet"], target_path=project.target_path).wait()


@contextmanager
def preparing(project: DbtProject) -> Iterator[None]:
    """Held while the manifest is (re)written: dbt writes it in place, so processes starting
    together take turns, and a reader waits for a parse in progress instead of reading half a file."""
    # target_path is relative to the project (dbt's convention), not to the working directory
    target = project.project_dir / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".prepare.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def manifest_is_current(project: DbtProject) -> bool:
    """Whether the manifest is newer than every model, macro, seed, test and project file, and
    than the folders holding them."""
    manifest = project.manifest_path
    if not manifest.exists():
        return False
    root = project.project_dir
    folders = [root / d for d in ("models", "macros", "seeds", "tests")]
    # folders too: a folder's time changes when a file in it is added or removed
    sources = [p for d in folders if d.exists() for p in (d, *d.rglob("*"))]
    sources += [root / "dbt_project.yml", root / "profiles.yml"]
    newest = max((p.stat().st_mtime for p in sources if p.exists()), default=0.0)
    return manifest.stat().st_mtime >= newest


dbt_project = replace(
    DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR), preparer=VenvDbtPreparer()
)


def prepare() -> Path:
    """Parse the project into its manifest where a project file changed, as `dagster dev` does on
    every load."""
    dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path


dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    prepare()
else:
    with preparing(dbt_project):  # an existing manifest is used as it is, once no parse is writing it
        pass
