"""A refresh whose touched periods hold most of the marts' period rows builds the incremental marts
whole (var incremental_whole_share, 0.5 by default); one touching few stays incremental. Either way
the marts equal a full build of the same raw rows, and a run that leaves a mart out keeps it.

The raw rows are the sample's (the shared `commstats run` of the end-to-end tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.dbt_helpers import query, run_dbt
from tests.incremental.test_incremental_marts import (
    INCREMENTAL,
    built_whole_once,
    change,
    dbt_run,
    full_build_differences,
)

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]

SHARE = re.compile(r"the touched periods hold ([0-9.]+) % of the period rows")


def one_message_per_project_from(day: str, tag: str) -> str:
    """SQL posting again, under a new Message-ID, each project's first message on or after `day`."""
    return f"""insert into raw.mail_messages
        select * replace (message_id || '.{tag}' as message_id)
        from raw.mail_messages
        where sent_at >= '{day}'
        qualify row_number() over (partition by project order by sent_at, message_id) = 1"""


def touched_share(warehouse: Path) -> float:
    """The share of the period rows in the touched periods, in percent, counted from the acts:
    each act is a row of its month, quarter and year, and of every cumulative year ending after it."""
    [(touched, total)] = query(
        warehouse,
        """with rows as (
            select p.project, p.grain, p.period_start
            from intermediate.int_activity_events as e
            inner join intermediate.int_periods as p
                on e.project = p.project and e.occurred_at < p.period_end
                and (p.grain = 'cumulative' or e.occurred_at >= p.period_start)
        )
        select count(*) filter (where (project, grain, period_start) in (
            select (project, grain, period_start) from incremental_state.touched_periods)), count(*)
        from rows""",
    )
    return 100 * touched / total


def equals_a_full_build(warehouse: Path) -> None:
    assert full_build_differences(warehouse, warehouse.parent / "target-full") == {}


@pytest.fixture(scope="module")
def built(pipeline_run: dict, tmp_path_factory) -> Path:
    return built_whole_once(pipeline_run["warehouse"], tmp_path_factory.mktemp("whole") / "whole.duckdb")


def test_a_refresh_touching_few_rows_stays_incremental(built: Path) -> None:
    # a message of each project's last month: its month, quarter, year and last cumulative year
    [(last,)] = query(built, "select date_trunc('month', max(sent_at))::date::varchar from raw.mail_messages")
    change(built, one_message_per_project_from(last, "few"))
    output = dbt_run(built, built.parent / "target")
    assert "whole build" not in output and "full rebuild" not in output
    [logged] = SHARE.findall(output)
    assert float(logged) == pytest.approx(touched_share(built), abs=0.05)
    assert 0 < float(logged) < 50
    # each mart deleted and inserted its touched rows, recorded for its data tests
    assert sorted(
        m for (m,) in query(built, "select model from incremental_state.incremental_builds")
    ) == sorted(INCREMENTAL)
    equals_a_full_build(built)


def test_a_refresh_touching_most_rows_builds_the_marts_whole(built: Path) -> None:
    # a message of each project's first month: every cumulative year is touched
    change(built, one_message_per_project_from("1985-01-01", "most"))
    output = dbt_run(built, built.parent / "target")
    assert "full rebuild" not in output
    logged = {float(share) for share in SHARE.findall(output)}
    assert len(logged) == 1
    share = logged.pop()
    assert share == pytest.approx(touched_share(built), abs=0.05)
    assert share >= 50
    for table in INCREMENTAL:
        assert f"whole build of {table.split('.')[1]}: the touched periods hold" in output
    # built whole, so their data tests read every row
    assert query(built, "select count(*) from incremental_state.incremental_builds") == [(0,)]
    equals_a_full_build(built)


def test_a_share_of_none_never_builds_whole(built: Path) -> None:
    change(built, one_message_per_project_from("1985-01-01", "never"))
    output = dbt_run(built, built.parent / "target", {"incremental_whole_share": None})
    assert "whole build" not in output and "incremental refresh" not in output
    assert query(built, "select count(*) from incremental_state.incremental_builds") == [(len(INCREMENTAL),)]
    equals_a_full_build(built)


def test_a_mart_left_out_keeps_its_rows_and_the_next_run_builds_it(built: Path) -> None:
    change(built, one_message_per_project_from("1985-01-01", "left-out"))
    mart = "select * from marts.person_activity order by all"
    rows = query(built, mart)
    stored = query(built, "select * from incremental_state.event_fingerprints order by all")
    output = run_dbt(built, built.parent / "target", "run", "--exclude", "person_activity").stdout
    assert "whole build of organization_activity" in output
    assert "whole build of person_activity" not in output
    # not dropped, not refreshed; and a run that left out a mart stores no state
    assert query(built, mart) == rows
    assert query(built, "select * from incremental_state.event_fingerprints order by all") == stored
    output = dbt_run(built, built.parent / "target")
    for table in INCREMENTAL:
        assert f"whole build of {table.split('.')[1]}" in output
    equals_a_full_build(built)
