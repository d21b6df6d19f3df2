"""communities.yaml parsing: typed values, relative paths, one-line errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_default_config_loads_with_paths_relative_to_the_file():
    cfg = load_config(REPO / "communities.yaml")
    assert set(cfg.projects) == {"vmcore", "kernel-virt"}
    assert cfg.warehouse == REPO / "data" / "warehouse.duckdb"
    repo = cfg.projects["kernel-virt"].repositories[0]
    assert repo.path == REPO / "data/sample/repos/minikernel.git"
    assert repo.paths == ["virt/", "arch/*/kvm/", "include/linux/kvm*.h"]
    assert cfg.identities.mailmap == [REPO / "data/sample/identities/mailmap"]


def test_environment_overrides_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSTATS_WAREHOUSE", str(tmp_path / "w.duckdb"))
    cfg = load_config(REPO / "communities.yaml")
    assert cfg.warehouse == tmp_path / "w.duckdb"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("projects: {}", "key 'projects': Dictionary should have at least 1 item"),
        (
            "projects:\n  x:\n    mailing_lists:\n      - name: l\n        kind: mbox\n",
            "key 'projects.x.mailing_lists.0': needs either 'path' or 'url'",
        ),
        (
            "projects:\n  x:\n    mailing_lists:\n      - name: l\n        kind: carrier-pigeon\n        path: a\n",
            "key 'projects.x.mailing_lists.0.kind': Input should be 'mbox', 'maildir'",
        ),
        (
            "projects:\n  x:\n    repositories:\n      - {name: r, path: a, url: b}\n",
            "key 'projects.x.repositories.0': needs exactly one of 'path' or 'url'",
        ),
        ("projects:\n  x:\n    since: yesterday\n", "key 'projects.x.since'"),
        ("warehous: a\nprojects:\n  x: {}\n", "key 'warehous': unknown key"),
        (
            "period_date: commit\nprojects:\n  x: {}\n",
            "key 'period_date': Input should be 'author' or 'committer'",
        ),
        ("projects: [a, b]\n", "key 'projects': Input should be a valid dictionary"),
        ("- just\n- a list\n", "expected a mapping at the top level, got list"),
        ("projects:\n  x: {\n", "not valid YAML at line"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")
