"""The real bridge list archive (a Mailman list on lore: 4,710 messages, 855 of them with the sender
rewritten for DMARC to `"X via Bridge" <bridge@lists.linux-foundation.org>` and the real sender in
Reply-To) through `commstats run`, compared with a recount by the stdlib (tests/independent.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import independent as ind
from tests.communities import builder as b
from tests.communities.conftest import failure_tail
from tests.conftest import CORPUS

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

ARCHIVE = Path("mail") / "lore" / "bridge.lists.linux-foundation.org.0.mbox.gz"


def BUILD(root: Path) -> b.Built:  # noqa: N802 - the name conftest's community_run looks for
    return b.build_bridge(root, CORPUS / ARCHIVE)


@pytest.fixture(scope="module")
def archive(corpus: Path) -> list:
    return ind.mbox_messages(corpus / ARCHIVE)


def test_run_exits_0(run):
    assert run["returncode"] == 0, failure_tail(run)


def test_every_message_is_stored_quarantined_or_a_skipped_copy(con, archive):
    assert len(archive) == 4710
    stored = con.execute("select count(*) from raw.mail_messages").fetchone()[0]
    quarantined = con.execute("select count(*) from raw.mail_quarantine").fetchone()[0]
    skipped = con.execute(
        "select count(*) from raw.mail_issues where check_name in ('duplicate_identical', 'duplicate_copy')"
    ).fetchone()[0]
    assert stored + quarantined + skipped == len(archive)


def test_rewritten_senders_are_recovered_from_reply_to(con, archive):
    lists = ind.list_addresses([b.BRIDGE_LIST_ADDRESS])
    rewritten = [m for m in archive if ind.address_in(ind._decoded(m.get("From"))) in lists]
    assert len(rewritten) == 855
    assert all(ind.effective_sender(m, lists) for m in rewritten)
    raw = con.execute(
        "select count(*) from raw.mail_messages where from_address = ? and reply_to_address is not null",
        [b.BRIDGE_LIST_ADDRESS],
    ).fetchone()[0]
    assert raw == 855
    sources = con.execute(
        "select sender_source, count(*) from staging.stg_raw__mail_messages "
        "where header_from_address = ? group by 1",
        [b.BRIDGE_LIST_ADDRESS],
    ).fetchall()
    assert dict(sources) == {"reply-to": 855}


def test_the_list_address_is_no_correspondent(con):
    acts = con.execute(
        "select count(*) from marts.person_activity where person_id = ? and messages > 0",
        [b.BRIDGE_LIST_ADDRESS],
    ).fetchone()[0]
    assert acts == 0
    flagged = con.execute(
        "select is_bot, bot_reason from marts.people where primary_address = ?", [b.BRIDGE_LIST_ADDRESS]
    ).fetchall()
    # where the list address is a person at all, it is a flagged one
    assert all(row == (True, "list address") for row in flagged)


def test_correspondents_per_year_equal_the_independent_recount(con, run):
    expected = ind.community_figures(run["built"].config)
    assert sum(v["correspondents"] for v in expected.values()) > 300
    rows = con.execute(
        "select year(period_start), correspondents from marts.community_health "
        "where project = 'bridge' and grain = 'year' order by 1"
    ).fetchall()
    assert dict(rows) == {y: v["correspondents"] for (_, y), v in sorted(expected.items())}


def test_every_person_of_person_activity_is_in_people(con):
    missing = con.execute(
        "select count(distinct person_id) from marts.person_activity "
        "where person_id not in (select person_id from marts.people)"
    ).fetchone()[0]
    assert missing == 0
