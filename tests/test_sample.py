"""The sample generator: facts about its output, checked with git and the stdlib, not with our code."""

from __future__ import annotations

import json
import mailbox
import re
import subprocess
from pathlib import Path

import pytest

from commstats.sample import generate

REPOS = ("vmcore", "minikernel")
LISTS = ("vmcore-devel", "kvm")


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, text=True, check=True
    ).stdout


def patch_ids(text: str) -> list[str]:
    out = subprocess.run(
        ["git", "patch-id", "--stable"], input=text, capture_output=True, text=True, check=True
    ).stdout
    return [line.split()[0] for line in out.splitlines()]


@pytest.fixture(scope="module")
def sample(sample_dir: Path) -> tuple[Path, dict]:
    """The session's sample (generated once for every module) and the summary it wrote."""
    return sample_dir, json.loads((sample_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample2")
    # Files that are not the generator's must survive; its own stale outputs are replaced.
    (out / "keep.txt").write_text("not ours")
    (out / "mail").mkdir()
    (out / "mail" / "other.mbox").write_text("x")
    (out / "mail" / "kvm.mbox").write_text("stale")
    return out, generate(out)


def test_layout(sample: tuple[Path, dict]) -> None:
    out, _ = sample
    for rel in [
        "repos/vmcore.git",
        "repos/minikernel.git",
        "mail/vmcore-devel.mbox",
        "mail/kvm.mbox",
        "identities/mailmap",
        "identities/aliases.yaml",
        "identities/affiliations.yaml",
        "communities.yaml",
        "manifest.json",
    ]:
        assert (out / rel).exists(), rel


def test_deterministic(sample: tuple[Path, dict], second: tuple[Path, dict]) -> None:
    a, b = sample[0], second[0]
    for repo in REPOS:
        shas_a = git(a / "repos" / f"{repo}.git", "log", "--format=%H")
        assert shas_a == git(b / "repos" / f"{repo}.git", "log", "--format=%H")
    for name in LISTS:
        assert (a / "mail" / f"{name}.mbox").read_bytes() == (b / "mail" / f"{name}.mbox").read_bytes()
    assert (b / "keep.txt").read_text() == "not ours"
    assert (b / "mail" / "other.mbox").read_text() == "x"


def test_repositories_are_sound(sample: tuple[Path, dict]) -> None:
    out, summary = sample
    for repo in REPOS:
        path = out / "repos" / f"{repo}.git"
        assert git(path, "rev-parse", "--is-bare-repository").strip() == "true"
        assert git(path, "symbolic-ref", "HEAD").strip() == "refs/heads/master"
        fsck = subprocess.run(["git", "-C", str(path), "fsck", "--strict"], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stderr
        assert "error" not in fsck.stderr.lower() and "dangling" not in fsck.stdout
        count = len(git(path, "log", "--oneline").splitlines())
        assert count == summary["counts"]["commits"][repo]
        years = set(git(path, "log", "--format=%ad", "--date=format:%Y").split())
        assert years == {str(y) for y in range(2019, 2025)}
    assert 1000 <= summary["counts"]["commits"]["vmcore"] <= 1500
    assert 1700 <= summary["counts"]["commits"]["minikernel"] <= 2400


def test_mbox_counts_match_manifest(sample: tuple[Path, dict]) -> None:
    out, summary = sample
    for name in LISTS:
        box = mailbox.mbox(str(out / "mail" / f"{name}.mbox"))
        assert len(box) == summary["counts"]["messages"][name]
        assert len(box) >= 2000
        years = {m.get_from().split()[-1] for m in box}
        assert years >= {str(y) for y in range(2019, 2025)}


def test_mail_patch_matches_commit_patch_id(sample: tuple[Path, dict]) -> None:
    out, _ = sample
    for repo, name in zip(REPOS, LISTS, strict=True):
        log = git(out / "repos" / f"{repo}.git", "log", "--no-merges", "-p", "--format=commit %H")
        commit_ids = set(patch_ids(log))
        box = mailbox.mbox(str(out / "mail" / f"{name}.mbox"))
        matched = 0
        for message in box:
            body = message.get_payload(decode=True).decode("utf-8")
            if "\ndiff --git " in body and not message["Subject"].startswith("Re:"):
                ids = patch_ids(body)
                matched += bool(ids and ids[0] in commit_ids)
                if matched >= 5:
                    break
        assert matched >= 5, repo


def test_path_filter_matters(sample: tuple[Path, dict]) -> None:
    repo = sample[0] / "repos" / "minikernel.git"
    total = len(git(repo, "log", "--format=%H").split())
    scoped = len(
        git(repo, "log", "--format=%H", "--", "virt/", "arch/*/kvm/", "include/linux/kvm*.h").split()
    )
    assert 0.2 * total < scoped < 0.8 * total
    globbed = len(
        git(
            repo,
            "log",
            "--format=%H",
            "--",
            ":(glob)virt/**",
            ":(glob)arch/*/kvm/**",
            ":(glob)include/linux/kvm*.h",
        ).split()
    )
    assert 0.2 * total < globbed < 0.8 * total
    # arch/x86/mm is next to arch/x86/kvm but out of scope; some commits touch only it.
    x86mm_only = 0
    for block in git(repo, "log", "--no-merges", "--format=@%H", "--name-only").split("@")[1:]:
        files = [f for f in block.splitlines()[1:] if f]
        x86mm_only += bool(files) and all(f.startswith("arch/x86/mm/") for f in files)
    assert x86mm_only >= 3


def test_two_acks_in_one_commit(sample: tuple[Path, dict]) -> None:
    for repo in REPOS:
        bodies = git(sample[0] / "repos" / f"{repo}.git", "log", "--format=%B%x00").split("\x00")
        assert any(len(re.findall(r"^Acked-by: ", b, re.M)) >= 2 for b in bodies)


def test_rename_and_binary_detected(sample: tuple[Path, dict]) -> None:
    for repo in REPOS:
        path = sample[0] / "repos" / f"{repo}.git"
        status = git(path, "log", "-M", "--name-status", "--format=")
        assert re.search(r"^R\d+\t", status, re.M)
        numstat = git(path, "log", "--numstat", "--format=")
        assert re.search(r"^-\t-\t", numstat, re.M)


def test_merges_and_dates(sample: tuple[Path, dict]) -> None:
    for repo in REPOS:
        path = sample[0] / "repos" / f"{repo}.git"
        assert len(git(path, "log", "--merges", "--format=%H").split()) >= 3
        rows = [
            line.split("|")
            for line in git(path, "log", "--format=%ae|%ce|%ad|%cd", "--date=iso-strict").splitlines()
        ]
        assert sum(a != c for a, c, _, _ in rows) > len(rows) / 2
        assert any(ad[:4] != cd[:4] for _, _, ad, cd in rows)
        assert len({ad[-6:] for _, _, ad, _ in rows}) >= 5


def test_mail_edge_cases(sample: tuple[Path, dict]) -> None:
    out, _ = sample
    raw = (out / "mail" / "vmcore-devel.mbox").read_bytes()
    assert b"=?UTF-8?q?Ren=C3=A9_Dupont?=" in raw
    assert b'From: "Doe, Jane" <' in raw
    assert b"\n>From " in raw + (out / "mail" / "kvm.mbox").read_bytes()
    box = mailbox.mbox(str(out / "mail" / "vmcore-devel.mbox"))
    ids = [m["Message-ID"] for m in box]
    assert None in ids
    assert len(ids) - len(set(ids)) >= 3
    senders = {m["From"] for m in box}
    assert any("patchwork-bot+vmcore@kernel.org" in s for s in senders)
    assert any("following changes since commit" in m.get_payload(decode=True).decode() for m in box)
