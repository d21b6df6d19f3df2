"""Mail threading, series, first reply and review acts of replies, on handwritten raw rows.

Each case is one community shape from METRICS.md (Mail; first reply; unanswered share), and each
expected number is worked out by hand in a comment from the rows written here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from extractors.identities.build import ingest_identities
from tests.dbt_helpers import dbt_build, query, write_raw

D = datetime


def msg(
    mid: str,
    sender: str | None,
    when: datetime,
    subject: str,
    *,
    reply_to: str | None = None,
    references: list[str] | None = None,
    patch: tuple[int | None, int | None] | None = None,
    version: int = 1,
) -> dict:
    """A raw.mail_messages row. `patch` = (counter, total) marks a patch (counter 0: a cover
    letter); references default to [reply_to]."""
    counter, total = patch if patch else (None, None)
    return {
        "project": "p",
        "list_name": "l",
        "message_id": mid,
        "from_name": sender.split("@")[0] if sender else None,
        "from_address": sender,
        "sent_at": when,
        "date_source": "header",
        "subject": subject,
        "subject_normalized": normalize(subject),
        "in_reply_to": reply_to,
        "references": references if references is not None else ([reply_to] if reply_to else []),
        "is_patch": patch is not None and counter != 0,
        "is_cover_letter": patch is not None and counter == 0,
        "is_pull_request": False,
        "is_rfc": False,
        "is_resend": False,
        "patch_version": version,
        "patch_counter": counter,
        "patch_total": total,
        "source_location": f"f:{mid}",
    }


def normalize(subject: str) -> str:
    """Subject without Re: and bracketed tags, lower case (what the extractor stores)."""
    import re

    s = subject
    while True:
        stripped = re.sub(r"^\s*((re)\s*:|\[[^\]]*\])\s*", "", s, flags=re.IGNORECASE)
        if stripped == s:
            return s.strip().lower()
        s = stripped


def trailer(mid: str, kind: str, name: str, address: str, position: int) -> dict:
    return {
        "project": "p",
        "list_name": "l",
        "message_id": mid,
        "kind": kind,
        "name": name,
        "address": address,
        "raw_value": f"{name} <{address}>",
        "position": position,
    }


MESSAGES = [
    # -- defect 9, January 2024 ------------------------------------------------------------------
    # a series with its cover letter; the only reply answers 2/2, two hours after 2/2
    msg("c0", "alice@a.org", D(2024, 1, 2, 10), "[PATCH 0/2] foo: rework", patch=(0, 2)),
    msg("c1", "alice@a.org", D(2024, 1, 2, 10), "[PATCH 1/2] foo: one", reply_to="c0", patch=(1, 2)),
    msg("c2", "alice@a.org", D(2024, 1, 2, 10), "[PATCH 2/2] foo: two", reply_to="c0", patch=(2, 2)),
    msg(
        "r1",
        "bob@b.org",
        D(2024, 1, 2, 12),
        "Re: [PATCH 2/2] foo: two",
        reply_to="c2",
        references=["c0", "c2"],
    ),
    # a lone patch nobody answers; its v2, posted in reply to it five days later, answered a day on
    msg("v1", "carol@c.org", D(2024, 1, 10), "[PATCH] bar: fix", patch=(None, None)),
    msg(
        "v2",
        "carol@c.org",
        D(2024, 1, 15),
        "[PATCH v2] bar: fix",
        reply_to="v1",
        patch=(None, None),
        version=2,
    ),
    msg(
        "r2", "dave@d.org", D(2024, 1, 16), "Re: [PATCH v2] bar: fix", reply_to="v2", references=["v1", "v2"]
    ),
    # -- NULL senders (effective sender unknown), February ----------------------------------------
    # a reply by an unknown sender does not answer frank's patch (it could be frank)
    msg("n1", "frank@f.org", D(2024, 2, 1), "[PATCH] baz: fix", patch=(None, None)),
    msg("n2", None, D(2024, 2, 1, 5), "Re: [PATCH] baz: fix", reply_to="n1"),
    # a known person answers a patch whose sender is unknown, after three hours
    msg("n3", None, D(2024, 2, 3), "[PATCH] qux: add", patch=(None, None)),
    msg("n4", "grace@g.org", D(2024, 2, 3, 3), "Re: [PATCH] qux: add", reply_to="n3"),
    # -- headers before subjects, April-May ------------------------------------------------------
    # an old 07/51 and a new 07/51 with the same subject, each answering its own (unarchived)
    # cover letter; the new one's 08/51 shares its cover letter: one series of two
    msg("o07", "henry@h.org", D(2024, 4, 1), "[PATCH 07/51] kvm: thing", reply_to="old-cover", patch=(7, 51)),
    msg("o08", "henry@h.org", D(2024, 4, 1), "[PATCH 08/51] kvm: other", reply_to="old-cover", patch=(8, 51)),
    msg("n07", "henry@h.org", D(2024, 5, 1), "[PATCH 07/51] kvm: thing", reply_to="new-cover", patch=(7, 51)),
    msg(
        "n08",
        "henry@h.org",
        D(2024, 5, 1, 0, 1),
        "[PATCH 08/51] kvm: other",
        reply_to="new-cover",
        patch=(8, 51),
    ),
    # two AUTOSEL postings for different stable branches, same sender, version, total and subjects
    msg(
        "a54-1",
        "sasha@k.org",
        D(2024, 5, 2),
        "[PATCH AUTOSEL 5.4 1/2] net: a",
        reply_to="root-54",
        patch=(1, 2),
    ),
    msg(
        "a54-2",
        "sasha@k.org",
        D(2024, 5, 2),
        "[PATCH AUTOSEL 5.4 2/2] net: b",
        reply_to="root-54",
        patch=(2, 2),
    ),
    msg(
        "a419-1",
        "sasha@k.org",
        D(2024, 5, 3),
        "[PATCH AUTOSEL 4.19 1/2] net: a",
        reply_to="root-419",
        patch=(1, 2),
    ),
    msg(
        "a419-2",
        "sasha@k.org",
        D(2024, 5, 3),
        "[PATCH AUTOSEL 4.19 2/2] net: b",
        reply_to="root-419",
        patch=(2, 2),
    ),
    # subject threading only for a Re: whose headers resolve nothing, within the thread they name
    msg("h1", "ivan@i.org", D(2024, 6, 1), "hello world"),
    msg("h2", "judy@j.org", D(2024, 6, 2), "Re: hello world", references=[]),
    msg("h3", "kate@k2.org", D(2024, 6, 3), "Re: hello world", reply_to="zz-absent"),
    # -- a 1/1 with its 0/1 cover letter; the reply to the cover letter answers the patch, July ---
    msg("k0", "leo@l.org", D(2024, 7, 1), "[PATCH 0/1] one: intro", patch=(0, 1)),
    msg("k1", "leo@l.org", D(2024, 7, 1), "[PATCH 1/1] one: change", reply_to="k0", patch=(1, 1)),
    msg("k2", "mia@m.org", D(2024, 7, 1, 3), "Re: [PATCH 0/1] one: intro", reply_to="k0"),
    # -- reply trailers whose parent is not archived, August -------------------------------------
    msg("q1", "nora@n.org", D(2024, 8, 1), "Re: [PATCH] net: x", reply_to="gone@x"),
    # closes every 14-day window above, so every series can be judged
    msg("z", "zed@z.org", D(2024, 12, 1), "later"),
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("threading")
    wh = tmp / "w.duckdb"
    write_raw(
        wh,
        {
            "mail_messages": MESSAGES,
            "mail_trailers": [
                trailer("q1", "acked-by", "Nora N", "nora@n.org", 0),
                trailer("q1", "reviewed-by", "Nora N", "nora@n.org", 1),
            ],
        },
    )
    ingest_identities(wh)
    dbt_build(wh, tmp / "target")
    return wh


def patches(wh: Path) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in query(wh, "select message_id, series_id, hours_to_first_reply from intermediate.int_patches")
    }


def health(wh: Path, month: int, columns: str) -> tuple:
    return query(
        wh,
        f"select {columns} from marts.community_health "
        f"where project = 'p' and grain = 'month' and period_start = '2024-{month:02d}-01'",
    )[0]


def test_defect_9_sibling_and_later_version_replies_do_not_answer(warehouse):
    p = patches(warehouse)
    # 1/2 was never answered (the only reply is to 2/2); 2/2 after 2 h; v1 never (the reply went
    # to v2, posted in reply to v1); v2 after 24 h
    assert p["c1"] == ("c0", None)
    assert p["c2"] == ("c0", pytest.approx(2.0))
    assert p["v1"] == ("v1", None)
    assert p["v2"] == ("v2", pytest.approx(24.0))
    # the units of unanswered_patch_share are series: {c0, c1, c2} answered (a reply to one of
    # its messages within 14 days), {v1} unanswered, {v2} answered -> 1/3. The median is over
    # the patches with a first reply: median(2, 24) = 13
    assert health(warehouse, 1, "series_posted, patches_posted") == (3, 4)
    unanswered, median = health(warehouse, 1, "unanswered_patch_share, median_hours_to_first_reply")
    assert unanswered == pytest.approx(1 / 3)
    assert median == pytest.approx(13.0)
    series = dict(
        query(
            warehouse,
            "select series_id, is_answered from intermediate.int_patch_series where series_id in ('c0', 'v1', 'v2')",
        )
    )
    assert series == {"c0": True, "v1": False, "v2": True}


def test_null_sender_is_no_one_else(warehouse):
    p = patches(warehouse)
    # n2 (sender unknown) could be frank himself: n1 has no first reply; grace answers n3 in 3 h
    assert p["n1"] == ("n1", None)
    assert p["n3"] == ("n3", pytest.approx(3.0))
    answered = dict(
        query(
            warehouse,
            "select series_id, is_answered from intermediate.int_patch_series where series_id in ('n1', 'n3')",
        )
    )
    assert answered == {"n1": False, "n3": True}


def test_subject_never_overrides_headers(warehouse):
    rows = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select message_id, parent_id, parent_rule, header_root_id "
            "from intermediate.int_mail_messages_threaded",
        )
    }
    # the new 07/51 names its own cover letter (not archived): no parent, not the old 07/51
    assert rows["n07"] == (None, None, "new-cover")
    assert rows["a419-1"] == (None, None, "root-419")
    # a Re: without reply headers joins the earliest message with its subject
    assert rows["h2"] == ("h1", "subject", "h2")
    # a Re: whose headers name another (unarchived) thread stays out of h1's thread
    assert rows["h3"] == (None, None, "zz-absent")
    assert rows["r1"] == ("c2", "in_reply_to", "c0")
    threads = health(warehouse, 6, "threads_started")
    assert threads == (2,)  # h1 and h3


def test_series_without_archived_cover_letter(warehouse):
    members = query(
        warehouse,
        "select series_id, list(message_id order by message_id) from intermediate.int_patches "
        "where from_address in ('henry@h.org', 'sasha@k.org') group by 1 order by 1",
    )
    # one series per posting: the patches naming one root; different roots never merge
    assert members == [
        ("a419-1", ["a419-1", "a419-2"]),
        ("a54-1", ["a54-1", "a54-2"]),
        ("n07", ["n07", "n08"]),
        ("o07", ["o07", "o08"]),
    ]
    # May: henry's new posting and sasha's two -> 3 series of 6 patches
    assert health(warehouse, 5, "series_posted, patches_posted") == (3, 6)
    assert health(warehouse, 4, "series_posted, patches_posted") == (1, 2)


def test_one_of_one_patch_belongs_to_its_cover_letter(warehouse):
    p = patches(warehouse)
    # mia answers the 0/1 cover letter 3 h after the 1/1: that answers the patch
    assert p["k1"] == ("k0", pytest.approx(3.0))
    assert p["k0"][0] == "k0"
    assert health(warehouse, 7, "series_posted, patches_posted, median_hours_to_first_reply") == (
        1,
        1,
        pytest.approx(3.0),
    )


def test_reply_trailer_with_unarchived_parent_counts_for_its_sender(warehouse):
    acts = query(
        warehouse,
        "select kind, giver_person, change_key, receiver_address from intermediate.int_review_acts "
        "where giver_address = 'nora@n.org' order by kind",
    )
    # the ack and the review of q1 land on the message it answers, whose sender nobody knows
    assert acts == [
        ("acked-by", "nora@n.org", "message:l:gone@x", None),
        ("reviewed-by", "nora@n.org", "message:l:gone@x", None),
    ]
    given = query(
        warehouse,
        "select acks_given, reviews_given, list_acks_given from marts.person_activity "
        "where person_id = 'nora@n.org' and grain = 'month' and period_start = '2024-08-01'",
    )
    assert given == [(1, 1, 1)]
    received = query(
        warehouse,
        "select count(*) from intermediate.int_activity_events "
        "where event like '%received' and occurred_at >= '2024-08-01' and occurred_at < '2024-09-01'",
    )
    assert received == [(0,)]
    mismatches = query(warehouse, "select count(*) from marts.trailer_mismatches where message_id = 'q1'")
    assert mismatches == [(0,)]
