"""Address de-obfuscation, done once at extraction (core.addresses.deobfuscate): every shape the
mail parser and the old staging macro of the dbt project handled, through every reader that
stores an address (mail senders and trailers, git trailers, identity files)."""

from __future__ import annotations

import pytest

from core.addresses import deobfuscate, parse_address
from extractors.identities.addresses import normalize_address
from extractors.mail.trailers import parse_trailer_value
from extractors.people import person

SHAPES = [
    # `at`, as Mailman's pipermail writes it, and in other cases
    ("jane at example.com", "jane@example.com"),
    ("jane AT example.com", "jane@example.com"),
    ("jane At example.com", "jane@example.com"),
    # `_at_`, `(at)`, `[at]`, spaced or not, in either case
    ("jane _at_ example.com", "jane@example.com"),
    ("jane_at_example.com", "jane@example.com"),
    ("jane _AT_ example.com", "jane@example.com"),
    ("jane (at) example.com", "jane@example.com"),
    ("jane(at)example.com", "jane@example.com"),
    ("jane (AT) example.com", "jane@example.com"),
    ("jane [at] example.com", "jane@example.com"),
    ("jane[at]example.com", "jane@example.com"),
    ("jane [AT] example.com", "jane@example.com"),
    # HyperKitty's `(a)`
    ("jane(a)example.com", "jane@example.com"),
    ("jane (a) example.com", "jane@example.com"),
    # the dots of the domain: `dot`, `(dot)`, `[dot]`, `_dot_`, also where no real dot is left
    ("jane at example dot com", "jane@example.com"),
    ("jane AT example DOT com", "jane@example.com"),
    ("jane at mail.example dot com", "jane@mail.example.com"),
    ("jane (at) example (dot) com", "jane@example.com"),
    ("jane [at] example [dot] com", "jane@example.com"),
    ("jane _at_ example _dot_ com", "jane@example.com"),
    # local parts with the characters addresses carry, domains of several labels
    ("jane.doe+lists=x at lab.acme.co.jp", "jane.doe+lists=x@lab.acme.co.jp"),
    ("Jane.Doe at Example.COM", "jane.doe@example.com"),
]


@pytest.mark.parametrize(("value", "address"), SHAPES)
def test_every_obfuscation_gives_the_address(value: str, address: str) -> None:
    assert deobfuscate(value).lower() == address
    # a mail sender (From:, with or without a name), a mail trailer, a git trailer, an identity file
    assert parse_address(value) == (None, address)
    assert parse_address(f"{value} (Jane Doe)") == ("Jane Doe", address)
    assert parse_trailer_value(f"Jane Doe <{value}>") == ("Jane Doe", address)
    assert person(f"Jane Doe <{value}>") == ("Jane Doe", address)
    assert normalize_address(value) == address


@pytest.mark.parametrize(
    "value",
    [
        "look at it",  # no domain after `at`
        "meet at noon.",  # a dot, but no second label
        "Jane Doe",
        "jane@example.com at example.org",  # holds an address already
    ],
)
def test_prose_and_real_addresses_stay_as_written(value: str) -> None:
    assert deobfuscate(value) == value
