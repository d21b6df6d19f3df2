"""Identity inputs: mailmap, alias and affiliation files, gitdm maps, registrable domains."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest

from extractors.identities.addresses import normalize_address
from extractors.identities.build import affiliation_rows, alias_rows
from extractors.identities.domains import registrable_domain
from extractors.identities.gitdm import parse_gitdm
from extractors.identities.mailmap import IdentityFileError, parse_mailmap


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("de.ibm.com", "ibm.com"),
        ("linux.vnet.ibm.com", "ibm.com"),
        ("lab.ntt.co.jp", "ntt.co.jp"),
        ("redhat.com", "redhat.com"),
        ("mail.example.co.uk", "example.co.uk"),
        ("co.jp", "co.jp"),
    ],
)
def test_registrable_domain(domain, expected):
    assert registrable_domain(domain) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("JDoe@Example.COM", "jdoe@example.com"),
        ("<jdoe@example.com>", "jdoe@example.com"),
        ("jdoe at example.com", "jdoe@example.com"),
        ("jdoe _at_ example.com", "jdoe@example.com"),
        ("jdoe(a)example.com", "jdoe@example.com"),
        ("Jane Doe jane@example.com", None),
        ("not an address", None),
        ("", None),
    ],
)
def test_normalize_address(raw, expected):
    assert normalize_address(raw) == expected


MAILMAP = """\
# comment
Jane Doe <jane@work.example>
Jane Doe <jane@work.example> <jane.doe@gmail.com>
<bob@new.example> <bob@old.example>
Carol C <carol@a.example> Carol Old <CAROL@b.example>
"""


def test_mailmap_forms_match_git_check_mailmap(tmp_path):
    entries = list(parse_mailmap(MAILMAP))
    assert [(e.proper_address, e.commit_address) for e in entries] == [
        ("jane@work.example", "jane@work.example"),
        ("jane@work.example", "jane.doe@gmail.com"),
        ("bob@new.example", "bob@old.example"),
        ("carol@a.example", "carol@b.example"),
    ]
    # git itself resolves the same addresses the same way
    (tmp_path / "mm").write_text(MAILMAP)
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    out = subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path / "r"),
            "-c",
            f"mailmap.file={tmp_path / 'mm'}",
            "check-mailmap",
            "X <jane.doe@gmail.com>",
            "Y <bob@old.example>",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == ["Jane Doe <jane@work.example>", "Y <bob@new.example>"]


def test_mailmap_bad_line_names_file_and_line():
    with pytest.raises(IdentityFileError, match=r"^mm:2: expected"):
        list(parse_mailmap("A <a@x.org>\nno brackets here\n", "mm"))


def test_alias_rows_merge_transitively_and_never_by_name(tmp_path):
    mm = tmp_path / "mailmap"
    mm.write_text("Jane Doe <jane@work.example> <jane.doe@gmail.com>\n")
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text(
        "people:\n"
        "  - name: Jane Doe\n    addresses: [jane.doe@gmail.com, jd@home.example]\n"
        "  - name: Jane Doe\n    addresses: [other.jane@corp.example]\n"
    )
    rows = {r["address"]: r["canonical_address"] for r in alias_rows([mm], [aliases])}
    assert rows["jd@home.example"] == "jane@work.example"
    assert rows["jane.doe@gmail.com"] == "jane@work.example"
    # same name, no shared address: a different person
    assert rows["other.jane@corp.example"] == "other.jane@corp.example"


def test_affiliation_file_dates_and_errors(tmp_path):
    f = tmp_path / "aff.yaml"
    f.write_text(
        "affiliations:\n"
        "  - {address: JD@gmail.com, organization: Intel, until: 2021-06-30}\n"
        "  - {address: jd@gmail.com, organization: Red Hat, from: 2021-07-01}\n"
        "  - {domain: Example.ORG, organization: Example}\n"
    )
    rows = list(affiliation_rows([f], []))
    assert [
        (r["address"], r["domain"], r["organization"], r["valid_from"], r["valid_until"]) for r in rows
    ] == [
        ("jd@gmail.com", None, "Intel", None, date(2021, 6, 30)),
        ("jd@gmail.com", None, "Red Hat", date(2021, 7, 1), None),
        (None, "example.org", "Example", None, None),
    ]
    f.write_text("affiliations:\n  - {address: a@b.c, domain: b.c, organization: X}\n")
    with pytest.raises(IdentityFileError, match=r"aff\.yaml: key 'affiliations\.0': needs exactly one"):
        list(affiliation_rows([f], []))


def test_gitdm_history_becomes_dated_intervals():
    text = "jdoe@example.com  Intel  < 2021-07-01\njdoe@example.com  Red Hat\nexample.org  Example Corp\n"
    rows = list(parse_gitdm(text))
    assert [(a.address, a.domain, a.organization, a.valid_from, a.valid_until) for a in rows] == [
        ("jdoe@example.com", None, "Intel", None, date(2021, 6, 30)),
        ("jdoe@example.com", None, "Red Hat", date(2021, 7, 1), None),
        (None, "example.org", "Example Corp", None, None),
    ]


def test_gitdm_bad_line():
    with pytest.raises(IdentityFileError, match=r"^g:1: expected"):
        list(parse_gitdm("onlyonefield\n", "g"))


def test_repo_has_no_absolute_paths_in_dbt_profile():
    text = (Path(__file__).resolve().parents[1] / "dbt_project" / "profiles.yml").read_text()
    assert "COMMSTATS_WAREHOUSE" in text and "/work" not in text


def test_name_specific_mailmap_lines_merge_nothing_and_last_wins(tmp_path):
    mm = tmp_path / "mailmap"
    mm.write_text(
        "Alice A <alice@corp-a.com> Alice <shared@localhost.localdomain>\n"
        "Bob B <bob@corp-b.com> Bob <shared@localhost.localdomain>\n"
        "Bob C <bob@corp-c.com> BOB <Shared@localhost.localdomain>\n"  # git: the later line wins
        "Dave <dave@corp-d.com> <dave.old@corp-d.com>\n"
    )
    rows = list(alias_rows([mm], []))
    named = [
        (r["address"], r["match_name"], r["canonical_address"], r["canonical_name"])
        for r in rows
        if r["match_name"]
    ]
    assert named == [
        ("shared@localhost.localdomain", "Alice", "alice@corp-a.com", "Alice A"),
        ("shared@localhost.localdomain", "BOB", "bob@corp-c.com", "Bob C"),
    ]
    plain = {r["address"]: r["canonical_address"] for r in rows if not r["match_name"]}
    # the shared address is merged into no one; the proper addresses are people of their own
    assert "shared@localhost.localdomain" not in plain
    assert plain["alice@corp-a.com"] == "alice@corp-a.com"
    assert plain["dave.old@corp-d.com"] == "dave@corp-d.com"


def test_every_event_address_gets_its_registrable_domain(tmp_path):
    import duckdb

    from extractors.identities.build import ingest_identities
    from tests.dbt_helpers import write_raw

    wh = tmp_path / "w.duckdb"
    write_raw(
        wh,
        {
            "git_trailers": [
                {
                    "project": "p",
                    "repository": "r",
                    "sha": "s",
                    "kind": "Acked-by",
                    "name": "Quinn",
                    # de-obfuscated at extraction
                    "address": "quinn@lab.acme.co.jp",
                    "raw_value": "Quinn <quinn at lab.acme.co.jp>",
                    "position": 0,
                }
            ],
            "git_commits": [
                {"project": "p", "repository": "r", "sha": "s", "author_address": "janeiexample.com"},
                {
                    "project": "p",
                    "repository": "r",
                    "sha": "t",
                    "author_address": "jane doe jane.doe@example.com",
                },
            ],
        },
    )
    con = duckdb.connect(str(wh))
    # sender columns a newer mail schema adds (Reply-To, X-Original-From) are read when present
    for col in ("reply_to_address", "original_from_address"):
        con.execute(f"alter table raw.mail_messages add column if not exists {col} varchar")
    con.execute(
        "insert into raw.mail_messages (project, list_name, message_id, reply_to_address, original_from_address) "
        "values ('p', 'l', 'm', 'erin@mail.corp-e.co.uk', 'frank@dev.corp-f.com.au')"
    )
    con.close()
    ingest_identities(wh)
    con = duckdb.connect(str(wh), read_only=True)
    rows = con.execute("select address, registrable_domain from raw.address_domains order by 1").fetchall()
    con.close()
    # malformed values get no row (dbt keeps them as people of their own, with no domain)
    assert rows == [
        ("erin@mail.corp-e.co.uk", "corp-e.co.uk"),
        ("frank@dev.corp-f.com.au", "corp-f.com.au"),
        ("quinn@lab.acme.co.jp", "acme.co.jp"),
    ]


def test_placeable_addresses_are_distinct_and_well_shaped():
    from extractors.identities.build import placeable_addresses

    values = [
        "Jane@Example.com",
        "<jane@example.com>",
        "jane at example.com",
        "janeiexample.com",
        "root@localhost",
    ]
    assert placeable_addresses(values) == ["jane@example.com"]


def test_identity_load_upgrades_a_warehouse_made_before_match_name(tmp_path):
    import duckdb

    from extractors.identities.build import ingest_identities

    wh = tmp_path / "old.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema raw")
    con.execute(
        "create table raw.identity_aliases (address varchar, canonical_address varchar, "
        "canonical_name varchar, source varchar)"
    )
    con.close()
    mm = tmp_path / "mailmap"
    mm.write_text("Alice A <alice@corp-a.com> Alice <shared@localhost.localdomain>\n")
    counts = ingest_identities(wh, mailmaps=[mm])
    # the proper address (a person of its own) and the name-specific line
    assert counts["identity_aliases"] == 2
    con = duckdb.connect(str(wh), read_only=True)
    rows = con.execute("select address, match_name from raw.identity_aliases order by 1").fetchall()
    con.close()
    assert rows == [("alice@corp-a.com", None), ("shared@localhost.localdomain", "Alice")]
