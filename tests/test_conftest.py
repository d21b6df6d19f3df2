"""The suite's own set-up: a fixture built once for all workers, and the slow modules started first."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SLOW_FIRST, built_once, pytest_collection_modifyitems


def _build_slowly(folder: Path) -> None:
    time.sleep(0.5)  # long enough for the other process to reach the lock meanwhile
    with (folder.parent / "builds.txt").open("a") as f:
        f.write(f"{folder.name}\n")
    (folder / "made").write_text("ok")


def _use(root: str) -> None:
    folder = built_once(Path(root), "thing", _build_slowly)
    assert (folder / "made").read_text() == "ok"


def test_two_processes_asking_at_once_build_once(tmp_path: Path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_use, args=(str(tmp_path),)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert (tmp_path / "builds.txt").read_text() == "thing\n"


def test_a_failed_build_is_tried_again(tmp_path: Path):
    def fail(folder: Path) -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        built_once(tmp_path, "thing", fail)
    assert (built_once(tmp_path, "thing", _build_slowly) / "made").read_text() == "ok"
    assert built_once(tmp_path, "thing", fail) == tmp_path / "thing"  # built: not asked again


def test_every_slow_module_exists():
    assert [p for p in SLOW_FIRST if not (REPO / p).is_file()] == []


class _Item:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid


def test_slow_modules_come_first_in_their_order_and_each_module_keeps_its_own():
    ids = [
        "tests/a.py::t1",
        f"{SLOW_FIRST[1]}::x1",
        "tests/a.py::t2",
        f"{SLOW_FIRST[0]}::y1",
        f"{SLOW_FIRST[1]}::x2",
        f"{SLOW_FIRST[0]}::y2",
    ]
    items = [_Item(i) for i in ids]
    pytest_collection_modifyitems(None, items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [ids[3], ids[5], ids[1], ids[4], ids[0], ids[2]]
