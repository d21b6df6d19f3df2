"""A DuckLake whose data path is an s3:// URL on an S3-compatible server (moto's, on loopback),
catalogued in a real PostgreSQL server: `commstats run` loads, builds and draws from it, its
Parquet files are objects of the bucket (none on the local disk), the marts equal a DuckDB-file
build of the same sample row for row, and `commstats sql` reads it inside the lake's prefix only.
The credentials come from the environment; the config holds none."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import ConfigError, load_config
from core.warehouse import WarehouseUnavailable, connect, lake_of, object_store_secret_sql
from orchestration.defs.transform import dbt_build_args
from tests.lake.conftest import assert_same_csv_exports, extension_directory
from tests.lake.postgres_server import PostgresServer
from tests.lake.s3_server import KEY_ID, REGION, SECRET, S3Server, available, s3_server
from tests.lake.test_lake_config import config
from tests.ops.conftest import write_config

COMMSTATS = Path(sys.executable).with_name("commstats")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
CLEARED = ("COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE", "AWS_SESSION_TOKEN", *CREDENTIALS)


def commstats(*args: str, credentials: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    if credentials:
        env.update(CREDENTIALS)
    return subprocess.run([str(COMMSTATS), *args], capture_output=True, text=True, timeout=900, env=env)


@contextlib.contextmanager
def credentials_set() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in CLEARED}
    os.environ.update(CREDENTIALS)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def lake_setting(s3: S3Server, catalog: str, prefix: str = "lake") -> dict:
    return {
        "ducklake": {
            "catalog": catalog,
            "data_path": f"s3://{s3.bucket}/{prefix}",
            "s3": {"endpoint": s3.endpoint, "url_style": "path", "use_ssl": False, "region": REGION},
        }
    }


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    if (reason := available()) is not None:
        pytest.skip(reason)
    with s3_server() as server:
        yield server


@pytest.fixture(scope="module")
def s3_run(s3: S3Server, postgres: PostgresServer, sample_dir: Path, tmp_path_factory) -> Iterator[dict]:
    """`commstats run` of the sample into a lake with its data on the S3 server."""
    if isinstance(reason := extension_directory(), str):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("s3-lake")
    dbname = postgres.create_database()
    catalog = f"postgres:{dataclasses.replace(postgres, dbname=dbname).libpq}"
    config = write_config(sample_dir, tmp, warehouse=lake_setting(s3, catalog))
    try:
        proc = commstats("run", "--config", str(config))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        with credentials_set():
            yield {"config": config, "cfg": load_config(config), "tmp": tmp, "stdout": proc.stdout}
    finally:
        postgres.drop_database(dbname)


@pytest.mark.slow
def test_the_marts_on_the_object_store_equal_a_duckdb_file_build(s3_run: dict, pipeline_run: dict) -> None:
    con = connect(s3_run["cfg"].warehouse, read_only=True)
    try:
        con.execute(f"attach '{pipeline_run['warehouse']}' as file_build (read_only)")
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'lake' and table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        assert len(tables) >= 9
        compared = {
            table: tuple(
                con.execute(
                    f"select count(*) from (from {a}.marts.{table} except all from {b}.marts.{table})"
                ).fetchone()[0]
                for a, b in (("lake", "file_build"), ("file_build", "lake"))
            )
            for table in tables
        }
        assert set(compared.values()) == {(0, 0)}, compared
        messages = [
            con.execute(f"select count(*) from {db}.raw.mail_messages").fetchone()[0]
            for db in ("lake", "file_build")
        ]
        assert messages[0] == messages[1] > 1000
    finally:
        con.close()


@pytest.mark.slow
def test_the_lake_files_are_objects_of_the_bucket_and_none_is_on_disk(s3_run: dict, s3: S3Server) -> None:
    keys = s3.keys("lake/")
    assert len(keys) >= 20 and all(k.endswith(".parquet") for k in keys), keys[:5]
    # the catalog's files are exactly the bucket's objects: every data file DuckLake lists is there
    con = connect(s3_run["cfg"].warehouse, read_only=True)
    try:
        listed = {
            path
            for (path,) in con.execute(
                "select data_file from ducklake_list_files('lake', 'mail_messages', schema => 'raw')"
            ).fetchall()
        }
    finally:
        con.close()
    assert listed and {p.removeprefix(f"s3://{s3.bucket}/") for p in listed} <= set(keys)
    assert not list(s3_run["tmp"].rglob("*.parquet"))


@pytest.mark.slow
def test_charts_and_csv_exports_are_drawn_from_the_object_store(s3_run: dict, pipeline_run: dict) -> None:
    out = Path(s3_run["cfg"].output_dir)
    assert sorted(p.name for p in (out / "charts").glob("*.png")) == sorted(
        p.name for p in (pipeline_run["out"] / "charts").glob("*.png")
    )
    assert len(list((out / "charts").glob("*.png"))) == 8
    assert_same_csv_exports(out / "csv", pipeline_run["out"] / "csv")


@pytest.mark.slow
def test_commstats_sql_reads_the_lake_and_nothing_else_of_the_store(s3_run: dict, s3: S3Server) -> None:
    config = str(s3_run["config"])
    con = connect(s3_run["cfg"].warehouse, read_only=True)
    try:
        expected = con.execute("select count(*) from marts.person_activity").fetchone()[0]
    finally:
        con.close()
    proc = commstats("sql", "--config", config, "--csv", "select count(*) from marts.person_activity")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["count_star()", str(expected)] and expected > 0
    # an object of the same bucket outside the lake's prefix: refused, as a file outside the lake is
    s3.client().put_object(Bucket=s3.bucket, Key="elsewhere/secret.csv", Body=b"a\n1\n")
    proc = commstats(
        "sql", "--config", config, f"select * from read_csv('s3://{s3.bucket}/elsewhere/secret.csv')"
    )
    assert proc.returncode == 1 and proc.stderr.startswith("commstats: refused:"), proc.stderr
    # nor written into the lake's own prefix, which the sandbox lets it read
    before = s3.keys("lake/")
    for target in ("s3://commstats/lake/main/x.parquet", "S3://commstats/lake/x.csv"):
        proc = commstats("sql", "--config", config, f"copy (select 1 as a) to '{target}'")
        assert proc.returncode == 1 and proc.stderr.strip() == (
            "commstats: refused: commstats sql reads only the warehouse (no other file, directory, "
            f'extension or network access): Cannot access file "{target}"'
        ), proc.stderr
    assert s3.keys("lake/") == before
    # without the credentials in the environment: one line naming them
    proc = commstats("sql", "--config", config, "select 1", credentials=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"commstats: {lake_of(s3_run['cfg'].warehouse).describe()}: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY in the environment (the object store's credentials; commstats never "
        "reads them from the config file)"
    ], proc.stderr


def config_file(tmp_path: Path, lake: str) -> Path:
    return config(tmp_path, f"warehouse:\n  ducklake:\n    catalog: c.ducklake\n{lake}")


def test_an_s3_data_path_is_a_prefix_with_the_stores_settings_and_no_credentials(tmp_path: Path) -> None:
    cfg = load_config(
        config_file(
            tmp_path,
            "    data_path: s3://stats/lake\n    s3: {endpoint: 'minio.internal:9000', url_style: path}\n",
        )
    )
    lake = lake_of(cfg.warehouse)
    assert lake.data_path == "s3://stats/lake/" and not lake.data_is_local()
    args = dbt_build_args(cfg)
    dbt_vars = json.loads(args[args.index("--vars") + 1])
    assert dbt_vars["ducklake_s3"] == {
        "region": "us-east-1",
        "url_style": "path",
        "use_ssl": "true",
        "scope": "s3://stats/lake/",
        "endpoint": "minio.internal:9000",
    }
    assert KEY_ID not in " ".join(args)
    # AWS S3 itself: no `s3:` needed
    aws = lake_of(load_config(config_file(tmp_path, "    data_path: s3://stats/\n")).warehouse)
    assert aws.s3 is not None and aws.s3.endpoint is None and aws.s3.url_style == "vhost"


def test_the_secret_takes_the_credentials_of_the_environment(tmp_path: Path, monkeypatch) -> None:
    lake = lake_of(
        load_config(
            config_file(tmp_path, "    data_path: s3://stats/lake/\n    s3: {endpoint: '127.0.0.1:9000'}\n")
        ).warehouse
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "it's")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    assert object_store_secret_sql(lake) == (
        "CREATE OR REPLACE TEMPORARY SECRET commstats_lake_store (TYPE s3, KEY_ID 'AKID', SECRET 'it''s', "
        "REGION 'us-east-1', URL_STYLE 'vhost', USE_SSL 'true', SCOPE 's3://stats/lake/', "
        "ENDPOINT '127.0.0.1:9000')"
    )
    monkeypatch.setenv("AWS_SESSION_TOKEN", "tok")
    assert object_store_secret_sql(lake).endswith("ENDPOINT '127.0.0.1:9000', SESSION_TOKEN 'tok')")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(WarehouseUnavailable, match=r": set AWS_SECRET_ACCESS_KEY in the environment"):
        object_store_secret_sql(lake)
    # a data directory needs no secret
    local = lake_of(load_config(config_file(tmp_path, "    data_path: files/\n")).warehouse)
    assert object_store_secret_sql(local) is None


@pytest.mark.parametrize(
    ("lake", "message"),
    [
        ("    data_path: gs://stats/lake/\n", "must be a directory or an s3:// URL"),
        ("    data_path: s3:///lake/\n", "an s3:// URL needs a bucket: s3://bucket/prefix/"),
        ("    data_path: files/\n    s3: {endpoint: 'h:9000'}\n", "'s3' is for an s3:// data_path"),
        ("    data_path: s3://b/\n    s3: {endpoint: 'http://h:9000'}\n", "without a scheme, slash or quote"),
        ("    data_path: s3://b/\n    s3: {url_style: virtual}\n", "'vhost' or 'path'"),
        (
            "    data_path: s3://b/\n    s3: {key_id: AKID}\n",
            "key 'warehouse.ducklake.s3.key_id': unknown key",
        ),
    ],
)
def test_a_bad_object_store_setting_is_one_line_naming_the_key(
    tmp_path: Path, lake: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(config_file(tmp_path, lake))
    text = str(err.value)
    assert len(text.splitlines()) == 1 and message in text and "warehouse.ducklake" in text, text


def test_the_sql_guard_refuses_a_copy_into_the_lakes_own_prefix() -> None:
    import duckdb

    from commstats.sql_guard import StatementGuard

    con = duckdb.connect()
    # DuckDB keeps the prefix as `s3:/stats/lake/`: the guard reads it back as the URL
    con.execute("SET allowed_directories = ['s3://stats/lake/']")
    guard = StatementGuard.of(con)
    for target in ("s3://stats/lake/x.csv", "S3://stats/lake/main/t/y.parquet", "s3:/stats/lake/z.csv"):
        with pytest.raises(duckdb.PermissionException, match=f'Cannot access file "{target}"'):
            guard.check(f"copy (select 1) to '{target}'")
    # outside the prefix the guard lets DuckDB answer (its sandbox refuses every other file)
    guard.check("copy (select 1) to 's3://stats/elsewhere/x.csv'")
    guard.check("copy (select 1) to 's3://stats/lakehouse.csv'")
