"""The fuzz driver of `make fuzz` (fuzz/): it exercises every C entry point, and a difference from a
Python reference is reported with the input saved, so it would catch one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from core import patchid
from extractors.mail import dates, headers, mbox
from fuzz import parser
from fuzz.build import REPO, BuildError, compiler, runtime_library
from tests.c_modules import require

SECONDS = 4
# every input goes through each entry point at least once; a few seconds of the slowest machine
# that runs the suite still gets through hundreds of inputs
LEAST_INPUTS = 300


def sanitizer_runtime() -> Path:
    try:
        return runtime_library(compiler())
    except BuildError as error:
        pytest.skip(f"no sanitizer runtime, so no sanitizer build to fuzz: {error}")


def installed_modules() -> dict[str, ModuleType]:
    # optional at install (setup.py): without them only the sanitizer build can be fuzzed
    for module, source in (
        (headers, "extractors/mail/_scan.c"),
        (mbox, "extractors/mail/_mbox.c"),
        (patchid, "core/_patchid.c"),
    ):
        require(module._native, source)
    return parser.load_modules(None)


def test_the_sanitizer_build_runs_every_entry_point_without_a_difference(tmp_path: Path) -> None:
    sanitizer_runtime()
    out = tmp_path / "out"
    env = {**os.environ, "FUZZ_SECONDS": str(SECONDS), "FUZZ_SEED": "20261205", "FUZZ_OUT": str(out)}
    done = subprocess.run(
        [sys.executable, "-m", "fuzz"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fuzz: no difference and no sanitizer report" in done.stdout
    stats = json.loads((out / "stats.json").read_text())
    assert stats["seed"] == 20261205 and stats["engine"] == "builtin"
    assert stats["failure"] is None
    assert stats["inputs"] > LEAST_INPUTS
    assert set(stats["calls"]) == set(parser.ENTRY_POINTS)
    assert all(stats["calls"][e] >= stats["inputs"] for e in parser.ENTRY_POINTS), stats["calls"]


def test_a_broken_reference_is_reported_with_its_input_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reference that is wrong about every date in 2019: the C module now "differs" from it, and
    # the driver must stop at the first such input, name the entry point and keep the input.
    real = dates.canonical_date_regex

    def wrong_in_2019(raw: bytes):  # type: ignore[no-untyped-def]
        dt = real(raw)
        return dt.replace(second=(dt.second + 1) % 60) if dt is not None and dt.year == 2019 else dt

    monkeypatch.setattr(dates, "canonical_date_regex", wrong_in_2019)
    targets = parser.Targets(installed_modules())
    pool = [b"Date: Mon, 1 Jan 2018 00:00:00 +0000\n\nbody\n"] * 3 + [
        b"Subject: s\nDate: Mon, 29 Apr 2019 11:24:03 +1000\n\nbody\n"
    ]
    run = parser.Run(engine="builtin", seed=7)
    out = tmp_path / "out"
    result = parser.run_builtin(targets, pool, 30.0, 7, parser.Recorder(out, run, targets))

    assert result.failure is not None and result.failure.startswith("canonical_date: C gave")
    assert result.inputs == 3  # the three inputs of 2018 agreed; the fourth did not
    saved = Path(result.saved or "")
    assert saved.parent == out and saved.name.startswith("difference-canonical_date-")
    assert saved.read_bytes() == pool[3]
    # the saved input replays to the same difference, and agrees once the reference is right again
    assert parser.main(["--replay", str(saved)]) == 1
    monkeypatch.setattr(dates, "canonical_date_regex", real)
    assert parser.main(["--replay", str(saved)]) == 0


def test_generated_seeds_stand_in_for_a_missing_corpus(tmp_path: Path) -> None:
    pool = parser.seeds(tmp_path / "no-corpus-here")
    # the generated messages and the tests' quirks: patches, trailers, dates, separators
    assert len(pool) > 60
    assert any(b"\ndiff --git " in s for s in pool) and any(b"\nFrom jdoe" in s for s in pool)
    targets = parser.Targets(installed_modules())
    for s in pool:
        targets.check(s)
    assert all(targets.calls[e] >= len(pool) for e in parser.ENTRY_POINTS)


def test_a_memory_error_in_a_module_is_reported_with_its_input_saved(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # _scan.c with one bounds check moved after the read it guards: body_marks then compares 11
    # bytes at every line starting with `d`, past the end of the buffer where such a line is the
    # last and short. Its results stay the same, so only the sanitizer sees it, and the run must
    # stop there and keep that input.
    sanitizer_runtime()
    from fuzz.__main__ import supervise
    from fuzz.build import build, source_of

    sources = tmp_path / "src"
    sources.mkdir()
    for name in ("_patchid.c", "_scan.c", "_mbox.c"):
        text = source_of(name.removesuffix(".c")).read_text()
        if name == "_scan.c":
            check = 'len >= 12 && memcmp(s, "diff --git ", 11) == 0'
            assert text.count(check) == 1
            text = text.replace(check, 'memcmp(s, "diff --git ", 11) == 0 && len >= 12')
        (sources / name).write_text(text)
    build(tmp_path / "build", sources)
    out = tmp_path / "out"
    assert supervise(tmp_path / "build", out, 60.0, "1") == 1
    printed = capfd.readouterr()
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in printed.err
    assert "in body_marks" in printed.err
    last = printed.out.strip().splitlines()[-1]
    assert last.startswith("fuzz: the sanitizer build failed (exit status 86, report above) on input ")
    saved = Path(last.rsplit(" ", 1)[1])
    assert saved.parent == out and saved.name.startswith("crash-")
    # the input that crashed the loosened module is one the real module handles
    assert parser.main(["--replay", str(saved)]) == 0
