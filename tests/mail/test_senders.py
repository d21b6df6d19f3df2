"""Senders: Reply-To and X-Original-From (lists that rewrite From for DMARC), malformed sender
values, the list addresses of the config, and the effective sender staging derives from them
(METRICS.md, bots and lists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.addresses import parse_address, parse_sender
from core.config import ConfigError, MailingListConfig, load_config
from extractors.identities.build import ingest_identities
from extractors.mail.ingest import ingest_mailing_list
from extractors.mail.lists import list_addresses
from tests.dbt_helpers import query, run_dbt

from .helpers import mail, parse

LIST = "p1-devel@lists.example.org"


# ---- parsing --------------------------------------------------------------------------------------


def test_dmarc_rewritten_message_keeps_from_and_the_real_sender() -> None:
    row = parse(
        mail(
            sender=f'"Erin via P1-devel" <{LIST}>',
            extra="Reply-To: Erin <erin@example.net>\nX-Original-From: Erin Example\n <Erin@Example.NET>",
        )
    ).row
    assert (row["from_name"], row["from_address"]) == ("Erin via P1-devel", LIST)
    assert (row["reply_to_name"], row["reply_to_address"]) == ("Erin", "erin@example.net")
    assert (row["original_from_name"], row["original_from_address"]) == ("Erin Example", "erin@example.net")


def test_a_message_without_the_headers_has_null_columns() -> None:
    row = parse(mail()).row
    assert row["reply_to_address"] is None and row["original_from_address"] is None
    assert row["reply_to_name"] is None and row["original_from_name"] is None


@pytest.mark.parametrize(
    ("value", "name", "address"),
    [
        # real shapes: a git author field pasted whole, no brackets (the example)
        ("Jane Doe jane.doe@example.com", "Jane Doe", "jane.doe@example.com"),
        ("Jane Doe <Jane Doe jane.doe@example.com>", "Jane Doe", "jane.doe@example.com"),
        ('"Jane Doe" jane.doe@example.com', "Jane Doe", "jane.doe@example.com"),
        ("jane.doe@example.com Jane", "Jane", "jane.doe@example.com"),
        # no address at all: the value (the bracketed part when there is one) lower-cased
        ("Jane Doe <janeiexample.com>", "Jane Doe", "janeiexample.com"),
        ("janeiexample.com", "janeiexample.com", "janeiexample.com"),
        ("  Jane   Doe ", "Jane Doe", "jane doe"),
        # well-formed values are unchanged
        ('"Doe, Jane" <Jane@Example.com>', "Doe, Jane", "jane@example.com"),
        ("jane at example.com (Jane Doe)", "Jane Doe", "jane@example.com"),
    ],
)
def test_malformed_sender_values(value: str, name: str, address: str) -> None:
    assert parse_sender(value) == (name, address)
    row = parse(mail(sender=value, extra=f"Reply-To: {value}")).row
    assert (row["from_name"], row["from_address"]) == (name, address)
    assert (row["reply_to_name"], row["reply_to_address"]) == (name, address)


def test_parse_address_still_reports_a_missing_address() -> None:
    # trailers keep a null address when the value holds none
    assert parse_address("Jane Doe <janeiexample.com>") == ("Jane Doe", None)


# ---- configuration --------------------------------------------------------------------------------


def test_list_addresses_and_their_variants() -> None:
    assert list_addresses("Xen-Devel@lists.xenproject.org") == [
        ("xen-devel@lists.xenproject.org", "posting"),
        ("xen-devel-bounces@lists.xenproject.org", "bounces"),
        ("xen-devel-owner@lists.xenproject.org", "owner"),
        ("xen-devel-request@lists.xenproject.org", "request"),
    ]


def test_addresses_key_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "projects:\n  x:\n    mailing_lists:\n      - name: l\n        path: a\n"
        "        addresses: [' P1-Devel@Lists.Example.org ']\n"
    )
    assert load_config(path).projects["x"].mailing_lists[0].addresses == [LIST]
    path.write_text(
        "projects:\n  x:\n    mailing_lists:\n      - name: l\n        path: a\n"
        "        addresses: [p1-devel@lists.example.org, p1-devel]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "key 'projects.x.mailing_lists.0.addresses.1': 'p1-devel' is not an e-mail address" in message


def test_virtualization_config_names_the_list_addresses() -> None:
    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "virtualization.yaml")
    lists = {lst.name: lst.addresses for p in cfg.projects.values() for lst in p.mailing_lists}
    assert "kvm@vger.kernel.org" in lists["kvm"]
    assert "qemu-devel@nongnu.org" in lists["qemu-devel"]
    assert "xen-devel@lists.xenproject.org" in lists["xen-devel"]
    assert all(lists.values()), lists


# ---- the effective sender, through ingest and dbt (issue defect 2) ---------------------------------


def _defect2_mbox(path: Path) -> None:
    """Two messages from `"X via P1-devel" <list>` with the sender in Reply-To (Erin, Frank), one
    whose only Reply-To is the list itself (no sender), one from Carol, and one from Erin again
    recovered from X-Original-From."""

    def one(n: int, sender: str, extra: str = "") -> bytes:
        return (
            b"From x Mon Jan  1 00:00:00 2024\n"
            + mail(
                subject=f"m{n}",
                message_id=f"<m{n}@example.org>",
                sender=sender,
                extra=extra,
                date=f"Mon, {n} Jan 2024 10:00:00 +0000",
            )
            + b"\n"
        )

    path.write_bytes(
        one(1, f'"Erin via P1-devel" <{LIST}>', "Reply-To: Erin <erin@example.net>")
        + one(2, f'"Frank via P1-devel" <{LIST}>', "Reply-To: Frank <frank@example.com>")
        + one(3, f'"Ghost via P1-devel" <{LIST}>', f"Reply-To: <{LIST}>")
        + one(4, "Carol <carol@example.org>")
        # X-Original-From wins over a Reply-To that names the list
        + one(
            5,
            f'"Erin Example via P1-devel" <{LIST}>',
            f"Reply-To: <{LIST}>\nX-Original-From: <erin@example.net>",
        )
    )


def _dbt(warehouse: Path, target: Path) -> None:
    run_dbt(
        warehouse,
        target,
        *("build", "--select", "+int_addresses_resolved", "+stg_raw__mail_messages"),
        *("--indirect-selection", "cautious"),
        dbt_vars={},
    )


@pytest.mark.parametrize("configured", [True, False], ids=["addresses configured", "via name only"])
def test_list_rewritten_senders_are_recovered(tmp_path: Path, configured: bool) -> None:
    box = tmp_path / "p1.mbox"
    _defect2_mbox(box)
    wh = tmp_path / "wh.duckdb"
    lst = MailingListConfig(name="p1-devel", path=box, addresses=[LIST] if configured else [])
    ingest_mailing_list(wh, "p1", lst, tmp_path / "cache")
    ingest_identities(wh, [], [], [], [])
    _dbt(wh, tmp_path / "target")

    senders = query(
        wh,
        "select message_id, from_address, from_name, header_from_address, sender_source "
        "from staging.stg_raw__mail_messages order by message_id",
    )
    assert senders == [
        ("m1@example.org", "erin@example.net", "Erin", LIST, "reply-to"),
        ("m2@example.org", "frank@example.com", "Frank", LIST, "reply-to"),
        ("m3@example.org", None, None, LIST, "none"),
        ("m4@example.org", "carol@example.org", "Carol", "carol@example.org", "from"),
        ("m5@example.org", "erin@example.net", "Erin Example", LIST, "x-original-from"),
    ]
    # correspondents: distinct people (not bots) who sent a message -> Erin, Frank, Carol (the
    # issue's defect 2: 3, where the list address used to be a fourth)
    people = query(
        wh,
        "select distinct r.person_id from staging.stg_raw__mail_messages m "
        "join intermediate.int_addresses_resolved r on r.address = m.from_address "
        "where not r.is_bot order by 1",
    )
    assert people == [("carol@example.org",), ("erin@example.net",), ("frank@example.com",)]
    # the list address is never a person
    flagged = query(
        wh,
        "select address, is_bot, bot_reason from intermediate.int_addresses_resolved "
        f"where address = '{LIST}'",
    )
    assert flagged == [(LIST, True, "list address")]
    kinds = query(wh, "select address, kind from staging.stg_raw__list_addresses order by 1")
    if configured:
        assert kinds == [(a, k) for a, k in sorted(list_addresses(LIST))]
    else:
        assert kinds == [(LIST, "dmarc-rewrite")]


def test_list_addresses_are_replaced_with_the_list(tmp_path: Path) -> None:
    box = tmp_path / "p1.mbox"
    _defect2_mbox(box)
    wh = tmp_path / "wh.duckdb"
    lst = MailingListConfig(name="p1-devel", path=box, addresses=[LIST])
    assert ingest_mailing_list(wh, "p1", lst, tmp_path / "cache")["list_addresses"] == 4
    assert ingest_mailing_list(wh, "p1", lst, tmp_path / "cache")["list_addresses"] == 4
    other = lst.model_copy(update={"addresses": ["p1@example.org"]})
    assert ingest_mailing_list(wh, "p1", other, tmp_path / "cache")["list_addresses"] == 4
    assert query(wh, "select address from raw.list_addresses order by 1") == [
        ("p1-bounces@example.org",),
        ("p1-owner@example.org",),
        ("p1-request@example.org",),
        ("p1@example.org",),
    ]
