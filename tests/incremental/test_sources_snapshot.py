"""The snapshot of the sources that lets a run with nothing new end before Dagster starts: it
changes with anything a source could give, and is withheld where only reading the source tells."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_config
from orchestration.buildstate import SOURCES_FILE, last_sources_snapshot, sources_snapshot

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "A",
    "GIT_AUTHOR_EMAIL": "a@example.org",
    "GIT_COMMITTER_NAME": "A",
    "GIT_COMMITTER_EMAIL": "a@example.org",
}


def git(*args: str | Path) -> None:
    subprocess.run(["git", *map(str, args)], check=True, capture_output=True, env=GIT_ENV)


def commit(repo: Path, name: str) -> None:
    (repo / name).write_text(name)
    git("-C", repo, "add", name)
    git("-C", repo, "commit", "-q", "-m", name)


def write_config(root: Path, extra_list: str = "") -> Path:
    config = root / "communities.yaml"
    config.write_text(
        "warehouse: warehouse.duckdb\n"
        "projects:\n"
        "  p:\n"
        "    mailing_lists:\n"
        "      - {name: inbox, kind: public-inbox, path: inbox}\n"
        "      - {name: box, kind: mbox, path: box.mbox}\n"
        "      - {name: dir, kind: maildir, path: maildir}\n" + extra_list + "    repositories:\n"
        "      - {name: repo, path: repo, branch: master}\n"
    )
    return config


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    git("init", "-q", "-b", "master", repo)
    commit(repo, "a")
    epoch = tmp_path / "inbox" / "git" / "0.git"
    work = tmp_path / "inbox-work"
    git("init", "-q", "-b", "master", work)
    commit(work, "m")
    git("clone", "-q", "--bare", work, epoch)
    (tmp_path / "box.mbox").write_text("From a@example.org Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n")
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "maildir" / sub).mkdir(parents=True)
    (tmp_path / "maildir" / "cur" / "1").write_text("Subject: y\n\nbody\n")
    write_config(tmp_path)
    return tmp_path


def snapshot(root: Path) -> str | None:
    return sources_snapshot(load_config(root / "communities.yaml"))


def test_snapshot_is_stable_and_follows_every_source(sources: Path) -> None:
    first = snapshot(sources)
    assert first is not None and first == snapshot(sources)
    seen = {first}

    def changed() -> None:
        now = snapshot(sources)
        assert now is not None and now not in seen
        seen.add(now)

    commit(sources / "repo", "b")  # a new commit in the repository
    changed()
    git("-C", sources / "repo", "branch", "topic")  # a new branch (the extractor reads one; any ref counts)
    changed()
    commit(sources / "inbox-work", "n")  # a new message in the public-inbox epoch
    git("-C", sources / "inbox-work", "push", "-q", sources / "inbox" / "git" / "0.git", "master")
    changed()
    shutil.copytree(sources / "inbox" / "git" / "0.git", sources / "inbox" / "git" / "1.git")  # a new epoch
    changed()
    with (sources / "box.mbox").open("a") as f:  # a message appended to the mbox
        f.write("From b@example.org Mon Jan  1 00:00:00 2024\nSubject: z\n\nbody\n")
    changed()
    (sources / "maildir" / "new" / "2").write_text("Subject: w\n\nbody\n")  # a new maildir file
    changed()
    config = sources / "communities.yaml"
    config.write_text(config.read_text() + "period_date: committer\n")  # the config itself
    changed()


@pytest.mark.parametrize(
    "extra",
    [
        "      - {name: web, kind: http-archive, url: 'https://example.org/{yyyy}-{mm}.txt'}\n",
        "      - {name: news, kind: nntp, url: 'nntp://news.example.org/g'}\n",
        "      - {name: again, kind: public-inbox, path: inbox, options: {full_refresh: true}}\n",
        "      - {name: gone, kind: mbox, path: missing.mbox}\n",
    ],
)
def test_no_snapshot_where_only_reading_tells(sources: Path, extra: str) -> None:
    write_config(sources, extra)
    assert snapshot(sources) is None


def test_no_snapshot_for_a_repository_that_is_not_one(sources: Path) -> None:
    shutil.rmtree(sources / "repo" / ".git")
    assert snapshot(sources) is None


@pytest.mark.slow
@pytest.mark.xdist_group("e2e")
def test_run_with_no_source_changed_ends_before_dagster(pipeline_run: dict, tmp_path: Path) -> None:
    # a copy of the shared run's warehouse, published copy and instance (its record and snapshot)
    src: Path = pipeline_run["tmp"]
    for name in ("warehouse.duckdb", "warehouse.published.duckdb"):
        shutil.copyfile(src / name, tmp_path / name)
    shutil.copytree(src / "dagster-home", tmp_path / "dagster-home")
    assert last_sources_snapshot(tmp_path / "dagster-home") is not None
    config = pipeline_run["sample"] / "communities.yaml"
    cmd = [sys.executable, "-X", "importtime", "-m", "commstats.cli", "run", "--config", str(config)]
    cmd += ["--warehouse", str(tmp_path / "warehouse.duckdb")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "nothing new since the last build" in proc.stdout
    assert "(no source changed)" in proc.stdout
    assert "marts.community_health" in proc.stdout  # the summary of what the warehouse holds
    imported = [
        line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")
    ]
    assert "duckdb" in imported
    assert not [m for m in imported if m.split(".")[0] in ("dagster", "dagster_dbt", "dbt")]
    # without the stored snapshot the run takes its usual path: the sources run through Dagster
    (tmp_path / "dagster-home" / SOURCES_FILE).unlink()
    proc = subprocess.run(cmd[:1] + cmd[3:], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "nothing new since the last build" in proc.stdout  # the raw rows did not change
    assert "(no source changed)" not in proc.stdout
    # and it stores the snapshot again, for the next run
    assert last_sources_snapshot(tmp_path / "dagster-home") is not None
