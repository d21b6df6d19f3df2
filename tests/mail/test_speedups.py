"""The fast paths give exactly the rows of the code they replaced.

`KVM_PPC_DIGEST` is the SHA-256 of every row iter_list_rows produced for the kvm-ppc archive of
the real corpus with the parser as it was before the speed work (commit 8877b67), computed by
`rows_digest` below (rows in order, each as `repr((table, sorted items))`, with the archive path
cut from `source_location` so the digest does not depend on where the corpus sits). Any change in
any column of any message, trailer or issue row changes it. The other tests here need no corpus:
the parallel reader against the serial one, and the patch-id fast path against the line walk.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from commstats.config import MailingListConfig
from extractors.mail.ingest import iter_list_rows
from extractors.mail.mbox import iter_mbox
from extractors.mail.parallel import iter_mbox_rows_parallel
from extractors.mail.patches import _walk_patch_id, git_patch_id
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
KVM_PPC_DIGEST = "0db5f44d18f36c359361c8572894ec97d0a37140e5624f46e19e5f51ac4bc794"
KVM_PPC_COUNTS = {"mail_messages": 5965, "mail_trailers": 4057, "mail_issues": 3}


def rows_digest(rows: Iterable[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, int]]:
    h = hashlib.sha256()
    counts: Counter[str] = Counter()
    for table, row in rows:
        counts[table] += 1
        items = [
            (k, v.rsplit(":", 1)[-1] if k == "source_location" and isinstance(v, str) else v)
            for k, v in sorted(row.items())
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


def test_kvm_ppc_parallel_rows_match_serial(kvm_ppc: Path, tmp_path: Path) -> None:
    lst = MailingListConfig(name="kvm-ppc", kind="mbox", path=str(kvm_ppc))
    assert rows_digest(iter_mbox_rows_parallel("p", lst, kvm_ppc, block_size=1 << 20)) == (
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
    assert list(iter_mbox_rows_parallel("p", lst, cut, block_size=1 << 20)) == serial


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
    assert list(iter_mbox_rows_parallel("p", lst, path, block_size=block_size)) == serial


def test_parallel_reports_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.mbox"
    lst = MailingListConfig(name="l", kind="mbox", path=str(path))
    assert list(iter_mbox_rows_parallel("p", lst, path)) == list(iter_list_rows("p", lst, iter_mbox(path)))


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
