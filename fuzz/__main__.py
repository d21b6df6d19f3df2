"""`make fuzz`: build the sanitizer modules, run the driver under the sanitizer runtime, report.

Settings come from the environment: FUZZ_SECONDS (default 60), FUZZ_SEED (default random, printed),
FUZZ_ENGINE (auto, atheris or builtin), FUZZ_OUT (default build/fuzz/out, where a failing input is
saved). Exit status 0 when every input agreed and no sanitizer spoke, 1 otherwise, 2 when the
sanitizer build cannot be made here.
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


def summary(stats: dict) -> str:
    seconds = max(stats.get("seconds") or 0.0, 1e-9)
    calls = stats.get("calls") or {}
    per_entry = ", ".join(f"{e} {calls.get(e, 0)}" for e in ENTRY_POINTS)
    return (
        f"fuzz: {stats['inputs']} inputs in {seconds:.0f} s ({stats['inputs'] / seconds:.0f}/s) "
        f"with engine {stats['engine']}, seed {stats['seed']}; calls per entry point: {per_entry}"
    )


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
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "fuzz.parser", "--build", str(build_dir), "--out", str(out)]
    cmd += ["--seconds", str(seconds), "--engine", os.environ.get("FUZZ_ENGINE") or "auto"]
    if os.environ.get("FUZZ_SEED"):
        cmd += ["--seed", os.environ["FUZZ_SEED"]]
    print(f"fuzz: sanitizer build in {build_dir}, runtime {runtime}", flush=True)
    child = subprocess.run(cmd, cwd=REPO, env=sanitizer_env(runtime))
    stats_file = out / "stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.is_file() else None
    if stats is not None:
        print(summary(stats))
    if stats is not None and stats.get("failure"):
        print(f"fuzz: {stats['failure'].split(':', 1)[0]} differs from its Python reference on input {stats['saved']}")
        return 1
    if child.returncode != 0:
        current = out / "current-input.bin"
        saved = save_input(out, "crash", current.read_bytes()) if current.is_file() else None
        print(f"fuzz: the sanitizer build failed (exit status {child.returncode}, report above) on input {saved}")
        return 1
    if stats is None or stats["inputs"] == 0:
        print("fuzz: the driver ran no input")
        return 1
    print("fuzz: no difference and no sanitizer report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
