"""The fast paths give exactly the rows of the code they replaced.

`KVM_PPC_DIGEST` is the SHA-256 of every row iter_list_rows produced for the kvm-ppc archive of
the real corpus with the parser as it was before the speed work (commit 8877b67), computed by
`rows_digest` below (rows in order, each as `repr((table, sorted items))`, with the archive path
cut from `source_location` so the digest does not depend on where the corpus sits). Any change in
any column of any message, trailer or issue row changes it, except the sender columns added later
(`ADDED_COLUMNS`, checked by tests/mail/test_senders.py). The other tests compare the parallel
parse (extractors.mail.parallel) with the serial one, directly and through the ingest driver with
one and two workers, and the patch-id fast path with the line walk.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core.config import MailingListConfig
from core.patchid import _walk_patch_id, git_patch_id
from extractors.mail import dedup, parallel
from extractors.mail.dedup import dedup_rows, iter_list_rows
from extractors.mail.ingest import ingest_mailing_list
from extractors.mail.mbox import iter_mbox
from extractors.mail.raw import RawMessage, SourceProblem
from extractors.mail.rows import iter_entries
from tests.mail.helpers import mail

KVM_PPC = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "corpus"
    / "mail"
    / "lore"
    / "kvm-ppc.vger.kernel.org.0.mbox.gz"
)
# changed once on purpose: `Reviewed-by: Leonardo Bras <leobras.c@gmail,com>` now has its address
# repaired (leobras.c@gmail.com, was None); every other row is as before
KVM_PPC_DIGEST = "cd477b426e6cb854d22f233cd832b5107790f0dafa084117933c628de79d6558"
KVM_PPC_COUNTS = {"mail_messages": 5965, "mail_trailers": 4057, "mail_issues": 3}
# raw.mail_messages columns the reference parse did not have (Reply-To and X-Original-From)
ADDED_COLUMNS = frozenset(
    {"reply_to_name", "reply_to_address", "original_from_name", "original_from_address"}
)


@pytest.fixture(autouse=True)
def without_the_copy_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference rows predate the rule that a copy with the same Message-ID, From and Date is
    one message (its three re-delivered copies are `#dup` messages there): the rule is off here so
    that every other row is still compared with the reference. tests/mail/test_corpus.py and
    tests/mail/test_regenerated_archive.py test the rule itself."""
    monkeypatch.setattr(dedup, "_entry_key", lambda rows: None)


def parallel_rows(
    project: str, lst: MailingListConfig, path: Path, block_size: int = parallel.BLOCK_SIZE
) -> Iterable[tuple[str, dict[str, Any]]]:
    """The rows of one mbox file parsed by two workers, deduplicated: what the ingest driver does."""
    owner = {"project": project, "list_name": lst.name}
    return dedup_rows(owner, parallel.mbox_entries(owner, [path], "mboxrd", 2, block_size))


def rows_digest(rows: Iterable[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, int]]:
    h = hashlib.sha256()
    counts: Counter[str] = Counter()
    for table, row in rows:
        counts[table] += 1
        items = [
            (k, v.rsplit(":", 1)[-1] if k == "source_location" and isinstance(v, str) else v)
            for k, v in sorted(row.items())
            if k not in ADDED_COLUMNS
        ]
        h.update(repr((table, items)).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest(), dict(counts)


@pytest.fixture(scope="module")
def kvm_ppc() -> Path:
    if not KVM_PPC.is_file():
        pytest.skip(f"real mail corpus not found at {KVM_PPC.resolve()} (it sits beside the checkout)")
    return KVM_PPC


def test_kvm_ppc_rows_are_unchanged(kvm_ppc: Path) -> None:
    lst = MailingListConfig(name="kvm-ppc", kind="mbox", path=str(kvm_ppc))
    digest, counts = rows_digest(iter_list_rows("p", lst, iter_mbox(kvm_ppc)))
    assert counts == KVM_PPC_COUNTS
    assert digest == KVM_PPC_DIGEST


def test_kvm_ppc_rows_are_unchanged_without_the_c_modules(
    kvm_ppc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what a source tree nobody compiled runs: the Python references of _patchid.c and _scan.c
    from core import patchid
    from extractors.mail import body, dates, headers, mbox
    from tests.c_modules import required

    for module in (body, headers, patchid):
        assert module._native is not None or not required()
        monkeypatch.setattr(module, "_native", None)
    monkeypatch.setattr(dates, "_canonical_date", dates.canonical_date_regex)
    monkeypatch.setattr(mbox, "_separators", mbox.separators_py)
    lst = MailingListConfig(name="kvm-ppc", kind="mbox", path=str(kvm_ppc))
    digest, counts = rows_digest(iter_list_rows("p", lst, iter_mbox(kvm_ppc)))
    assert counts == KVM_PPC_COUNTS
    assert digest == KVM_PPC_DIGEST


def test_kvm_ppc_parallel_rows_match_serial(kvm_ppc: Path, tmp_path: Path) -> None:
    lst = MailingListConfig(name="kvm-ppc", kind="mbox", path=str(kvm_ppc))
    assert rows_digest(parallel_rows("p", lst, kvm_ppc, block_size=1 << 20)) == (
        KVM_PPC_DIGEST,
        KVM_PPC_COUNTS,
    )
    # a truncated copy: the same messages kept, the same truncation reported
    raw = kvm_ppc.read_bytes()
    cut = tmp_path / "cut.mbox.gz"
    cut.write_bytes(raw[: len(raw) // 2])
    lst = MailingListConfig(name="kvm-ppc", kind="mbox", path=str(cut))
    serial = list(iter_list_rows("p", lst, iter_mbox(cut)))
    assert serial[-1][1]["reason"] == "truncated_archive"
    assert list(parallel_rows("p", lst, cut, block_size=1 << 20)) == serial


def _small_mbox() -> bytes:
    parts = []
    for i in range(40):
        body = f"Body {i}.\n\nFrom here on it is text, not a separator.\n\n>From escaped\n"
        if i % 7 == 0:
            body += "\nFrom jdoe Mon Jan  1 00:00:00 2001\nnot a header line\n"
        msg = mail(subject=f"[PATCH {i % 3}/2] thing", body=body, message_id=f"<m{i % 30}@x>")
        parts.append(b"From jdoe@example.com Mon Jan  1 00:00:00 2001\n" + msg + b"\n")
    return b"".join(parts)


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
@pytest.mark.parametrize("block_size", [1, 300, 5000, 1 << 22])
def test_parallel_rows_match_serial(
    tmp_path: Path, compressed: bool, line_end: bytes, block_size: int
) -> None:
    data = _small_mbox().replace(b"\n", line_end)
    path = tmp_path / ("a.mbox.gz" if compressed else "a.mbox")
    path.write_bytes(gzip.compress(data) if compressed else data)
    lst = MailingListConfig(name="l", kind="mbox", path=str(path))
    serial = list(iter_list_rows("p", lst, iter_mbox(path)))
    assert sum(t == "mail_messages" for t, _ in serial) > 30
    assert list(parallel_rows("p", lst, path, block_size=block_size)) == serial


def test_parallel_reports_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.mbox"
    lst = MailingListConfig(name="l", kind="mbox", path=str(path))
    assert list(parallel_rows("p", lst, path)) == list(iter_list_rows("p", lst, iter_mbox(path)))


PATCH = b"""Commit message.

Signed-off-by: Jane Doe <jane@example.com>
---
 a.c | 3 ++-
 1 file changed, 2 insertions(+), 1 deletion(-)

diff --git a/a.c b/a.c
index 1111111..2222222 100644
--- a/a.c
+++ b/a.c
@@ -1,3 +1,4 @@
 int a;
-int b;
+int  b;
+int c;
 int d;
@@ -10,2 +11,2 @@ void f(void)
-	x();
+	y();
 }
diff --git a/b.c b/b.c
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/b.c
@@ -0,0 +1 @@
+int e;
-- 
2.40.0
"""


@pytest.mark.parametrize(
    "text",
    [
        PATCH,
        PATCH.replace(b"-- \n2.40.0\n", b""),
        PATCH.replace(b"+int e;\n", b"+int e;\n\\ No newline at end of file\n"),
        PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ -10,3 +11,2 @@"),  # miscounted hunk
        PATCH.replace(b"@@ -10,2 +11,2 @@", b"@@ -10,1 +11,1 @@"),  # overlong hunk: patch ends
        PATCH.replace(b" int d;\n", b"\n"),  # blank context line
        PATCH.replace(b"new file mode 100644\n", b"GIT binary patch\n"),
        PATCH.replace(b"new file mode 100644\n", b"a" * 40 + b"\n"),
        PATCH.replace(b"index 1111111..2222222 100644\n", b""),
        PATCH.replace(b"@@ -0,0 +1 @@", b"@@ -0,0 +0,0 @@"),
    ],
)
def test_patch_id_fast_path_matches_the_line_walk(text: bytes) -> None:
    assert git_patch_id(text) == _walk_patch_id(text)


# ---- one process or several: identical rows through the ingest driver ---------------------------

WAREHOUSE_TABLES = (
    "mail_messages",
    "mail_trailers",
    "mail_issues",
    "mail_quarantine",
    "mail_message_digests",
)


def warehouse_rows(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in WAREHOUSE_TABLES}


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the worker count of every pool started, so a test knows workers really ran."""
    started: list[int] = []
    real = parallel._Pool

    def counting(n: int, *args: Any) -> parallel._Pool:
        started.append(n)
        return real(n, *args)

    monkeypatch.setattr(parallel, "_Pool", counting)
    return started


def ingest_with(
    tmp_path: Path, lst: MailingListConfig, workers: int, name: str
) -> dict[str, list[tuple[Any, ...]]]:
    lst = lst.model_copy(update={"options": lst.options.model_copy(update={"parse_workers": workers})})
    wh = tmp_path / f"{name}-{workers}.duckdb"
    ingest_mailing_list(wh, "p", lst, tmp_path / f"cache-{name}-{workers}")
    return warehouse_rows(wh)


def test_kvm_ppc_ingest_is_the_same_with_two_workers(kvm_ppc: Path, tmp_path: Path, pools: list[int]) -> None:
    lst = MailingListConfig(name="kvm-ppc", kind="mbox", path=str(kvm_ppc))
    one = ingest_with(tmp_path, lst, 1, "kvm")
    assert pools == []
    two = ingest_with(tmp_path, lst, 2, "kvm")
    assert pools == [2]
    assert len(one["mail_messages"]) == KVM_PPC_COUNTS["mail_messages"]
    assert two == one


def test_handcrafted_ingest_is_the_same_with_two_workers(
    tmp_path: Path, pools: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # small blocks and no size threshold, so that a small archive really is cut and shared out
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "BLOCK_SIZE", 700)
    first = tmp_path / "a.mbox"
    first.write_bytes(_small_mbox())
    second = tmp_path / "b.mbox.gz"  # a second file of the same list: duplicates span files
    second.write_bytes(gzip.compress(_small_mbox().replace(b"Body 3.", b"Body three.")[:-9000]))
    lst = MailingListConfig(name="l", kind="mbox", path=str(tmp_path / "*.mbox*"))
    one = ingest_with(tmp_path, lst, 1, "mbox")
    two = ingest_with(tmp_path, lst, 2, "mbox")
    assert pools == [2]
    assert two == one
    assert len(one["mail_messages"]) > 40 and len(one["mail_issues"]) > 40


def test_public_inbox_ingest_is_the_same_with_two_workers(
    tmp_path: Path, pools: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.mail_sources.inbox_builder import Epoch, message

    monkeypatch.setattr(parallel, "BLOCK_SIZE", 500)  # batches of a few messages
    root = tmp_path / "inbox"
    e0 = Epoch(root / "git" / "0.git")
    for n in range(30):
        e0.add(message(n % 20, subject=f"[PATCH {n % 3}/2] thing"))
    e0.add(b"no header block at all")
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    one = ingest_with(tmp_path, lst, 1, "pi")
    two = ingest_with(tmp_path, lst, 2, "pi")
    assert pools == [2]
    assert two == one
    # 20 Message-IDs, 10 of them twice with another subject: kept as #dup1
    assert len(one["mail_messages"]) == 30 and len(one["mail_quarantine"]) == 1
    assert sum("#dup1" in row[2] for row in one["mail_messages"]) == 10


def test_batches_of_messages_match_serial(pools: list[int]) -> None:
    owner = {"project": "p", "list_name": "l"}
    items: list[RawMessage | SourceProblem] = []
    for i in range(25):
        data = mail(subject=f"[PATCH {i % 3}/2] x", body=PATCH.decode(), message_id=f"<m{i % 9}@x>")
        items.append(RawMessage(data, f"f:{i}", b"From a Mon Jan  1 00:00:00 2001", datetime(2019, 5, 1)))
        if i % 10 == 0:
            items.append(SourceProblem(f"f:{i}", "truncated_archive", "gone"))
    now = datetime(2026, 1, 1)
    serial = list(iter_entries(owner, items, now))
    assert list(parallel.message_entries(owner, items, 2, 3000, now)) == serial
    assert pools == [2]
    # a source smaller than one batch never starts workers
    assert list(parallel.message_entries(owner, items, 2, 10**9, now)) == serial
    assert pools == [2]


def test_no_workers_where_processes_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where forking is impossible (no fork, a daemonic process) the same rows come in-process."""

    def refuse(*args: Any) -> None:
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(parallel, "_Pool", refuse)
    path = tmp_path / "a.mbox"
    path.write_bytes(_small_mbox())
    lst = MailingListConfig(name="l", kind="mbox", path=str(path))
    serial = list(iter_list_rows("p", lst, iter_mbox(path)))
    assert list(parallel_rows("p", lst, path, block_size=300)) == serial
    owner = {"project": "p", "list_name": "l"}
    messages = [item for item in iter_mbox(path)]
    now = datetime(2026, 1, 1)
    assert list(parallel.message_entries(owner, messages, 2, 1000, now)) == list(
        iter_entries(owner, messages, now)
    )
