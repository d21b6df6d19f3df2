"""Incremental int_activity_events: a refresh attributes only the acts the table does not hold, and
deletes first those gone or changed and every act of an address whose person or affiliation rules
changed. After each refresh every model equals a full build of the same raw rows, and the acts
deleted are those counted here from the table before the refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt_helpers import query
from tests.incremental.test_incremental_marts import built_whole_once, change, dbt_run, full_build_differences

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]

# an address placed by its registrable domain alone (no seed or identity rule names it)
ADDRESS = "vitaly.kiszka@tinycloud.dev"


@pytest.fixture(scope="module")
def acts(pipeline_run: dict, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("acts")
    return {"warehouse": built_whole_once(pipeline_run["warehouse"], tmp / "acts.duckdb"), "tmp": tmp}


def refresh(state: dict) -> None:
    output = dbt_run(state["warehouse"], state["tmp"] / "target")
    assert "full rebuild" not in output
    assert full_build_differences(state["warehouse"], state["tmp"] / "target-full") == {}


def stale(warehouse: Path) -> set[tuple]:
    return set(query(warehouse, "select project, event, ref_id, address from incremental_state.stale_acts"))


def test_nothing_new_deletes_no_act(acts: dict) -> None:
    refresh(acts)
    assert stale(acts["warehouse"]) == set()
    assert query(acts["warehouse"], "select count(*) from incremental_state.changed_addresses") == [(0,)]


def test_an_address_placed_again_has_all_its_acts_attributed_again(acts: dict) -> None:
    warehouse: Path = acts["warehouse"]
    held = set(
        query(
            warehouse,
            "select project, event, ref_id, address from intermediate.int_activity_events "
            f"where address = '{ADDRESS}'",
        )
    )
    # the commits the address committed for someone else: their outsider merge compares its
    # organization too
    committed = set(
        query(
            warehouse,
            "select e.project, e.event, e.ref_id, e.address from intermediate.int_activity_events as e "
            "join raw.git_commits as c on e.project = c.project and e.ref_id = c.repository || ':' || c.sha "
            f"where e.event = 'commit' and c.committer_address = '{ADDRESS}'",
        )
    )
    assert len(held) > 10
    assert query(
        warehouse,
        f"select distinct organization from intermediate.int_activity_events where address = '{ADDRESS}'",
    ) == [("tinycloud.dev",)]
    # a newer public suffix list places the address under another registrable domain
    change(
        warehouse,
        f"update raw.address_domains set registrable_domain = 'cloud-two.dev' where address = '{ADDRESS}'",
    )
    refresh(acts)
    assert query(warehouse, "select address from incremental_state.changed_addresses") == [(ADDRESS,)]
    assert stale(warehouse) == held | committed
    assert query(
        warehouse,
        f"select distinct organization from intermediate.int_activity_events where address = '{ADDRESS}'",
    ) == [("cloud-two.dev",)]


def test_a_new_reply_to_an_old_patch_replaces_the_acts_it_changes(acts: dict) -> None:
    warehouse: Path = acts["warehouse"]
    # the earliest patch nobody answered gets an answer from someone else, a year later
    patch, sender = query(
        warehouse,
        "select message_id, from_address from intermediate.int_patches "
        "where first_reply_at is null and not is_cover_letter and from_address is not null "
        "order by sent_at, message_id limit 1",
    )[0]
    # a sender of the list who is another person than the patch's, and no bot
    other = query(
        warehouse,
        "select min(m.from_address) from raw.mail_messages as m "
        "join intermediate.int_addresses_resolved as a on a.address = m.from_address "
        "where not a.is_bot and a.person_id <> (select coalesce(max(person_id), '') "
        f"from intermediate.int_addresses_resolved where address = '{sender}')",
    )[0][0]
    change(
        warehouse,
        f"""insert into raw.mail_messages
        select * replace (
            'late-answer@example.org' as message_id, '{other}' as from_address, 'Re: ' || subject as subject,
            message_id as in_reply_to, [message_id] as "references", sent_at + interval 365 day as sent_at,
            false as is_patch, false as is_cover_letter, null as patch_id
        )
        from raw.mail_messages where message_id = '{patch}'""",
    )
    refresh(acts)
    # the patch's act (its reply time) and its series' act changed; nothing else was held
    kept = stale(warehouse)
    assert {(e, r.split(":", 1)[1]) for (_, e, r, _) in kept} >= {("patch_posted", patch)}
    assert {e for (_, e, _, _) in kept} <= {"patch_posted", "series_posted"}
    assert query(
        warehouse,
        "select count(*) from intermediate.int_activity_events where ref_id like '%:late-answer@example.org'",
    ) == [(1,)]
