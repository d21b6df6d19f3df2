"""Expected values computed straight from the generated inputs, with git and the stdlib only.

Nothing here uses commstats code: commits and lines come from `git log`, identities from
`git check-mailmap`, mail from `mailbox.mbox` and `email.utils`.
"""

from __future__ import annotations

import email.utils
import mailbox
import os
import re
import subprocess
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
