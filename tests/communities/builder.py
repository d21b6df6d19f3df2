"""Small hand-built communities, one project per defect or quirk, written into a directory with a
`communities.yaml` that covers them all, so that one `commstats run` measures every case.

Repositories are made with the git CLI under fixed `GIT_AUTHOR_*` / `GIT_COMMITTER_*` variables;
authors git itself refuses are written as raw commit objects (`git hash-object -t commit -w
--literally`). Mailboxes are written from `email.message` objects through `mailbox.mbox`.
Nothing here imports commstats: the inputs must not depend on the code they test.
"""

from __future__ import annotations

import email.utils
import mailbox
import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import yaml

# the list whose own posting address rewrote senders (DMARC), configured as a list address
P1_LIST_ADDRESS = "p1-devel@lists.example.org"

BASE_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "TZ": "UTC",
    "LC_ALL": "C",
}


def at(text: str) -> datetime:
    """`2023-01-15 10:00` (UTC) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def git_date(when: datetime) -> str:
    return f"@{int(when.timestamp())} +0000"


# -- git ----------------------------------------------------------------------------------------


class Repo:
    """A work tree driven through the git CLI; every commit names its author, committer and dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **BASE_ENV, "HOME": str(path)}
        self.git("init", "-q", "-b", "main", ".")
        self.git("config", "core.autocrlf", "false")

    def git(self, *args: str, input: bytes | None = None, env: dict | None = None) -> str:
        res = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} in {self.path}: {res.stderr.decode(errors='replace')}")
        return res.stdout.decode("utf-8", errors="surrogateescape")

    def write(self, files: dict[str, str | None]) -> None:
        """Write (or, for None, delete) files of the work tree and stage everything."""
        for rel, text in files.items():
            p = self.path / rel
            if text is None:
                p.unlink()
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        self.git("add", "-A")

    def commit(
        self,
        message: str,
        author: tuple[str, str],
        when: datetime,
        files: dict[str, str | None] | None = None,
        committer: tuple[str, str] | None = None,
        committed: datetime | None = None,
        amend: bool = False,
    ) -> str:
        self.write(files or {})
        cname, cmail = committer or author
        env = {
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_AUTHOR_DATE": git_date(when),
            "GIT_COMMITTER_NAME": cname,
            "GIT_COMMITTER_EMAIL": cmail,
            "GIT_COMMITTER_DATE": git_date(committed or when),
        }
        extra = ["--amend"] if amend else []
        self.git("commit", "-q", "--allow-empty", *extra, "-F", "-", input=message.encode(), env=env)
        return self.head()

    def raw_commit(self, author_line: str, committer_line: str, message: str, files: dict[str, str]) -> str:
        """A commit object written byte for byte (headers git would refuse to produce), made HEAD."""
        self.write(files)
        tree = self.git("write-tree").strip()
        parent = self.git("rev-parse", "-q", "--verify", "HEAD^{commit}").strip()
        text = f"tree {tree}\nparent {parent}\nauthor {author_line}\ncommitter {committer_line}\n\n{message}"
        sha = self.git(
            "hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=text.encode()
        ).strip()
        self.git("update-ref", "refs/heads/main", sha)
        return sha

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def format_patch(self, rev: str = "HEAD") -> bytes:
        """`git format-patch -1 --stdout` of one commit: what its author posts to the list."""
        return self.git("format-patch", "-1", "--stdout", rev).encode("utf-8", errors="surrogateescape")


# -- mail ---------------------------------------------------------------------------------------


def message(
    sender: str,
    subject: str,
    when: datetime,
    msgid: str,
    body: str = "Hello.\n",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    **headers: str,
) -> EmailMessage:
    """One list message; extra headers by keyword (`Reply_To="..."` -> `Reply-To: ...`)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "list@lists.example.org"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = f"<{msgid}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = " ".join(f"<{r}>" for r in (references or [in_reply_to]))
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def from_format_patch(raw: bytes, msgid: str, when: datetime) -> EmailMessage:
    """A `git format-patch` output as the list archived it: a Message-ID and the posting date."""
    msg = email.message_from_bytes(raw, _class=EmailMessage)
    del msg["Date"]
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = f"<{msgid}>"
    msg["To"] = "list@lists.example.org"
    return msg


def write_mbox(path: Path, messages: list[tuple[EmailMessage, str | None]]) -> int:
    """Write (message, From_-line text or None) pairs as an mbox; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.mbox(str(path), create=True)
    box.lock()
    try:
        for msg, from_line in messages:
            m = mailbox.mboxMessage(msg)
            if from_line:
                m.set_from(from_line)
            box.add(m)
        box.flush()
    finally:
        box.unlock()
        box.close()
    return len(messages)


def plain_mbox(path: Path, messages: list[EmailMessage]) -> int:
    return write_mbox(path, [(m, None) for m in messages])


def patch_body(subject_line: str, path: str, old: str, new: str, signoff: str) -> str:
    """A mail body holding a small unified diff of one file."""
    return (
        f"{subject_line}\n\nSigned-off-by: {signoff}\n---\n"
        f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -1 +1 @@\n-{old}\n+{new}\n"
    )


# One row of a thread table: (sender, subject, date, Message-ID, parent, body). The parent is None,
# the Message-ID replied to, or the whole References chain ending with it; a body given as
# (file, old line, new line) is a patch of that file signed off by the sender, whose description
# is the subject without its `[PATCH ...]` tag.
Row = tuple[str, str, str, str, str | list[str] | None, str | tuple[str, str, str]]


def thread(rows: list[Row]) -> list[EmailMessage]:
    """The messages of a thread table (see `Row`)."""
    out = []
    for sender, subject, when, msgid, parent, body in rows:
        if isinstance(body, tuple):
            body = patch_body(re.sub(r"^\[PATCH[^\]]*\] ", "", subject), *body, sender)
        chain = [parent] if isinstance(parent, str) else parent
        out.append(message(sender, subject, at(when), msgid, body, chain[-1] if chain else None, chain))
    return out


# -- the communities ----------------------------------------------------------------------------


@dataclass
class Built:
    """What was written: the config, and per project its repository, scope and archive."""

    root: Path
    config: Path
    projects: dict[str, dict] = field(default_factory=dict)
    mailmap: Path | None = None
    affiliations: Path | None = None


def _project(built: Built, key: str, **spec) -> dict:
    built.projects[key] = spec
    return spec


def build_defects(root: Path) -> Built:
    """Every community of the defects list, plus the malformed-author repository, an epoch-0 root
    commit and a doubled pipermail month; one config holds them all."""
    root.mkdir(parents=True, exist_ok=True)
    built = Built(root=root, config=root / "communities.yaml")
    ids = root / "identities"
    ids.mkdir()
    built.mailmap = ids / "mailmap"
    built.affiliations = ids / "affiliations.yaml"

    _defect01_mailmap(built)
    _defect02_list_address(built)
    _defect03_robots(built)
    _defect04_webmail_families(built)
    _defect05_project_addresses(built)
    _defect06_scoped_patch_id(built)
    _defect07_08_outsiders(built)
    _defect09_first_reply(built)
    _defect10_concentration(built)
    _defect11_ack_receiver(built)
    _defect12_obfuscated_trailer(built)
    _malformed_authors(built)
    _epoch_root(built)
    _pipermail_doubled(built)
    _scale_quirks(built)

    built.affiliations.write_text(yaml.safe_dump({"affiliations": AFFILIATIONS}, sort_keys=False))
    write_config(built)
    return built


def build_quiet(root: Path) -> Built:
    """One project with commits and messages but not one ack or review anywhere (defect 13)."""
    root.mkdir(parents=True, exist_ok=True)
    built = Built(root=root, config=root / "communities.yaml")
    repo = Repo(root / "repos" / "quiet.git")
    tina = ("Tina Tester", "tina@quiet.example")
    repo.commit("quiet: first\n", tina, at("2023-03-01 10:00"), {"a.c": "int a;\n"})
    repo.commit("quiet: second\n", tina, at("2023-03-02 10:00"), {"a.c": "int a, b;\n"})
    mbox = root / "mail" / "quiet.mbox"
    plain_mbox(mbox, [message("Tina Tester <tina@quiet.example>", "hello", at("2023-03-03 10:00"), "q1@x")])
    _project(built, "quiet", repo=repo.path, mbox=mbox, list_name="quiet-devel")
    write_config(built)
    return built


def write_config(built: Built) -> None:
    projects = {}
    for key, spec in built.projects.items():
        project: dict = {"title": spec.get("title", key)}
        if spec.get("period_date"):
            project["period_date"] = spec["period_date"]
        if spec.get("mbox"):
            ml: dict = {"name": spec["list_name"], "kind": "mbox", "path": str(spec["mbox"])}
            if spec.get("list_addresses"):
                ml["addresses"] = list(spec["list_addresses"])
            project["mailing_lists"] = [ml]
        if spec.get("repo"):
            rp: dict = {"name": spec["repo"].name.removesuffix(".git"), "path": str(spec["repo"])}
            if spec.get("paths"):
                rp["paths"] = list(spec["paths"])
            project["repositories"] = [rp]
        projects[key] = project
    identities: dict = {"mailmap": [], "aliases": [], "affiliations": [], "gitdm_maps": []}
    if built.mailmap:
        identities["mailmap"] = [str(built.mailmap)]
    if built.affiliations:
        identities["affiliations"] = [str(built.affiliations)]
    cfg = {
        "warehouse": str(built.root / "warehouse.duckdb"),
        "output_dir": str(built.root / "output"),
        "cache_dir": str(built.root / "cache"),
        "period_date": "author",
        "projects": projects,
        "identities": identities,
    }
    built.config.write_text(yaml.safe_dump(cfg, sort_keys=False))


# Explicit affiliations for the outsider-merge communities (defects 7 and 8).
AFFILIATIONS: list[dict] = [
    {"address": "grace@d07.example", "organization": "OrgOld", "until": "2023-01-31"},
    {"address": "grace@d07.example", "organization": "OrgNew", "from": "2023-02-01"},
    {"address": "hank@d07.example", "organization": "OrgNew"},
    {"domain": "d08i.example", "organization": "OrgI"},
    {"domain": "d08j.example", "organization": "OrgJ"},
]


def one_commit_each(built: Built, key: str, authors: list[tuple[str, str]], month: str) -> None:
    """Project `key`: a repository with one commit per author, on the 1st, 2nd, ... of `month`."""
    repo = Repo(built.root / "repos" / f"{key}.git")
    for i, who in enumerate(authors):
        repo.commit(f"{key}: change {i}\n", who, at(f"{month}-{i + 1:02d} 10:00"), {f"f{i}.txt": f"{i}\n"})
    _project(built, key, repo=repo.path)


# two people committing from one placeholder address, among four other authors: git counts six
SHARED_ADDRESS_AUTHORS = [
    ("Alice", "shared@localhost.localdomain"),
    ("Bob", "shared@localhost.localdomain"),
    ("Carl", "carl@d01.example"),
    ("Dana", "dana@d01.example"),
    ("Eli", "eli@d01.example"),
    ("Fern", "fern@d01.example"),
]


def _defect01_mailmap(built: Built) -> None:
    """The two sharing an address told apart by name in `.mailmap` form 4."""
    built.mailmap.write_text(  # type: ignore[union-attr]
        "Alice A <alice@corp-a.com> Alice <shared@localhost.localdomain>\n"
        "Bob B <bob@corp-b.com> Bob <shared@localhost.localdomain>\n"
    )
    one_commit_each(built, "d01", SHARED_ADDRESS_AUTHORS, "2023-03")


def _defect02_list_address(built: Built) -> None:
    """Two senders rewritten by the list for DMARC (real sender in Reply-To), one plain sender."""
    mbox = built.root / "mail" / "d02.mbox"
    plain_mbox(
        mbox,
        [
            message(
                f'"Erin via P1-devel" <{P1_LIST_ADDRESS}>',
                "Question about the build",
                at("2023-03-01 09:00"),
                "d02-1@example.net",
                Reply_To="Erin <erin@example.net>",
            ),
            message(
                f'"Frank via P1-devel" <{P1_LIST_ADDRESS}>',
                "Re: Question about the build",
                at("2023-03-01 11:00"),
                "d02-2@example.net",
                in_reply_to="d02-1@example.net",
                Reply_To="Frank <frank@example.net>",
            ),
            message(
                "Carol <carol@d02.example>", "Release notes", at("2023-03-02 09:00"), "d02-3@example.org"
            ),
        ],
    )
    _project(built, "d02", mbox=mbox, list_name="p1-devel", list_addresses=[P1_LIST_ADDRESS])


def _defect03_robots(built: Built) -> None:
    mbox = built.root / "mail" / "d03.mbox"
    robot = "osstest service owner <osstest-admin@xenproject.org>"
    plain_mbox(
        mbox,
        [
            message(
                robot, "[xen-unstable test] 180001: regressions - FAIL", at("2023-03-01 01:00"), "d03-1@x"
            ),
            message(robot, "[xen-unstable test] 180002: tolerable FAIL", at("2023-03-02 01:00"), "d03-2@x"),
            message("Ann <ann@d03.example>", "Flaky test host", at("2023-03-03 10:00"), "d03-3@x"),
        ],
    )
    _project(built, "d03", mbox=mbox, list_name="d03-devel")


# one author per webmail family of METRICS.md under a public suffix that is not the family's .com
WEBMAIL_FAMILY_AUTHORS = [
    ("Carol", "carol@yahoo.co.in"),
    ("Dan", "dan@hotmail.co.uk"),
    ("Eve", "eve@outlook.fr"),
    ("Fay", "fay@protonmail.ch"),
    ("Gil", "gil@gmx.at"),
    ("Hal", "hal@live.co.uk"),
]


def _defect04_webmail_families(built: Built) -> None:
    one_commit_each(built, "d04", WEBMAIL_FAMILY_AUTHORS, "2023-04")


PROJECT_ISSUED = [("Marc Z", "maz@kernel.org"), ("Oliver Upton", "oliver.upton@linux.dev")]


def _defect05_project_addresses(built: Built) -> None:
    one_commit_each(built, "d05", PROJECT_ISSUED, "2023-05")


def _kvm_c(n: int) -> str:
    return "".join(f"int kvm_{i}(void) {{ return {i}; }}\n" for i in range(n))


def _defect06_scoped_patch_id(built: Built) -> None:
    """Scope `virt/`; two posted patches landed: one touching only virt/, one touching virt/kvm.c
    and include/other.h that was applied under another subject."""
    repo = Repo(built.root / "repos" / "d06.git")
    uma = ("Uma Patcher", "uma@d06.example")
    repo.commit(
        "base\n",
        uma,
        at("2023-06-01 10:00"),
        {"virt/kvm.c": _kvm_c(5), "include/other.h": "#define OTHER 1\n"},
    )
    repo.commit(
        "virt: add kvm_5\n\nSigned-off-by: Uma Patcher <uma@d06.example>\n",
        uma,
        at("2023-06-02 10:00"),
        {"virt/kvm.c": _kvm_c(6)},
    )
    posted_b = repo.format_patch()
    repo.commit(
        "virt: tidy kvm and other\n\nSigned-off-by: Uma Patcher <uma@d06.example>\n",
        uma,
        at("2023-06-03 10:00"),
        {"virt/kvm.c": _kvm_c(7), "include/other.h": "#define OTHER 2\n"},
    )
    posted_c = repo.format_patch()
    # the maintainer applied it under another subject, so only the patch-id can match it
    repo.commit(
        "KVM: add kvm_6 and raise OTHER\n\nSigned-off-by: Uma Patcher <uma@d06.example>\n",
        uma,
        at("2023-06-03 10:00"),
        committer=("Vic Maintainer", "vic@d06.example"),
        committed=at("2023-06-10 10:00"),
        amend=True,
    )
    mbox = built.root / "mail" / "d06.mbox"
    plain_mbox(
        mbox,
        [
            from_format_patch(posted_b, "d06-b@d06.example", at("2023-06-04 10:00")),
            from_format_patch(posted_c, "d06-c@d06.example", at("2023-06-05 10:00")),
        ],
    )
    _project(built, "d06", repo=repo.path, paths=["virt/"], mbox=mbox, list_name="d06-devel")


def _defect07_08_outsiders(built: Built) -> None:
    """Defect 7: Grace (OrgOld until 2023-01-31, OrgNew after) authored on 2023-01-15 and Hank
    (OrgNew) committed on 2023-02-15. Defect 8: nine commits of March 2023, one by an outsider
    (OrgJ, committed by OrgI) and one committed by the GitHub bot."""
    repo7 = Repo(built.root / "repos" / "d07.git")
    repo7.commit(
        "d07: grace's fix\n",
        ("Grace", "grace@d07.example"),
        at("2023-01-15 10:00"),
        {"g.txt": "g\n"},
        committer=("Hank", "hank@d07.example"),
        committed=at("2023-02-15 10:00"),
    )
    repo8 = Repo(built.root / "repos" / "d08.git")
    ivan, judy = ("Ivan", "ivan@d08i.example"), ("Judy", "judy@d08j.example")
    for i in range(7):
        repo8.commit(f"d08: ivan {i}\n", ivan, at(f"2023-03-{i + 1:02d} 10:00"), {f"i{i}.txt": "i\n"})
    repo8.commit(
        "d08: judy\n",
        judy,
        at("2023-03-10 10:00"),
        {"j.txt": "j\n"},
        committer=ivan,
        committed=at("2023-03-10 12:00"),
    )
    repo8.commit(
        "d08: merged on GitHub\n",
        ivan,
        at("2023-03-11 10:00"),
        {"gh.txt": "gh\n"},
        committer=("GitHub", "noreply@github.com"),
        committed=at("2023-03-11 12:00"),
    )
    for suffix, period_date in (("a", "author"), ("c", "committer")):
        _project(built, f"d07{suffix}", repo=repo7.path, period_date=period_date)
        _project(built, f"d08{suffix}", repo=repo8.path, period_date=period_date)


def _defect09_first_reply(built: Built) -> None:
    kim, mia, len_ = "Kim <kim@d09.example>", "Mia <mia@d09.example>", "Len <len@d09.example>"
    r2, rv2, odd = ["d09-c@x", "d09-2@x"], ["d09-v1@x", "d09-v2@x"], "> fix two\n\nLooks odd to me.\n"
    msgs = thread(
        [
            (kim, "[PATCH 0/2] foo: two fixes", "2023-01-02 10:00", "d09-c@x", None, "Two fixes.\n"),
            (kim, "[PATCH 1/2] foo: fix one", "2023-01-02 10:01", "d09-1@x", "d09-c@x", ("foo.c", "a", "b")),
            (kim, "[PATCH 2/2] foo: fix two", "2023-01-02 10:02", "d09-2@x", "d09-c@x", ("foo.c", "b", "c")),
            (len_, "Re: [PATCH 2/2] foo: fix two", "2023-01-02 12:02", "d09-r2@x", r2, odd),
            (mia, "[PATCH] bar: fix", "2023-01-10 10:00", "d09-v1@x", None, ("bar.c", "x", "y")),
            (mia, "[PATCH v2] bar: fix", "2023-01-15 10:00", "d09-v2@x", "d09-v1@x", ("bar.c", "x", "z")),
            (len_, "Re: [PATCH v2] bar: fix", "2023-01-16 10:00", "d09-rv2@x", rv2, "> bar\n\nBetter.\n"),
            # a later message, so January's series are all more than 14 days before the archive's end
            (len_, "Meeting notes", "2023-02-20 10:00", "d09-late@x", None, "Notes.\n"),
        ]
    )
    mbox = built.root / "mail" / "d09.mbox"
    plain_mbox(mbox, msgs)
    _project(built, "d09", mbox=mbox, list_name="d09-devel")


# (author, commits): three gmail users, Intel, two people with personal domains
CONCENTRATION = [
    (("Gia", "gia@gmail.com"), 2),
    (("Gus", "gus@gmail.com"), 2),
    (("Gwen", "gwen@gmail.com"), 2),
    (("Ian", "ian@intel.com"), 6),
    (("Max", "max@mustermann.de"), 1),
    (("Nia", "nia@nia-home.net"), 1),
]


def _defect10_concentration(built: Built) -> None:
    repo = Repo(built.root / "repos" / "d10.git")
    n = 0
    for who, count in CONCENTRATION:
        for _ in range(count):
            n += 1
            when = at("2023-06-01 00:00") + timedelta(hours=n)
            repo.commit(f"d10: change {n}\n", who, when, {f"f{n}.txt": f"{n}\n"})
    _project(built, "d10", repo=repo.path)


def _defect11_ack_receiver(built: Built) -> None:
    olga, peggy = "Olga <olga@corp-o.com>", "Peggy <peggy@corp-p.com>"
    mbox = built.root / "mail" / "d11.mbox"
    ack = "> baz: fix\n\nAcked-by: Peggy <peggy@corp-p.com>\n"
    rows: list[Row] = [
        (olga, "[PATCH] baz: fix", "2023-01-20 10:00", "d11-p@corp-o.com", None, ("baz.c", "p", "q")),
        (peggy, "Re: [PATCH] baz: fix", "2023-02-02 10:00", "d11-r@corp-p.com", "d11-p@corp-o.com", ack),
    ]
    plain_mbox(mbox, thread(rows))
    _project(built, "d11", mbox=mbox, list_name="d11-devel")


def _defect12_obfuscated_trailer(built: Built) -> None:
    repo = Repo(built.root / "repos" / "d12.git")
    repo.commit(
        "d12: fix\n\nAcked-by: Quinn <quinn at lab.acme.co.jp>\nSigned-off-by: Rita <rita@d12.example>\n",
        ("Rita", "rita@d12.example"),
        at("2023-07-03 10:00"),
        {"r.txt": "r\n"},
    )
    _project(built, "d12", repo=repo.path)


# The malformed author lines of a real repository: the whole `Name address` given as the
# address, and an address with no `@` at all.
MALFORMED_AUTHOR = "Jane Doe jane.doe@example.com <Jane Doe jane.doe@example.com> 1281975250 +0100"
NO_AT_AUTHOR = "Jane Doe <janeiexample.com> 1282061650 +0100"


def _malformed_authors(built: Built) -> None:
    repo = Repo(built.root / "repos" / "malformed.git")
    jane, ken = ("Jane Doe", "jane.doe@example.com"), ("Ken", "ken@example.com")
    repo.commit("first\n", jane, at("2010-08-10 10:00"), {"a.txt": "a\n"})
    repo.raw_commit(MALFORMED_AUTHOR, MALFORMED_AUTHOR, "malformed author and committer\n", {"b.txt": "b\n"})
    repo.raw_commit(
        NO_AT_AUTHOR,
        "Ken <ken@example.com> 1282061650 +0100",
        "address without an at sign\n",
        {"c.txt": "c\n"},
    )
    repo.commit("ken's\n", ken, at("2010-08-20 10:00"), {"d.txt": "d\n"})
    _project(built, "malformed", repo=repo.path)


def _epoch_root(built: Built) -> None:
    """A conversion root commit dated 1970-01-01, then two commits of 2023."""
    repo = Repo(built.root / "repos" / "epoch.git")
    ola = ("Ola", "ola@epoch.example")
    repo.commit("import\n", ola, datetime.fromtimestamp(0, UTC), {"a.txt": "a\n"})
    repo.commit("one\n", ola, at("2023-08-01 10:00"), {"a.txt": "b\n"})
    repo.commit("two\n", ola, at("2023-08-02 10:00"), {"a.txt": "c\n"})
    _project(built, "epoch", repo=repo.path)


PIPERMAIL_LIST = "pm-devel"


def _pipermail_message(
    sender: str, name: str, subject: str, when: datetime, msgid: str, url: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{sender.replace('@', ' at ')} ({name})"
    msg["Date"] = email.utils.format_datetime(when)
    msg["Subject"] = f"[Pm-devel] {subject}"
    msg["Message-ID"] = f"<{msgid}>"
    msg.set_content(
        f"Text of {subject}.\n\n-------------- next part --------------\n"
        "A non-text attachment was scrubbed...\nName: notes.txt\n"
        f"{url}\n",
        cte="7bit",
    )
    return msg


def _from_line(address: str, when: datetime) -> str:
    """A pipermail `From_` line: obfuscated sender, asctime date."""
    return f"{address.replace('@', ' at ')}  {when:%a %b} {when.day:2d} {when:%H:%M:%S %Y}"


def _pipermail_doubled(built: Built) -> None:
    """A pipermail month rebuilt from its mbox: three messages twice with archiving artefacts
    (From_ date in another zone, the scrubbed-attachment link rewritten), one twice byte for byte,
    and one Message-ID reused by a different message (other sender and date)."""
    base = "http://lists.example.org/pipermail/pm-devel/attachments/201008"
    people = [
        ("jane.doe@example.com", "Jane Doe"),
        ("ken@example.com", "Ken"),
        ("lou@pm.example", "Lou"),
    ]
    first: list[tuple[EmailMessage, str | None]] = []
    second: list[tuple[EmailMessage, str | None]] = []
    for i, (addr, name) in enumerate(people):
        when = at(f"2010-08-{i + 2:02d} 09:00")
        mid = f"pm-{i}@pm.example"
        first.append(
            (
                _pipermail_message(addr, name, f"topic {i}", when, mid, f"Url: {base}/{i}/attachment.txt"),
                _from_line(addr, when),
            )
        )
        shifted = when + timedelta(hours=2)  # the rebuild wrote the From_ line in another zone
        second.append(
            (
                _pipermail_message(
                    addr,
                    name,
                    f"topic {i}",
                    when,
                    mid,
                    f"URL: </pipermail/pm-devel/attachments/201008/{i}/attachment.ksh>",
                ),
                _from_line(addr, shifted),
            )
        )
    same_when = at("2010-08-10 09:00")
    identical = (
        _pipermail_message(
            "lou@pm.example", "Lou", "identical", same_when, "pm-same@pm.example", f"Url: {base}/s/a.txt"
        ),
        _from_line("lou@pm.example", same_when),
    )
    reused_when = at("2010-08-20 09:00")
    reused = (
        _pipermail_message(
            "mo@pm.example", "Mo", "other message", reused_when, "pm-0@pm.example", f"Url: {base}/r/a.txt"
        ),
        _from_line("mo@pm.example", reused_when),
    )
    pairs = [*first, identical, *second, identical, reused]
    mbox = built.root / "mail" / "pm-devel" / "2010-August.txt"
    write_mbox(mbox, pairs)
    _project(built, "pipermail", mbox=mbox, list_name=PIPERMAIL_LIST)


def _c_lines(tag: str, n: int) -> str:
    return "".join(f"int {tag}_{i}(int x) {{ return x + {i}; }}\n" for i in range(n))


def _py_funcs(tag: str, n: int) -> str:
    return "".join(f"def {tag}_{i}(x):  # {tag}{i * 7919 % 10007}\n    return x + {i}\n" for i in range(n))


# The people of the quirks community and what their trailers should give.
SAM = ("Sam Self", "sam@quirks.example")
ADA = ("Ada Acker", "ada@quirks.example")


def _scale_quirks(built: Built) -> None:
    """The shapes found at scale, in one repository and one archive: renames edited near git's 50 %
    similarity threshold while other files are added and deleted, binary files, a trailing
    cherry-pick `Conflicts:` block below the real trailers, a trailer value naming two people,
    mangled trailer addresses, a self sign-off under an old address; on the list a series, a
    series whose cover letter is not archived, an ack in a reply whose parent is not archived,
    and the pull-request tracker robot."""
    repo = Repo(built.root / "repos" / "quirks.git")
    # a configured abbreviation length: the binary index lines git hashes into a patch-id use it
    repo.git("config", "core.abbrev", "10")
    day = iter(at(f"2022-03-{d:02d} 10:00") for d in range(1, 29))
    repo.commit(
        "quirks: import\n\nSigned-off-by: Sam Self <sam@quirks.example>\n",
        SAM,
        next(day),
        {
            "src/main.c": _c_lines("main", 40),
            "src/util.c": _c_lines("util", 30),
            "src/old.c": _c_lines("old", 12),
            "docs/a.txt": "alpha\n" * 5,
        },
    )
    (repo.path / "logo.png").write_bytes(bytes(range(256)) * 8)
    repo.commit("quirks: logo\n", SAM, next(day), {})
    # util.c renamed and about half rewritten; old.c renamed with a small edit; a file added and
    # one deleted in the same commit
    util = _c_lines("util", 16) + _c_lines("helper", 14)
    repo.commit(
        "quirks: move helpers to lib\n\nSigned-off-by: Sam Self <sam@quirks.example>\n",
        SAM,
        next(day),
        {
            "src/util.c": None,
            "src/old.c": None,
            "lib/util2.c": util,
            "lib/old.c": _c_lines("old", 11) + "int extra;\n",
            "src/new.c": _c_lines("new", 9),
            "docs/a.txt": None,
        },
    )
    (repo.path / "logo.png").write_bytes(bytes(reversed(range(256))) * 8)
    repo.commit("quirks: new logo\n", SAM, next(day), {})
    # a rename edited to about half while a sibling that shares a third of the old lines is added
    # and other files are deleted: git pairs x.py with lib/main.py, a whole-tree pairing may not
    tool = [f"def x_{i}(x):  # x{i * 7919 % 10007}\n    return x + {i}\n" for i in range(40)]
    repo.commit(
        "tools: x\n", SAM, next(day), {"tools/x/x.py": "".join(tool), "tools/x/y.py": _py_funcs("y", 30)}
    )
    repo.commit(
        "tools: x becomes a package\n",
        SAM,
        next(day),
        {
            "tools/x/x.py": None,
            "tools/x/lib/main.py": "".join(tool[:24]) + _py_funcs("m", 17),
            "tools/x/sib.py": "".join(tool[15:31]) + _py_funcs("s", 9),
            "tools/x/y.py": None,
            "src/new.c": None,
        },
    )
    # trailer shapes, one commit each, every one growing src/main.c by a line
    trailer_messages = [
        "quirks: backport fix\n\n(cherry picked from commit 1234567)\n\n"
        "Acked-by: Ada Acker <ada@quirks.example>\nSigned-off-by: Sam Self <sam@quirks.example>\n\n"
        "Conflicts:\n\tsrc/main.c\n",
        "quirks: reviewed twice\n\n"
        "Reviewed-by: Rev One <rev1@quirks.example> Rev Two <rev2@quirks.example>\n"
        "Signed-off-by: Sam Self <sam@quirks.example>\n",
        "quirks: from the old machine\n\nSigned-off-by: Sam Self <sam@oldbox.localdomain>\n",
        "quirks: mangled trailers\n\n"
        "Acked-by: Christoph Egger <Christoph. Egger@amd.com>\n"
        "Tested-by: Nomen Nescio <name@{example.com>\n"
        "Signed-off-by: Sam Self <sam@quirks.example>\n",
    ]
    for n, text in enumerate(trailer_messages, start=41):
        repo.commit(text, SAM, next(day), {"src/main.c": _c_lines("main", n)})
    sam, ada = f"{SAM[0]} <{SAM[1]}>", f"{ADA[0]} <{ADA[1]}>"
    ack = "> quirks: elsewhere\n\nAcked-by: Ada Acker <ada@quirks.example>\n"
    bot, merged = "pr-tracker-bot@kernel.org", "The pull request you sent has been merged.\n"
    v2c = "qk-v2-c@x"  # the cover letter the archive never got
    msgs = thread(
        [
            (sam, "[PATCH 0/2] quirks: two", "2022-04-01 10:00", "qk-c@x", None, "Two.\n"),
            (sam, "[PATCH 1/2] quirks: one", "2022-04-01 10:01", "qk-1@x", "qk-c@x", ("q.c", "a", "b")),
            (sam, "[PATCH 2/2] quirks: two", "2022-04-01 10:02", "qk-2@x", "qk-c@x", ("q.c", "b", "c")),
            # v2 of a series whose cover letter never reached the archive (new subjects, so only
            # the absent cover letter both patches name ties them together)
            (
                sam,
                "[PATCH v2 1/2] quirks: first rework",
                "2022-04-10 10:01",
                "qk-v2-1@x",
                v2c,
                ("q.c", "a", "d"),
            ),
            (
                sam,
                "[PATCH v2 2/2] quirks: second rework",
                "2022-04-10 10:02",
                "qk-v2-2@x",
                v2c,
                ("q.c", "d", "e"),
            ),
            # an ack in reply to a message the archive does not hold
            (ada, "Re: [PATCH] quirks: elsewhere", "2022-04-12 10:00", "qk-ack@x", "qk-not-archived@x", ack),
            (bot, "Re: [GIT PULL] quirks for 6.1", "2022-04-13 10:00", "qk-pr@x", "qk-pull@x", merged),
        ]
    )
    mbox = built.root / "mail" / "quirks.mbox"
    plain_mbox(mbox, msgs)
    _project(built, "quirks", repo=repo.path, mbox=mbox, list_name="quirks-devel")


# What the doubled month holds, for the tests: 9 copies, 5 distinct messages (3 copies differing
# only in archiving artefacts, 1 byte-identical copy, 1 different message reusing an ID).
PIPERMAIL_COPIES = 9
PIPERMAIL_DISTINCT = 5


BRIDGE_LIST_ADDRESS = "bridge@lists.linux-foundation.org"


def build_bridge(root: Path, archive: Path) -> Built:
    """A config over the real bridge list archive (read in place from the corpus, never copied),
    with the list's own posting address configured."""
    root.mkdir(parents=True, exist_ok=True)
    built = Built(root=root, config=root / "communities.yaml")
    _project(built, "bridge", mbox=archive, list_name="bridge", list_addresses=[BRIDGE_LIST_ADDRESS])
    write_config(built)
    return built
