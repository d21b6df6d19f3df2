"""Building mailing-list messages: patches, cover letters, replies, discussions, pull requests, bots.

The functions here only format; deciding who writes what and when is done in ``simulate``. Message
IDs follow git send-email's shape (``<date.number-counter-address>``) and are derived from the
seeded random generator, never from the clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from commstats.sample.mbox import Mail
from commstats.sample.people import Person

PATCHWORK_BOT = ("patchwork-bot+vmcore", "patchwork-bot+vmcore@kernel.org")
SYZBOT = ("syzbot", "syzbot+1a2b3c@syzkaller.appspotmail.com")
LORE = "https://lore.example.org/r/"

COMMENTS = [
    "Looks good to me.",
    "This makes sense, thanks for fixing it.",
    "Nit: the comment above no longer matches the code, but that can be a follow-up.",
    "I tested this on a few hosts with nested guests and saw no regression.",
    "Why not do this in the caller instead? It already holds the lock.",
    "Can you split the refactoring from the functional change? That would make it easier to review.",
    "This breaks the build with clang, please fix.",
    "Please add a Fixes: tag so the stable folks pick it up.",
    "I don't think this is the right approach; the existing helper already covers this case.",
    "Good catch. I've hit this before and never got around to debugging it.",
]
QUESTIONS = [
    "Question about dirty page tracking during migration",
    "Performance regression with huge pages since last release",
    "How are interrupts routed for passthrough devices?",
    "Proposal: deprecate the legacy config interface",
    "Call for agenda items: virtualization microconference",
    "Build failure on older compilers",
    "Nested virtualization status on arm64",
    "Documentation for the memory slot API",
    "Roadmap for confidential computing support",
    "Testing infrastructure: moving CI to a new provider",
]


def tz(person: Person) -> timezone:
    return timezone(timedelta(minutes=person.tz))


def message_id(rng: random.Random, when: datetime, address: str, counter: int | None = None) -> str:
    stamp = when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    serial = rng.randint(10000, 999999)
    if counter is None:
        return f"<{stamp}.{serial}-1-{address}>"
    return f"<{stamp}.{serial}-{counter}-{address}>"


def patch_prefix(rng: random.Random, version: int, counter: int, total: int, kind: str) -> str:
    """The bracketed part of a patch subject, in the variants real lists show."""
    if total == 1:
        tag = {"rfc": "RFC PATCH", "resend": "PATCH RESEND"}.get(kind, "PATCH")
        if version > 1:
            tag = f"PATCHv{version}" if rng.random() < 0.3 else f"{tag} v{version}"
        return f"[{tag}]"
    tag = {"rfc": "RFC PATCH", "resend": "PATCH RESEND"}.get(kind, "PATCH")
    v = f" v{version}" if version > 1 else ""
    return f"[{tag}{v} {counter}/{total}]"


def quote(body: str, lines: int) -> str:
    kept = [line for line in body.split("\n") if line.strip()][:lines]
    return "\n".join("> " + line if line else ">" for line in kept)


def trailer(kind: str, person_name: str, address: str) -> str:
    return f"{kind}: {person_name} <{address}>"


def with_signature(body: str, person: Person | None) -> str:
    if person is not None and person.signature:
        return body.rstrip("\n") + "\n\n-- \n" + person.signature + "\n"
    return body


def patch_body(description: str, trailers: list[str], diff: str) -> str:
    """A patch as git format-patch lays it out: message, trailers, ``---``, diff, version signature."""
    return f"{description}\n\n" + "\n".join(trailers) + "\n---\n" + diff + "-- \n2.39.5\n"


def cover_body(rng: random.Random, subject: str, total: int, version: int, changelog: bool) -> str:
    text = (
        f"This series {subject[0].lower() + subject[1:]}.\n\n"
        f"Patches 1-{max(1, total - 1)} prepare the ground, the last one does the actual change.\n"
    )
    if changelog:
        text += f"\nChanges in v{version}:\n - addressed review comments\n - rebased on current master\n"
    return (
        text + f"\nTested with {rng.choice(['kvm-unit-tests', 'selftests', 'the CI matrix', 'syzkaller'])}.\n"
    )


def reply(
    rng: random.Random,
    parent: Mail,
    sender: Person,
    when: datetime,
    text: str,
    trailers: list[str] = (),  # type: ignore[assignment]
    list_tag: str | None = None,
) -> Mail:
    """A reply quoting the start of the parent, with optional trailer lines after the comment."""
    subject = parent.subject if parent.subject.startswith("Re: ") else f"Re: {parent.subject}"
    if list_tag and not subject.startswith(f"Re: {list_tag}") and rng.random() < 0.5:
        subject = f"Re: {list_tag} " + subject[4:]
    intro = f"On {parent.date.strftime('%a, %b %d, %Y at %H:%M')}, {parent.sender_name} wrote:"
    body = f"{intro}\n{quote(parent.body, rng.randint(2, 6))}\n\n{text}\n"
    if trailers:
        body += "\n" + "\n".join(trailers) + "\n"
    refs = [*parent.references, parent.message_id] if parent.message_id else list(parent.references)
    return Mail(
        sender_name=sender.mail_name,
        sender_address=sender.mail_address,
        date=when.astimezone(tz(sender)),
        subject=subject,
        body=with_signature(body, sender),
        message_id=message_id(rng, when, sender.mail_address),
        in_reply_to=parent.message_id,
        references=refs[-8:],
        to=parent.to,
    )


def bot_mail(
    rng: random.Random,
    bot: tuple[str, str],
    when: datetime,
    subject: str,
    body: str,
    to: str,
    parent: Mail | None = None,
) -> Mail:
    mail = Mail(
        sender_name=bot[0],
        sender_address=bot[1],
        date=when.astimezone(UTC),
        subject=subject,
        body=body,
        message_id=message_id(rng, when, bot[1].replace("+", ".")),
        to=to,
    )
    if parent is not None:
        mail.in_reply_to = parent.message_id
        mail.references = [*parent.references, parent.message_id] if parent.message_id else []
    return mail


def pull_request_body(
    base_sha: str,
    base_subject: str,
    base_date: datetime,
    repo_url: str,
    tag: str,
    head_sha: str,
    shortlog: list[str],
) -> str:
    return (
        "Hi,\n\nplease pull the following changes.\n\n"
        f"The following changes since commit {base_sha}:\n\n"
        f"  {base_subject} ({base_date.strftime('%Y-%m-%d %H:%M:%S %z')})\n\n"
        "are available in the git repository at:\n\n"
        f"  {repo_url} tags/{tag}\n\n"
        f"for you to fetch changes up to {head_sha}:\n\n" + "\n".join(f"  {line}" for line in shortlog) + "\n"
    )
