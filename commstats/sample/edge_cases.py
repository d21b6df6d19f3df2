"""Deliberately awkward messages added to each list, a few of each kind.

Parsers must cope with them as METRICS.md says: a message without Message-ID (synthetic ID), the
same Message-ID twice with different content (both kept), a true duplicate (kept once), a Date in a
non-UTC zone whose UTC year differs, RFC 2047 display names, a body line starting with "From ", and a
display name containing a comma.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta, timezone

from commstats.sample import mailing_list as ml
from commstats.sample.mbox import Mail
from commstats.sample.people import Person


def add_edge_cases(
    rng: random.Random, mails: list[Mail], members: list[Person], list_address: str, year: int
) -> dict[str, int]:
    roots = [m for m in mails if m.in_reply_to is None and not m.subject.startswith("[") and m.message_id]
    patches = [m for m in mails if "diff --git" in m.body]
    counts: dict[str, int] = {}

    def pick_person() -> Person:
        return rng.choice(members)

    # 1. Replies without a Message-ID header.
    for root in rng.sample(roots, 2):
        mail = ml.reply(
            rng,
            root,
            pick_person(),
            root.date + timedelta(hours=3),
            "Sent from a client that forgets Message-IDs.",
        )
        mail.message_id = None
        mails.append(mail)
    counts["missing_message_id"] = 2

    # 2. One Message-ID, two different messages (a broken client reusing IDs).
    root = rng.choice(roots)
    sender = pick_person()
    reused = ml.message_id(rng, root.date + timedelta(days=1), sender.mail_address)
    for i, text in enumerate(["First message with this ID.", "A different message that reuses the same ID."]):
        mail = ml.reply(rng, root, sender, root.date + timedelta(days=1, hours=i), text)
        mail.message_id = reused
        mails.append(mail)
    counts["conflicting_message_id"] = 1

    # 3. A true duplicate: the same message archived twice, byte for byte.
    for original in rng.sample(patches, 2):
        mails.append(copy.deepcopy(original))
    counts["exact_duplicates"] = 2

    # 4. Late on Dec 31 in a western zone: already next year in UTC.
    sender = pick_person()
    local = datetime(year, 12, 31, 21, 30, tzinfo=timezone(timedelta(hours=-5)))
    mails.append(
        Mail(
            sender.mail_name,
            sender.mail_address,
            local,
            "Happy new year, and a question about the release schedule",
            "Will the next release be cut in January or February?\n",
            ml.message_id(rng, local, sender.mail_address),
            to=list_address,
        )
    )
    counts["year_boundary_date"] = 1

    # 5. A body line starting with "From " (escaped as ">From " by the mbox writer).
    sender = pick_person()
    when = datetime(year + 1, 3, 14, 15, 9, tzinfo=ml.tz(sender))
    body = "From my reading of the spec this is allowed.\nFrom here on I'll assume it is.\n"
    mails.append(
        Mail(
            sender.mail_name,
            sender.mail_address,
            when,
            "Interpretation of the interrupt remapping spec",
            body,
            ml.message_id(rng, when, sender.mail_address),
            to=list_address,
        )
    )
    counts["from_line_in_body"] = 1
    return counts
