"""DuckDB is the release the packaged extensions are built for, and DuckLake, postgres and httpfs load
from the installed packages (duckdb-ext-ducklake, duckdb-ext-postgres, duckdb-ext-httpfs) with
nothing downloaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb


def packaged_extensions() -> Path:
    """<site-packages>/duckdb_ext/extensions: both packages install into this namespace package."""
    spec = importlib.util.find_spec("duckdb_ext")
    assert spec is not None and spec.submodule_search_locations, "duckdb-ext packages are not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "extensions"


def test_duckdb_is_the_release_of_the_extension_packages():
    assert duckdb.__version__ == "1.4.4"
    platform = duckdb.connect().execute("select platform from pragma_platform()").fetchone()[0]
    found = sorted(p.name for p in (packaged_extensions() / "v1.4.4" / platform).iterdir())
    assert found == [
        "ducklake.duckdb_extension",
        "httpfs.duckdb_extension",
        "postgres_scanner.duckdb_extension",
    ]


def test_ducklake_and_postgres_load_from_the_packages_and_a_lake_takes_rows(tmp_path: Path, monkeypatch):
    # an empty HOME: no extension installed under ~/.duckdb can stand in for the packaged ones
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    con = duckdb.connect(
        config={
            "extension_directory": str(packaged_extensions()),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    con.execute("LOAD ducklake")
    con.execute("LOAD postgres")
    con.execute("LOAD httpfs")
    loaded = con.execute(
        "select extension_name, install_path from duckdb_extensions() "
        "where loaded and extension_name in ('ducklake', 'httpfs', 'postgres_scanner') order by 1"
    ).fetchall()
    assert [name for name, _ in loaded] == ["ducklake", "httpfs", "postgres_scanner"]
    for _, path in loaded:
        assert Path(path).is_relative_to(packaged_extensions())
    con.execute(f"ATTACH 'ducklake:{tmp_path}/catalog.ducklake' AS lake (DATA_PATH '{tmp_path}/data/')")
    con.execute("create table lake.messages as select range as n from range(5)")
    assert con.execute("select count(*), sum(n) from lake.messages").fetchone() == (5, 10)
    assert list((tmp_path / "data").rglob("*.parquet"))
    assert not (tmp_path / "home").exists()


def test_only_commstats_own_connections_skip_the_signature_check_of_the_packaged_extensions():
    from core.warehouse import lake_config

    # the packages' folder and DuckDB's own are in one site-packages
    assert packaged_extensions().resolve().parents[1] == Path(duckdb.__file__).resolve().parents[1]
    assert lake_config(verify_signatures=False)["allow_unsigned_extensions"] is True
    assert "allow_unsigned_extensions" not in lake_config()
    # and the extensions load under both settings
    for config in (lake_config(), lake_config(verify_signatures=False)):
        con = duckdb.connect(config=config)
        con.execute("LOAD ducklake")
        assert con.execute(
            "select loaded from duckdb_extensions() where extension_name = 'ducklake'"
        ).fetchone()[0]
        con.close()
