from __future__ import annotations

import pytest

from extractors.mail.trailers import parse_trailer_value

from .helpers import mail, parse


def kinds(body: str) -> list[tuple[str, str | None, str | None]]:
    return [(t["kind"], t["name"], t["address"]) for t in parse(mail("Re: x", body)).trailers]


def test_all_eight_kinds_case_insensitive() -> None:
    body = (
        "Acked-by: A <a@x.org>\nreviewed-BY: B <b@x.org>\nTested-by: C <c@x.org>\n"
        "Reported-by: D <d@x.org>\nSuggested-by: E <e@x.org>\nSigned-off-by: F <f@x.org>\n"
        "Co-developed-by: G <g@x.org>\nNacked-by: H <h@x.org>\nCc: I <i@x.org>\nLink: https://x\n"
    )
    assert [k for k, _, _ in kinds(body)] == [
        "acked-by",
        "reviewed-by",
        "tested-by",
        "reported-by",
        "suggested-by",
        "signed-off-by",
        "co-developed-by",
        "nacked-by",
    ]


def test_quoted_trailers_ignored() -> None:
    body = "> Reviewed-by: Q <q@x.org>\n>> Acked-by: R <r@x.org>\n\nReviewed-by: Me <me@x.org>\n"
    assert kinds(body) == [("reviewed-by", "Me", "me@x.org")]


def test_indented_trailers_ignored() -> None:
    assert kinds("    Signed-off-by: A <a@x.org>\n") == []


def test_signature_trailers_ignored() -> None:
    body = "Acked-by: A <a@x.org>\n-- \nJane\nReviewed-by: Sig <s@x.org>\n"
    assert kinds(body) == [("acked-by", "A", "a@x.org")]


def test_positions_and_raw_value() -> None:
    (t1, t2) = parse(mail("x", "Acked-by: A <a@x.org>\nAcked-by:  B <b@x.org>  \n")).trailers
    assert (t1["position"], t2["position"]) == (0, 1)
    assert t2["raw_value"] == "B <b@x.org>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jane Doe <Jane@Example.com>", ("Jane Doe", "jane@example.com")),
        ("Jane Doe jane@example.com", ("Jane Doe", "jane@example.com")),
        ("jane@example.com", (None, "jane@example.com")),
        ("<jane@example.com>", (None, "jane@example.com")),
        ("jane@example.com (Jane Doe)", ("Jane Doe", "jane@example.com")),
        ('"Doe, Jane" <jane@example.com>', ("Doe, Jane", "jane@example.com")),
        ("Jane Doe <jane@example.com> # v5.4+", ("Jane Doe", "jane@example.com")),
        ("Jane Doe <jane@example.com> [backport]", ("Jane Doe", "jane@example.com")),
        ("Ramesh Thomas <ramesh.thomas(a)intel.com>", ("Ramesh Thomas", "ramesh.thomas@intel.com")),
        ("Jane Doe", ("Jane Doe", None)),
        ("Jane Doe <jane@>", ("Jane Doe", None)),
    ],
)
def test_trailer_values(value: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_trailer_value(value) == expected


def test_malformed_values_do_not_crash_and_empty_is_skipped() -> None:
    body = "Reviewed-by:\nAcked-by: <<>>\nTested-by: \x01\x02 <\nSigned-off-by: " + "x" * 5000 + "\n"
    got = parse(mail("x", body)).trailers
    assert [t["kind"] for t in got] == ["tested-by", "signed-off-by"]
    assert len(got[1]["raw_value"]) == 500


def test_non_utf8_trailer_value() -> None:
    data = mail("x", "Reviewed-by: Jos\xe9 <j@x.org>\n").replace("José".encode(), b"Jos\xe9")
    data = data.replace(b"Message-ID", b"Content-Type: text/plain; charset=iso-8859-1\nMessage-ID")
    (t,) = parse(data).trailers
    assert t["name"] == "José"
