"""`make fuzz`: build the sanitizer modules, run the driver under the sanitizer runtime, report.

Settings come from the environment: FUZZ_SECONDS (default 60), FUZZ_SEED (default random, printed),
FUZZ_OUT (default build/fuzz/out, where a failing input is saved); FUZZ_REPLAY=PATH runs one saved
input through the sanitizer build instead. Exit status 0 when every input
agreed and no sanitizer spoke, 1 otherwise, 2 when the sanitizer build cannot be made here.

The engine is the driver's own seeded mutator. atheris (`python -m fuzz.parser --engine atheris`,
installed modules) is coverage-guided over the Python references, but not under the sanitizers:
the ASan runtime preloaded ahead of it takes libFuzzer's coverage hooks, so it would mutate blind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fuzz.build import REPO, BuildError, build, compiler, runtime_library
from fuzz.parser import ENTRY_POINTS, save_input


def sanitizer_env(runtime: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Python is not instrumented: the ASan runtime must come first, and Python's own allocator
    # must step aside so that every bytes object handed to C sits between ASan's redzones
    env["LD_PRELOAD"] = " ".join(filter(None, [str(runtime), env.get("LD_PRELOAD", "")]))
    env["PYTHONMALLOC"] = "malloc"
    # leaks: the interpreter keeps its objects to the end by design, so leak reports are noise
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:exitcode=86:print_summary=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=87"
    return env


GRACE = 180  # seconds past FUZZ_SECONDS for loading seeds and finishing the input under test


def summary(stats: dict) -> str:
    seconds = max(stats.get("seconds") or 0.0, 1e-9)
    calls = stats.get("calls") or {}
    per_entry = ", ".join(f"{e} {calls.get(e, 0)}" for e in ENTRY_POINTS)
    return (
        f"fuzz: {stats['inputs']} inputs in {seconds:.0f} s ({stats['inputs'] / seconds:.0f}/s) "
        f"with engine {stats['engine']}, seed {stats['seed']}; calls per entry point: {per_entry}"
    )


def supervise(build_dir: Path, out: Path, seconds: float, seed: str | None) -> int:
    """Runs the driver on the sanitizer build in `build_dir` under the sanitizer runtime; prints
    the summary and, on failure, one line naming the saved input."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "fuzz.parser", "--build", str(build_dir), "--out", str(out)]
    cmd += ["--seconds", str(seconds), "--engine", "builtin", "--supervised"]
    if seed:
        cmd += ["--seed", seed]
    try:
        # an input the references take minutes over is a finding too; never outlive the budget much
        child = subprocess.run(cmd, cwd=REPO, env=sanitizer_env(runtime_library()), timeout=seconds + GRACE)
    except subprocess.TimeoutExpired:
        saved = save_input(out, "slow", (out / "current-input.bin").read_bytes())
        print(f"fuzz: the driver was still running {GRACE} s past its time, on input {saved}")
        return 1
    stats_file = out / "stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.is_file() else None
    if stats is not None:
        print(summary(stats))
    if stats is not None and stats.get("failure"):
        entry = stats["failure"].split(":", 1)[0]
        print(f"fuzz: {entry} differs from its Python reference on input {stats['saved']}")
        return 1
    if child.returncode != 0 and (stats is None or stats["inputs"] == 0):
        print(f"fuzz: the driver failed before its first input (exit status {child.returncode}, see above)")
        return 1
    if child.returncode != 0:
        current = out / "current-input.bin"
        saved = save_input(out, "crash", current.read_bytes())
        status = child.returncode
        print(f"fuzz: the sanitizer build failed (exit status {status}, report above) on input {saved}")
        return 1
    if stats is None or stats["inputs"] == 0:
        print("fuzz: the driver ran no input")
        return 1
    print("fuzz: no difference and no sanitizer report")
    return 0


def main() -> int:
    seconds = float(os.environ.get("FUZZ_SECONDS") or 60)
    out = Path(os.environ.get("FUZZ_OUT") or REPO / "build" / "fuzz" / "out")
    build_dir = REPO / "build" / "fuzz"
    try:
        runtime = runtime_library(compiler())
        build(build_dir)
    except BuildError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"fuzz: sanitizer build in {build_dir}, runtime {runtime}", flush=True)
    replay = os.environ.get("FUZZ_REPLAY")
    if replay:
        cmd = [sys.executable, "-m", "fuzz.parser", "--build", str(build_dir), "--replay", replay]
        status = subprocess.run(cmd, cwd=REPO, env=sanitizer_env(runtime)).returncode
        if status not in (0, 1):
            print(f"fuzz: {replay}: the sanitizer build failed (exit status {status}, report above)")
        return 0 if status == 0 else 1
    return supervise(build_dir, out, seconds, os.environ.get("FUZZ_SEED"))


if __name__ == "__main__":
    sys.exit(main())
