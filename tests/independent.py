"""Expected values computed straight from the generated inputs, with git and the stdlib only.

Nothing here uses commstats code: commits and lines come from `git log`, identities from
`git check-mailmap`, mail from `mailbox.mbox` and `email.utils`.
"""

from __future__ import annotations

import csv
import email.utils
import gzip
import mailbox
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from email.header import decode_header, make_header
from pathlib import Path

import yaml

BOT_PATTERNS = (
    re.compile(r"^patchwork-bot\+"),
    re.compile(r"^syzbot"),
    re.compile(r"-bounces@"),
    re.compile(r"^no-?reply"),
)


def is_bot(address: str) -> bool:
    return any(p.search(address) for p in BOT_PATTERNS)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "TZ": "UTC"}
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        encoding="utf-8",
        errors="replace",
    ).stdout


class Mailmap:
    """Canonical addresses as git itself resolves them through the sample's mailmap."""

    def __init__(self, repo: Path, mailmap: Path) -> None:
        self.repo, self.mailmap, self.cache = repo, mailmap, {}

    def resolve(self, addresses: set[str]) -> dict[str, str]:
        todo = sorted(a for a in addresses if a not in self.cache)
        if todo:
            out = subprocess.run(
                [
                    "git",
                    "-C",
                    str(self.repo),
                    "-c",
                    f"mailmap.file={self.mailmap}",
                    "check-mailmap",
                    "--stdin",
                ],
                input="".join(f"<{a}>\n" for a in todo),
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()
            for addr, line in zip(todo, out, strict=True):
                self.cache[addr] = line[line.rindex("<") + 1 : line.rindex(">")].lower()
        return {a: self.cache[a] for a in addresses}


def commits(repo: Path, paths: list[str]) -> list[dict]:
    """Non-merge commits with author address, author date (UTC) and numstat over `paths`."""
    out = git(repo, "log", "--no-merges", "--numstat", "--format=@@%H|%aE|%at|%cE", "--", *paths)
    result: list[dict] = []
    for line in out.splitlines():
        if line.startswith("@@"):
            sha, author, ts, committer = line[2:].split("|")
            result.append(
                {
                    "sha": sha,
                    "author": author.lower(),
                    "committer": committer.lower(),
                    "at": datetime.fromtimestamp(int(ts), UTC),
                    "added": 0,
                    "removed": 0,
                }
            )
        elif line.strip():
            added, removed, _path = line.split("\t", 2)
            if added != "-":
                result[-1]["added"] += int(added)
                result[-1]["removed"] += int(removed)
    return result


def trailers(repo: Path, key: str, paths: list[str]) -> list[tuple[str, str, datetime]]:
    """(commit author, trailer address, author date) for every `key:` trailer line, via git."""
    fmt = f"@@%aE|%at%n%(trailers:key={key},valueonly,separator=%x1f)"
    out = git(repo, "log", "--no-merges", f"--format={fmt}", "--", *paths)
    result = []
    author, at = "", None
    for line in out.splitlines():
        if line.startswith("@@"):
            author, ts = line[2:].split("|")
            at = datetime.fromtimestamp(int(ts), UTC)
            continue
        for value in filter(None, line.split("\x1f")):
            _name, addr = email.utils.parseaddr(value)
            if addr:
                result.append((author.lower(), addr.lower(), at))
    return result


def messages(mbox_path: Path) -> list[dict]:
    """Sender address and UTC date of every message, unique by Message-ID and content."""
    seen: set[tuple[str, bytes]] = set()
    result = []
    for msg in mailbox.mbox(str(mbox_path)):
        raw = msg.as_bytes()
        key = (msg.get("Message-ID", ""), raw)
        if key in seen:
            continue
        seen.add(key)
        _name, addr = email.utils.parseaddr(str(make_header(decode_header(msg.get("From", "")))))
        when = email.utils.parsedate_to_datetime(msg["Date"]).astimezone(UTC)
        result.append({"address": addr.lower(), "at": when, "subject": msg.get("Subject", "")})
    return result


def per_year(items, key) -> Counter:
    counts: Counter = Counter()
    for item in items:
        counts[key(item)] += 1
    return counts


def distinct_per_year(pairs) -> dict[int, int]:
    sets: dict[int, set] = defaultdict(set)
    for year, who in pairs:
        sets[year].add(who)
    return {y: len(s) for y, s in sets.items()}


class Affiliations:
    """Organization of an address on a day, from the sample's affiliation file and a few domains."""

    DOMAINS = {"ibm.com": "IBM", "redhat.com": "Red Hat", "intel.com": "Intel"}

    def __init__(self, path: Path) -> None:
        self.rules = [r for r in yaml.safe_load(path.read_text())["affiliations"] if "address" in r]

    def organization(self, address: str, day: date) -> str | None:
        for rule in self.rules:
            if (
                rule["address"] == address
                and (rule.get("from") is None or rule["from"] <= day)
                and (rule.get("until") is None or day <= rule["until"])
            ):
                return rule["organization"]
        domain = address.rsplit("@", 1)[1]
        for suffix, org in self.DOMAINS.items():
            if domain == suffix or domain.endswith("." + suffix):
                return org
        return None


# -- mail threads, patches and review trailers ----------------------------------------------------

_PATCH_TAG = re.compile(r"\[([^\[\]]*\bPATCH[^\[\]]*)\]", re.IGNORECASE)
_TRAILER = re.compile(r"^(Acked|Reviewed|Tested|Reported)-by:\s*(.*)$", re.IGNORECASE)
_MSGID = re.compile(r"<([^<>\s]+)>")


def _text(msg) -> str:
    parts = msg.walk() if msg.is_multipart() else [msg]
    out = []
    for part in parts:
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            out.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return "\n".join(out)


def _decoded(value: str | None) -> str:
    return " ".join(str(make_header(decode_header(value or ""))).split())


def normalized_subject(subject: str) -> str:
    """The subject without leading Re:/Fwd: and bracketed tags, lower case."""
    s = subject
    while True:
        stripped = re.sub(r"^\s*((re|fwd?|aw)\s*:|\[[^\]]*\])\s*", "", s, flags=re.IGNORECASE)
        if stripped == s:
            return s.strip().lower()
        s = stripped


def mail_archive(mbox_path: Path) -> list[dict]:
    """Every kept message of an mbox with what threading and patch metrics need: true duplicates
    kept once, a reused Message-ID kept twice (the second under a derived ID), missing ones given
    a synthetic ID. `parent` is the archived message named by In-Reply-To, else by the nearest
    archived References entry."""
    seen: set[tuple[str, bytes]] = set()
    ids: set[str] = set()
    result: list[dict] = []
    for i, msg in enumerate(mailbox.mbox(str(mbox_path))):
        raw = msg.as_bytes()
        found = _MSGID.findall(msg.get("Message-ID", ""))
        key = (found[0] if found else "", raw)
        if key in seen:
            continue
        seen.add(key)
        mid = found[0] if found else f"synthetic-{i}"
        if mid in ids:
            mid = f"{mid}#{i}"
        ids.add(mid)
        name, addr = email.utils.parseaddr(_decoded(msg.get("From")))
        subject = _decoded(msg.get("Subject"))
        is_reply_subject = re.match(r"^\s*(\[[^\]]*\]\s*)*(re|fwd?|aw)\s*:", subject, re.IGNORECASE)
        tag = None if is_reply_subject else _PATCH_TAG.search(subject)
        body = _text(msg)
        version = counter = total = None
        if tag:
            v = re.search(r"v(\d+)", tag.group(1), re.IGNORECASE)
            n = re.search(r"(\d+)/(\d+)", tag.group(1))
            version = int(v.group(1)) if v else 1
            counter, total = (int(n.group(1)), int(n.group(2))) if n else (None, None)
        replies_to = _MSGID.findall(msg.get("In-Reply-To", ""))
        result.append(
            {
                "id": mid,
                "address": addr.lower(),
                "name": name,
                "at": email.utils.parsedate_to_datetime(msg["Date"]).astimezone(UTC),
                "subject": subject,
                "in_reply_to": replies_to[0] if replies_to else None,
                "references": _MSGID.findall(msg.get("References", "")),
                "body": body,
                "is_cover": bool(tag) and counter == 0,
                "is_patch": "\ndiff --git " in "\n" + body and counter != 0,
                "version": version,
                "counter": counter,
                "total": total,
            }
        )
    for m in result:
        m["parent"] = None
        if m["in_reply_to"] in ids and m["in_reply_to"] != m["id"]:
            m["parent"] = m["in_reply_to"]
        else:
            for ref in reversed(m["references"]):
                if ref in ids and ref != m["id"]:
                    m["parent"] = ref
                    break
    by_id = {m["id"]: m for m in result}
    for m in result:
        chain, cur = [], m
        while cur["parent"] and len(chain) < 200:
            cur = by_id[cur["parent"]]
            chain.append(cur["id"])
        m["ancestors"] = chain  # nearest first
        m["root"] = chain[-1] if chain else m["id"]
    return result


def series_of(archive: list[dict]) -> dict[str, str]:
    """Message-ID -> series key for patches and cover letters: cover letter plus patches of the
    same sender, version and total in one thread; a lone patch is its own series."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    result: dict[str, str] = {}
    for m in archive:
        if not (m["is_patch"] or m["is_cover"]):
            continue
        if (m["total"] or 1) > 1:
            groups[(m["root"], m["address"], m["version"], m["total"])].append(m)
        else:
            result[m["id"]] = m["id"]
    for members in groups.values():
        head = min(members, key=lambda x: (not x["is_cover"], x["at"], x["id"]))
        for m in members:
            result[m["id"]] = head["id"]
    return result


def reply_trailers(archive: list[dict]) -> list[dict]:
    """Review trailers of replies (not of patches), outside quotes and signatures."""
    out = []
    for m in archive:
        if m["parent"] is None or m["is_patch"] or m["is_cover"]:
            continue
        body = m["body"].split("\n-- \n", 1)[0]
        for line in body.splitlines():
            match = _TRAILER.match(line)
            if match:
                name, addr = email.utils.parseaddr(match.group(2))
                out.append(
                    {
                        "message": m,
                        "kind": match.group(1).lower() + "-by",
                        "name": name,
                        "address": addr.lower(),
                    }
                )
    return out


def patch_ids(texts: dict[str, str], cwd: Path) -> dict[str, str]:
    """git patch-id --stable of each text (a mail body or a `git show` of a commit), by key."""
    keys = sorted(texts)
    fake = {f"{i:040x}": k for i, k in enumerate(keys, start=1)}
    stream = "".join(f"commit {sha}\n{texts[k]}\n" for sha, k in zip(fake, keys, strict=True))
    out = subprocess.run(
        ["git", "-C", str(cwd), "patch-id", "--stable"],
        input=stream.encode("utf-8", errors="surrogateescape"),
        capture_output=True,
        check=True,
    ).stdout.decode()
    result = {}
    for line in out.splitlines():
        pid, sha = line.split()
        result[fake[sha]] = pid
    return result


def commit_details(repo: Path, paths: list[str]) -> list[dict]:
    """Non-merge commits with subject, author and committer addresses and dates, the whole
    commit's patch-id and every trailer (kind, address) in order."""
    sep = "\x1e"
    fmt = f"{sep}%H%x1f%aE%x1f%at%x1f%cE%x1f%ct%x1f%s%x1f%(trailers:unfold,separator=%x1d)"
    out = git(repo, "log", "--no-merges", f"--format={fmt}", "--", *paths)
    commits = []
    for chunk in out.split(sep)[1:]:
        sha, author, at, committer, ct, subject, trailers_raw = chunk.strip("\n").split("\x1f")
        trailers = []
        for t in filter(None, trailers_raw.split("\x1d")):
            key, _, value = t.partition(":")
            _name, addr = email.utils.parseaddr(value.strip())
            trailers.append((key.strip().lower(), addr.lower(), value.strip()))
        commits.append(
            {
                "sha": sha,
                "author": author.lower(),
                "committer": committer.lower(),
                "at": datetime.fromtimestamp(int(at), UTC),
                "committed": datetime.fromtimestamp(int(ct), UTC),
                "subject": subject,
                "trailers": trailers,
            }
        )
    # the patch-id is the whole commit's (what was posted), also under a path scope
    diffs = git(repo, "log", "--no-merges", "-p", "--format=commit %H")
    ids = {}
    for line in (
        subprocess.run(
            ["git", "-C", str(repo), "patch-id", "--stable"],
            input=diffs.encode(),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .splitlines()
    ):
        pid, sha = line.split()
        ids[sha] = pid
    for c in commits:
        c["patch_id"] = ids.get(c["sha"])
    return commits


class Organizations:
    """Organization of an address on a day by the rules of METRICS.md, read from the sample's
    affiliation file and the shipped seed files (domain map, webmail domains)."""

    SECOND_LEVEL = {"co.jp", "co.uk", "com.cn", "ac.uk", "com.au", "co.in", "ne.jp", "or.jp"}

    def __init__(self, affiliations: Path, seeds: Path) -> None:
        self.rules = yaml.safe_load(affiliations.read_text())["affiliations"]
        with open(seeds / "domain_organizations.csv", newline="") as f:
            # (domain, organization, valid_from, valid_until): dated rows for companies sold
            self.domain_map = [
                (
                    r["registrable_domain"],
                    r["organization"],
                    r["valid_from"] or None,
                    r["valid_until"] or None,
                )
                for r in csv.DictReader(f)
            ]
        with open(seeds / "webmail_domains.csv") as f:
            self.webmail = {line.strip() for line in list(f)[1:] if line.strip()}

    def registrable(self, domain: str) -> str:
        labels = domain.split(".")
        n = 3 if ".".join(labels[-2:]) in self.SECOND_LEVEL else 2
        return ".".join(labels[-n:])

    def rule(self, address: str, day: date) -> tuple[str, str]:
        for rule in self.rules:
            if (
                rule.get("address") == address
                and (rule.get("from") is None or rule["from"] <= day)
                and (rule.get("until") is None or day <= rule["until"])
            ):
                return rule["organization"], "explicit_address"
        domain = address.rsplit("@", 1)[1]
        for suffix, org, start, end in sorted(self.domain_map, key=lambda row: -len(row[0])):
            if (domain == suffix or domain.endswith("." + suffix)) and (
                (start is None or date.fromisoformat(start) <= day)
                and (end is None or day <= date.fromisoformat(end))
            ):
                return org, "domain_map"
        if domain in self.webmail or self.registrable(domain) in self.webmail:
            return "(independent)", "webmail"
        return self.registrable(domain), "registrable_domain"

    def organization(self, address: str, day: date) -> str:
        return self.rule(address, day)[0]


def reach_half(counts: Counter) -> int | None:
    """Smallest number of the largest entries whose total reaches half of all."""
    total = sum(counts.values())
    if not total:
        return None
    running = 0
    for i, n in enumerate(sorted(counts.values(), reverse=True), start=1):
        running += n
        if running >= total / 2:
            return i
    return None


# -- correspondents, submitters and merged patches of any community config ------------------------
#
# A recount from a communities.yaml with git, yaml and the stdlib: used on the hand-built
# communities of tests/communities, each figure per (project, year) as METRICS.md defines it.

# test and CI robots of the target communities (METRICS.md, "Bots and lists")
ROBOT_ADDRESSES = frozenset(
    {
        "osstest-admin@xenproject.org",
        "lkp@intel.com",
        "lkft@linaro.org",
        "noreply@github.com",
        "pr-tracker-bot@kernel.org",
    }
)
_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+\.[^\s<>\"'(),;:@]+")
_OBFUSCATED_AT = re.compile(r"\s+(?:at|_at_)\s+", re.IGNORECASE)
_VIA = re.compile(r"\bvia\b", re.IGNORECASE)
EPOCH_CUTOFF = datetime(1985, 1, 1, tzinfo=UTC)


def address_in(value: str) -> str:
    """The address a header or trailer value holds: de-obfuscated, lower case, found wherever it
    sits (`Jane Doe jane.doe@example.com` has one); a value with none is kept trimmed as it is."""
    text = _OBFUSCATED_AT.sub("@", value.strip())
    found = _ADDRESS.search(text)
    return (found.group(0) if found else value.strip()).lower()


def _name_in(value: str) -> str:
    name, _addr = email.utils.parseaddr(value)
    return name.strip()


def list_addresses(configured: list[str]) -> set[str]:
    """A list's posting addresses with the -bounces, -owner and -request variants of each."""
    out = set()
    for addr in configured:
        local, _, domain = addr.lower().partition("@")
        out |= {f"{local}{suffix}@{domain}" for suffix in ("", "-bounces", "-owner", "-request")}
    return out


def is_counted_address(address: str, lists: set[str]) -> bool:
    return address not in ROBOT_ADDRESSES and address not in lists and not is_bot(address)


def effective_sender(msg, lists: set[str]) -> tuple[str, str] | None:
    """(name, address) of whoever really wrote a message: the From header, unless the list rewrote
    it (its own address in From, or `X via List` with the sender kept in Reply-To/X-Original-From),
    when the sender is taken from X-Original-From, else Reply-To; None when nothing recovers it."""
    raw_from = _decoded(msg.get("From"))
    name, address = _name_in(raw_from), address_in(raw_from)
    kept = [_decoded(msg.get(h)) for h in ("X-Original-From", "Reply-To") if msg.get(h)]
    if address in lists or (_VIA.search(name) and kept):
        for value in kept:
            recovered = address_in(value)
            if recovered not in lists and "@" in recovered:
                return _name_in(value), recovered
        return None
    return name, address


class MailmapPeople:
    """Person of a (name, address) pair under git's own `.mailmap` semantics (`git check-mailmap`),
    so a mapping that names a commit name applies only when name and address both match."""

    def __init__(self, mailmaps: list[Path], scratch: Path) -> None:
        self.mailmaps, self.scratch, self.cache = mailmaps, scratch, {}
        if mailmaps and not (scratch / ".git").exists():
            scratch.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "init", "-q", str(scratch)], check=True)

    def person(self, name: str, address: str) -> str:
        key = (name, address)
        if key not in self.cache:
            self.cache[key] = self._lookup(name, address)
        return self.cache[key]

    def _lookup(self, name: str, address: str) -> str:
        if not self.mailmaps or "@" not in address:
            return address
        for mailmap in self.mailmaps:
            out = subprocess.run(
                ["git", "-C", str(self.scratch), "-c", f"mailmap.file={mailmap}", "check-mailmap"]
                + [f"{name} <{address}>" if name else f"<{address}>"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            mapped = out[out.rindex("<") + 1 : out.rindex(">")].lower()
            if mapped != address:
                return mapped
        return address


def pathspecs(paths: list[str]) -> list[str]:
    """A config scope as git pathspecs: a directory glob needs git's glob magic for its files."""
    out = []
    for p in paths:
        if "*" in p:
            out.append(f":(glob){p}**" if p.endswith("/") else f":(glob){p}")
        else:
            out.append(p)
    return out


def _raw_commits(repo: Path, paths: list[str]) -> list[dict]:
    """Non-merge commits touching `paths` with the author exactly as the commit header holds it."""
    fmt = "%H%x1f%an%x1f%ae%x1f%at%x1f%ct"
    out = git(repo, "log", "--no-merges", f"--format={fmt}", "--", *pathspecs(paths))
    result = []
    for line in out.splitlines():
        sha, name, addr, at, ct = line.split("\x1f")
        result.append(
            {
                "sha": sha,
                "name": name,
                "address": address_in(addr),
                "authored": datetime.fromtimestamp(int(at), UTC),
                "committed": datetime.fromtimestamp(int(ct), UTC),
            }
        )
    return result


def whole_commit_patch_ids(repo: Path, shas: set[str]) -> set[str]:
    """`git patch-id --stable` of each commit's whole diff (scope or not, as METRICS.md says)."""
    diffs = git(repo, "log", "--no-merges", "-p", "--format=commit %H")
    out = subprocess.run(
        ["git", "-C", str(repo), "patch-id", "--stable"],
        input=diffs.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    return {pid for pid, sha in (line.split() for line in out.splitlines()) if sha in shas}


def mbox_messages(path: Path) -> list:
    """Every message of an mbox file, gzip-compressed or not, as `mailbox` splits it."""
    if path.suffix != ".gz":
        return list(mailbox.mbox(str(path)))
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / path.stem
        with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return list(mailbox.mbox(str(plain)))


def archive_messages(path: Path) -> list:
    """The distinct messages of an mbox: copies with the same Message-ID, From and Date are one."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for msg in mbox_messages(path):
        key = (msg.get("Message-ID", ""), _decoded(msg.get("From")), msg.get("Date", ""))
        if key[0] and key in seen:
            continue
        seen.add(key)
        out.append(msg)
    return out


def _is_patch(msg) -> bool:
    """A message carrying a diff that is neither a reply nor a cover letter."""
    subject = _decoded(msg.get("Subject"))
    if re.match(r"^\s*(\[[^\]]*\]\s*)*(re|fwd?|aw)\s*:", subject, re.IGNORECASE):
        return False
    tag = _PATCH_TAG.search(subject)
    counter = re.search(r"(\d+)/(\d+)", tag.group(1)) if tag else None
    if counter and int(counter.group(1)) == 0:
        return False
    return "\ndiff --git " in "\n" + _text(msg)


def _sent_at(msg) -> datetime:
    return email.utils.parsedate_to_datetime(msg["Date"]).astimezone(UTC)


def community_figures(config_path: Path) -> dict[tuple[str, int], dict[str, int]]:
    """(project, year) -> correspondents, submitters and patches_merged, recounted from the
    repositories and archives a communities.yaml names."""
    cfg = yaml.safe_load(config_path.read_text())
    base = config_path.parent

    def resolve(p: str) -> Path:
        q = Path(os.path.expanduser(p))
        return q if q.is_absolute() else base / q

    ids = cfg.get("identities") or {}
    people = MailmapPeople([resolve(p) for p in ids.get("mailmap") or []], base / ".independent-mailmap")
    figures: dict[tuple[str, int], dict[str, set]] = defaultdict(
        lambda: {"correspondents": set(), "submitters": set(), "patches_merged": set()}
    )
    for project, spec in cfg["projects"].items():
        period_date = spec.get("period_date") or cfg.get("period_date") or "author"
        commit_ids: set[str] = set()
        for rc in spec.get("repositories") or []:
            repo = resolve(rc["path"])
            in_scope = _raw_commits(repo, rc.get("paths") or [])
            commit_ids |= whole_commit_patch_ids(repo, {c["sha"] for c in in_scope})
            for c in in_scope:
                when = c["authored"] if period_date == "author" else c["committed"]
                if when < EPOCH_CUTOFF or not is_counted_address(c["address"], set()):
                    continue
                figures[(project, when.year)]["submitters"].add(people.person(c["name"], c["address"]))
        for ml in spec.get("mailing_lists") or []:
            lists = list_addresses(ml.get("addresses") or [])
            msgs = archive_messages(resolve(ml["path"]))
            patches = {}
            for i, msg in enumerate(msgs):
                year = _sent_at(msg).year
                sender = effective_sender(msg, lists)
                if sender and is_counted_address(sender[1], lists):
                    figures[(project, year)]["correspondents"].add(people.person(*sender))
                if _is_patch(msg):
                    patches[str(i)] = (year, msg.as_string())
            if patches and commit_ids:
                pids = patch_ids({k: text for k, (_, text) in patches.items()}, base)
                for key, (year, _) in patches.items():
                    if pids.get(key) in commit_ids:
                        figures[(project, year)]["patches_merged"].add(f"{ml['name']}/{key}")
    return {k: {name: len(members) for name, members in v.items()} for k, v in figures.items()}
