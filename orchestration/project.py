"""The dbt project as Dagster sees it, prepared (parsed into target/manifest.json) before use.

Under `dagster dev` (`commstats ui`) `prepare_if_dev()` parses the project on every load, so model
edits show up on reload. Outside it Dagster expects the manifest to exist already, as a deployment
makes it with `dagster-dbt project prepare-and-package --file orchestration/project.py`;
`commstats run` calls `prepare()` itself before loading the definitions, and a fresh clone without
a manifest is parsed once on import.
"""

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from dagster_shared.record import replace

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

# the dbt installed beside this Python, so a venv's dbt is used even when the venv is not on PATH
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


def dbt_cli() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """Dagster's preparer with this venv's dbt (Dagster's own runs the `dbt` found on PATH).

    The project has no packages, so preparing it is parsing it.
    """

    def prepare(self, project: DbtProject) -> None:
        dbt_cli().cli(["parse", "--quiet"], target_path=project.target_path).wait()


dbt_project = replace(
    DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR), preparer=VenvDbtPreparer()
)


def prepare() -> Path:
    """Parse the project into its manifest, as `dagster dev` does on every load."""
    dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path


dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    prepare()
