"""Fixtures of the DuckLake tests: a real PostgreSQL server for the catalog (one per test session
and xdist worker, skipped with the reason where none can run), a fresh database on it for each test,
and the folder DuckDB loads the packaged DuckLake and postgres extensions from."""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.lake.postgres_server import PostgresServer, available, postgres_server

# the one DuckDB line whose DuckLake and postgres extensions are packaged on PyPI
DUCKDB_VERSION = "1.4.4"
EXTENSION_PACKAGES = ("duckdb-ext-ducklake", "duckdb-ext-postgres", "duckdb-ext-httpfs")


def extension_directory() -> Path | str:
    """The `extension_directory` DuckDB loads ducklake and postgres from (the folder holding
    `v1.4.4/<platform>/*.duckdb_extension` that the packages install), or why there is none."""
    missing = "DuckDB 1.4.4 with the DuckLake extension packages is not installed"
    if duckdb.__version__ != DUCKDB_VERSION:
        return f"{missing} (duckdb {duckdb.__version__})"
    folders: set[Path] = set()
    for package in EXTENSION_PACKAGES:
        try:
            files = importlib.metadata.distribution(package).files or []
        except importlib.metadata.PackageNotFoundError:
            return f"{missing} (no {package})"
        found = [Path(str(f.locate())) for f in files if f.name.endswith(".duckdb_extension")]
        if not found:
            return f"{missing} ({package} has no .duckdb_extension file)"
        # <extension_directory>/v1.4.4/<platform>/<name>.duckdb_extension
        folders.update(path.parents[2] for path in found)
    if len(folders) != 1:
        return f"{missing} (the extension packages are in different folders: {sorted(folders)})"
    return folders.pop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    with postgres_server() as server:
        yield server


@pytest.fixture
def lake_database(postgres: PostgresServer) -> Iterator[PostgresServer]:
    """The server with a new empty database of its own as `dbname` (and in `libpq`), dropped after."""
    name = postgres.create_database()
    try:
        yield dataclasses.replace(postgres, dbname=name)
    finally:
        postgres.drop_database(name)


@pytest.fixture(scope="session")
def ducklake_extensions() -> Path:
    folder = extension_directory()
    if isinstance(folder, str):
        pytest.skip(folder)
    return folder


def assert_same_csv_exports(lake_csv: Path, file_csv: Path) -> None:
    """The CSV exports (<year>/<project>/<table>.csv) drawn from a lake are those of the DuckDB-file
    build, file for file and byte for byte."""
    exports = sorted(p.relative_to(file_csv) for p in file_csv.rglob("*.csv"))
    assert sorted(p.relative_to(lake_csv) for p in lake_csv.rglob("*.csv")) == exports
    assert len(exports) >= 20
    for csv in exports:
        assert (lake_csv / csv).read_bytes() == (file_csv / csv).read_bytes(), csv
