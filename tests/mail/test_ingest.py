from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.config import MailingListConfig
from extractors.mail.errors import SourceError
from extractors.mail.ingest import ingest_mailing_list
from extractors.mail.sources import SOURCES

MBOX = b"""From jane@example.com Mon Apr 29 01:00:00 2019
From: Jane Doe <jane@example.com>
Date: Mon, 29 Apr 2019 11:24:03 +1000
Subject: [PATCH v2 1/1] kvm: fix
Message-ID: <p1@example.com>

Fix it.

Signed-off-by: Jane Doe <jane@example.com>
---
diff --git a/a.c b/a.c
index 1111111..2222222 100644
--- a/a.c
+++ b/a.c
@@ -1,1 +1,1 @@
-a
+b
--\x20
2.40.0

From bob at example.org  Mon Apr 29 02:00:00 2019
From: bob at example.org (Bob)
Date: Mon, 29 Apr 2019 12:00:00 +1000
Subject: Re: [PATCH v2 1/1] kvm: fix
Message-ID: <r1@example.org>
In-Reply-To: <p1@example.com>

> Fix it.

Reviewed-by: Bob <bob@example.org>

From jane@example.com Mon Apr 29 01:00:00 2019
From: Jane Doe <jane@example.com>
Date: Mon, 29 Apr 2019 11:24:03 +1000
Subject: [PATCH v2 1/1] kvm: fix
Message-ID: <p1@example.com>

Fix it.

Signed-off-by: Jane Doe <jane@example.com>
---
diff --git a/a.c b/a.c
index 1111111..2222222 100644
--- a/a.c
+++ b/a.c
@@ -1,1 +1,1 @@
-a
+b
--\x20
2.40.0

From nobody Mon Apr 29 03:00:00 2019
no header here

"""


def test_registry_has_local_kinds() -> None:
    assert {"mbox", "maildir"} <= set(SOURCES)


def test_ingest_and_reingest(tmp_path: Path) -> None:
    archive = tmp_path / "devel.mbox"
    archive.write_bytes(MBOX)
    wh = tmp_path / "wh.duckdb"
    lst = MailingListConfig(name="devel", kind="mbox", path=archive)
    seen: list[int] = []
    counts = ingest_mailing_list(wh, "proj", lst, tmp_path / "cache", progress=seen.append)
    assert counts == {
        "mail_messages": 2,
        "mail_trailers": 2,
        "mail_quarantine": 1,
        "mail_issues": 1,
        "list_addresses": 0,
    }
    assert seen[-1] == 2
    again = ingest_mailing_list(wh, "proj", lst, tmp_path / "cache")
    assert again == counts
    con = duckdb.connect(str(wh), read_only=True)
    try:
        msgs = con.execute(
            "SELECT message_id, from_name, from_address, sent_at, date_source, is_patch, patch_version,"
            " patch_counter, patch_total, in_reply_to, source_location FROM raw.mail_messages"
            " WHERE project = 'proj' AND list_name = 'devel' ORDER BY message_id"
        ).fetchall()
        assert [m[:3] for m in msgs] == [
            ("p1@example.com", "Jane Doe", "jane@example.com"),
            ("r1@example.org", "Bob", "bob@example.org"),
        ]
        assert str(msgs[0][3]) == "2019-04-29 01:24:03" and msgs[0][4] == "header"
        assert msgs[0][5:9] == (True, 2, 1, 1)
        assert msgs[1][5] is False and msgs[1][9] == "p1@example.com"
        assert msgs[0][10] == f"{archive}:0"
        trailers = con.execute(
            "SELECT message_id, kind, name, address FROM raw.mail_trailers ORDER BY message_id"
        ).fetchall()
        assert trailers == [
            ("p1@example.com", "signed-off-by", "Jane Doe", "jane@example.com"),
            ("r1@example.org", "reviewed-by", "Bob", "bob@example.org"),
        ]
        assert con.execute("SELECT reason FROM raw.mail_quarantine").fetchall() == [("no_headers",)]
        assert con.execute("SELECT check_name FROM raw.mail_issues").fetchall() == [("duplicate_identical",)]
    finally:
        con.close()


def test_missing_path_is_one_clear_line(tmp_path: Path) -> None:
    lst = MailingListConfig(name="devel", kind="mbox", path=tmp_path / "nope.mbox")
    with pytest.raises(SourceError) as err:
        ingest_mailing_list(tmp_path / "wh.duckdb", "proj", lst, tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "devel" in msg and "nope.mbox" in msg
    lst = MailingListConfig(name="md", kind="maildir", path=tmp_path / "nodir")
    with pytest.raises(SourceError, match="md"):
        ingest_mailing_list(tmp_path / "wh.duckdb", "proj", lst, tmp_path)
