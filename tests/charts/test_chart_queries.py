"""The chart assets' warehouse reads: missing marts give a reason instead of an error, and the
per-organization reply times come from the mart when it has them."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.defs.charts import cumulative_frame, query, reply_times_by_organization


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts; create schema intermediate")
    yield con
    con.close()


def test_missing_table_gives_reason_not_error(con):
    review_exchange = "a module-level name DuckDB must not pick up instead of the missing table"  # noqa: F841
    frame, reason = query(con, "select * from marts.review_exchange", [], ["alpha"])
    assert frame.empty
    assert reason and "review_exchange" in reason and "Not in this warehouse yet" in reason


def test_query_keeps_configured_projects_only(con):
    con.execute("create table marts.t as select * from (values ('alpha', 1), ('gone', 2)) v(project, n)")
    frame, reason = query(con, "select * from marts.t", [], ["alpha"])
    assert reason is None and frame["project"].tolist() == ["alpha"]


def test_reply_times_prefer_the_mart(con):
    con.execute(
        """create table marts.organization_activity as select * from (values
        ('alpha', 'cumulative', date '2023-01-01', 'Red Hat', 4.0, 10),
        ('alpha', 'cumulative', date '2024-01-01', 'Red Hat', 6.0, 20),
        ('alpha', 'year', date '2024-01-01', 'Red Hat', 9.0, 10))
        v(project, grain, period_start, organization, median_hours_to_first_reply, patches_posted)"""
    )
    frame, reason = reply_times_by_organization(con, ["alpha"])
    assert reason is None
    assert frame.to_dict("records") == [
        {"project": "alpha", "organization": "Red Hat", "median_hours_to_first_reply": 6.0, "patches": 20}
    ]


def test_reply_times_from_activity_events_without_the_mart_column(con):
    con.execute("create table marts.organization_activity (project varchar, organization varchar)")
    con.execute(
        """create table intermediate.int_activity_events as select * from (values
        ('alpha', 'patch_posted', 'IBM', 1.0, false), ('alpha', 'patch_posted', 'IBM', 3.0, false),
        ('alpha', 'patch_posted', 'IBM', 99.0, true), ('alpha', 'message', 'IBM', null, false))
        v(project, event, organization, hours_to_first_reply, is_bot)"""
    )
    frame, reason = reply_times_by_organization(con, ["alpha"])
    assert reason is None
    assert frame.to_dict("records") == [
        {"project": "alpha", "organization": "IBM", "median_hours_to_first_reply": 2.0, "patches": 2}
    ]


def test_cumulative_from_the_mart_grain(con):
    con.execute(
        """create table marts.community_health as select * from (values
        ('alpha', 'cumulative', date '2023-01-01', 10, 100, 3),
        ('alpha', 'year', date '2023-01-01', 10, 100, 3))
        v(project, grain, period_start, commits, lines_changed, submitters)"""
    )
    frame, reason, grain = cumulative_frame(con, ["alpha"])
    assert (reason, grain, len(frame)) == (None, "year", 1)
    assert frame["as_of"].dt.strftime("%Y-%m-%d").tolist() == ["2023-12-31"]
    assert frame["contributors"].tolist() == [3]
