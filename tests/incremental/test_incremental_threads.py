"""Incremental threading: a refresh recomputes the parents and ancestor chains of only the messages
new, removed or changed raw messages can move, and every model then equals a full build of the same
raw rows. The messages recomputed are checked against sets worked out here, in Python, from the raw
rows and from the chains of the build before the refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt_helpers import query, run_dbt
from tests.incremental.test_incremental_marts import (
    change,
    copy_raw,
    dbt_run,
    full_build_differences,
)

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]

LIST = ("vmcore", "vmcore-devel")
# the thread root of the sample's list with the most messages below it (14, three levels deep)
LATE_ROOT = "20190218081314.53619-1-kevin@redhat.com"


def recomputed(warehouse: Path, table: str) -> set[str]:
    return {m for (m,) in query(warehouse, f"select message_id from incremental_state.{table}")}


def parent_of(warehouse: Path, message_id: str) -> list[tuple]:
    """[(parent_id, parent_rule)] of a message in the threading model."""
    return query(
        warehouse,
        "select parent_id, parent_rule from intermediate.int_mail_messages_threaded "
        f"where message_id = '{message_id}'",
    )


def raw_messages(warehouse: Path) -> list[tuple]:
    """(message_id, in_reply_to, references, subject_normalized) of the list's raw messages."""
    return query(
        warehouse,
        'select message_id, in_reply_to, "references", subject_normalized from raw.mail_messages '
        f"where project = '{LIST[0]}' and list_name = '{LIST[1]}'",
    )


def naming_or_sharing_subject(rows: list[tuple], changed: dict[str, set[str]]) -> set[str]:
    """The messages whose parent `changed` (message_id -> its subjects, old and new) can move:
    those still there, those naming one in In-Reply-To or References, those sharing a subject."""
    subjects = set().union(*changed.values()) - {None}  # SQL's null equals nothing
    out = set()
    for message_id, in_reply_to, references, subject in rows:
        named = {in_reply_to, *(references or [])}
        if message_id in changed or named & set(changed) or subject in subjects:
            out.add(message_id)
    return out


def descendants(warehouse: Path, message_ids: set[str]) -> set[str]:
    """The messages with one of `message_ids` on their chain (themselves included)."""
    listed = ", ".join(f"'{m}'" for m in sorted(message_ids))
    rows = query(
        warehouse,
        "select distinct message_id from intermediate.int_mail_message_ancestors "
        f"where project = '{LIST[0]}' and list_name = '{LIST[1]}' and ancestor_id in ({listed})",
    )
    return {m for (m,) in rows}


def refresh(state: dict) -> str:
    output = dbt_run(state["warehouse"], state["tmp"] / "target-incremental")
    assert "full rebuild" not in output
    assert full_build_differences(state["warehouse"], state["tmp"] / "target-full") == {}
    return output


@pytest.fixture(scope="module")
def threads(pipeline_run: dict, tmp_path_factory) -> dict:
    """The sample's raw rows without LATE_ROOT, built whole once; LATE_ROOT's row kept aside."""
    tmp = tmp_path_factory.mktemp("threads")
    warehouse = tmp / "threads.duckdb"
    copy_raw(pipeline_run["warehouse"], warehouse)
    change(
        warehouse,
        f"create table main.late as select * from raw.mail_messages where message_id = '{LATE_ROOT}'",
        f"delete from raw.mail_messages where message_id = '{LATE_ROOT}'",
    )
    dbt_run(warehouse, tmp / "target-incremental")
    return {"warehouse": warehouse, "tmp": tmp}


def test_a_late_thread_root_moves_its_whole_thread(threads: dict) -> None:
    warehouse: Path = threads["warehouse"]
    # without their root, its replies started threads of their own
    orphans = query(
        warehouse,
        "select count(*) from intermediate.int_mail_messages_threaded "
        f"where in_reply_to = '{LATE_ROOT}' and parent_id is null",
    )[0][0]
    assert orphans > 0
    subject = query(warehouse, "select subject_normalized from main.late")[0][0]
    change(warehouse, "insert into raw.mail_messages select * from main.late")
    refresh(threads)
    expected = naming_or_sharing_subject(raw_messages(warehouse), {LATE_ROOT: {subject}})
    assert recomputed(warehouse, "rethreaded_messages") == expected
    # every message now under the root had its chain recomputed, and no other
    below = descendants(warehouse, {LATE_ROOT})
    assert len(below) == 14
    assert recomputed(warehouse, "reancestored_messages") == below
    assert query(
        warehouse,
        "select count(*) from intermediate.int_mail_message_ancestors "
        f"where ancestor_id = '{LATE_ROOT}' and is_root",
    ) == [(14,)]


def test_a_removed_message_and_a_changed_header(threads: dict) -> None:
    warehouse: Path = threads["warehouse"]
    # a reply with replies of its own is removed (an archive regenerated without it), and another
    # message, re-extracted, now answers a different message
    removed, moved, new_parent = query(
        warehouse,
        f"""with parents as (
            select message_id, parent_id, sent_at from intermediate.int_mail_messages_threaded
            where project = '{LIST[0]}' and list_name = '{LIST[1]}'
        )
        select
            (select min(p.parent_id) from parents as p join parents as g on g.message_id = p.parent_id
             where g.parent_id is not null),
            (select min(message_id) from parents where parent_id is null and message_id <> '{LATE_ROOT}'),
            (select max(message_id) from parents where parent_id is null)""",
    )[0]
    assert removed and moved and new_parent and moved != new_parent
    before_removed = descendants(warehouse, {removed})
    before_moved = descendants(warehouse, {moved})
    assert len(before_removed) > 1
    subjects = dict(
        query(
            warehouse,
            "select message_id, subject_normalized from raw.mail_messages "
            f"where message_id in ('{removed}', '{moved}')",
        )
    )
    change(
        warehouse,
        f"delete from raw.mail_messages where message_id = '{removed}'",
        f"update raw.mail_messages set in_reply_to = '{new_parent}' where message_id = '{moved}'",
    )
    refresh(threads)
    expected = naming_or_sharing_subject(
        raw_messages(warehouse), {removed: {subjects[removed]}, moved: {subjects[moved]}}
    )
    assert recomputed(warehouse, "rethreaded_messages") == expected | {removed}
    assert recomputed(warehouse, "reancestored_messages") == before_removed | before_moved
    assert parent_of(warehouse, moved) == [(new_parent, "in_reply_to")]
    assert query(
        warehouse,
        f"select count(*) from intermediate.int_mail_message_ancestors where ancestor_id = '{removed}'",
    ) == [(0,)]


def test_subject_threading_follows_a_late_earlier_message(threads: dict) -> None:
    warehouse: Path = threads["warehouse"]
    root, subject = query(
        warehouse,
        "select message_id, subject_normalized from intermediate.int_mail_messages_threaded "
        f"where project = '{LIST[0]}' and list_name = '{LIST[1]}' and parent_id is null "
        "and not says_reply and subject_normalized <> '' order by message_id limit 1",
    )[0]
    # a reply whose client dropped every header: only its subject places it
    change(
        warehouse,
        f"""insert into raw.mail_messages
        select * replace (
            'headerless-reply@example.org' as message_id, 'Re: ' || subject as subject,
            null as in_reply_to, []::varchar[] as "references", sent_at + interval 1 day as sent_at,
            false as is_patch, false as is_cover_letter
        )
        from raw.mail_messages where message_id = '{root}'""",
    )
    refresh(threads)
    assert parent_of(warehouse, "headerless-reply@example.org") == [(root, "subject")]
    # an older posting of the same subject, imported late, becomes the earliest earlier message
    change(
        warehouse,
        f"""insert into raw.mail_messages
        select * replace ('older-posting@example.org' as message_id, sent_at - interval 30 day as sent_at)
        from raw.mail_messages where message_id = '{root}'""",
    )
    refresh(threads)
    assert parent_of(warehouse, "headerless-reply@example.org") == [("older-posting@example.org", "subject")]
    same_subject = {m for (m, _, _, s) in raw_messages(warehouse) if s == subject}
    assert {"headerless-reply@example.org", "older-posting@example.org", root} <= same_subject
    assert recomputed(warehouse, "rethreaded_messages") == same_subject
    assert recomputed(warehouse, "reancestored_messages") == {
        "older-posting@example.org",
        "headerless-reply@example.org",
    }


def test_nothing_new_recomputes_no_message(threads: dict) -> None:
    warehouse: Path = threads["warehouse"]
    refresh(threads)
    assert recomputed(warehouse, "rethreaded_messages") == set()
    assert recomputed(warehouse, "reancestored_messages") == set()


def test_a_run_leaving_threading_out_keeps_it_for_the_models_it_feeds(threads: dict) -> None:
    # a var every model reads changed; the run builds everything but threading (as a run of the UI
    # does when only some sources landed): threading stays, and the models below read it
    warehouse: Path = threads["warehouse"]
    target = threads["tmp"] / "target-incremental"
    threading = ["int_mail_messages_threaded", "int_mail_message_ancestors"]
    before = query(warehouse, "select count(*) from intermediate.int_mail_message_ancestors")
    output = run_dbt(
        warehouse, target, "run", "--exclude", *threading, dbt_vars={"unanswered_after_days": 15}
    ).stdout
    assert "full rebuild of int_activity_events" in output
    assert not [m for m in threading if f"full rebuild of {m}" in output]
    assert query(warehouse, "select count(*) from intermediate.int_mail_message_ancestors") == before
    # the next run that builds threading builds it whole, as it was built from other inputs
    output = dbt_run(warehouse, target, dbt_vars={"unanswered_after_days": 15})
    assert [m for m in threading if f"full rebuild of {m}" in output] == threading
    assert "full rebuild of int_activity_events" not in output
    # back to the defaults: every model whole again, equal to a full build
    output = dbt_run(warehouse, target)
    assert "full rebuild of int_activity_events" in output
    assert full_build_differences(warehouse, threads["tmp"] / "target-full") == {}
