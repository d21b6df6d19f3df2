"""Compile the parser's C modules with AddressSanitizer and UndefinedBehaviorSanitizer.

The modules go to their own directory (build/fuzz/ by default) under their usual file names, so the
normal install (core/, extractors/mail/) is untouched and the fuzz driver loads them by path. Python itself
is not instrumented: the ASan runtime must be the first library of the process, hence
`runtime_library()` for LD_PRELOAD.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = ("_patchid", "_scan", "_mbox")
# the package each module is installed in (setup.py)
PACKAGES = {"_patchid": "core", "_scan": "extractors.mail", "_mbox": "extractors.mail"}
SANITIZE = [
    "-fsanitize=address,undefined",
    # a UB report aborts (the default only prints and goes on), so the driver sees it
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
]


class BuildError(Exception):
    """The sanitizer build cannot be made here (no compiler, no sanitizer runtime)."""


def compiler() -> str:
    cc = os.environ.get("CC") or "gcc"
    if shutil.which(cc) is None:
        raise BuildError(f"fuzz: no C compiler `{cc}` on PATH (set CC to gcc or clang)")
    return cc


def runtime_library(cc: str | None = None) -> Path:
    """The compiler's shared ASan runtime, to preload into the uninstrumented Python."""
    cc = cc or compiler()
    for name in ("libasan.so", f"libclang_rt.asan-{os.uname().machine}.so"):
        out = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True)
        path = Path(out.stdout.strip())
        # an unknown library is echoed back as its bare name
        if out.returncode == 0 and path.is_absolute() and path.is_file():
            return path.resolve()
    raise BuildError(f"fuzz: `{cc}` has no shared AddressSanitizer runtime (libasan.so)")


def module_path(build_dir: Path, name: str) -> Path:
    return build_dir / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"


def source_of(name: str) -> Path:
    """The C source of module `name`, in its package's directory."""
    return REPO.joinpath(*PACKAGES[name].split(".")) / f"{name}.c"


def build(build_dir: Path, sources: Path | None = None) -> dict[str, Path]:
    """Compile the modules that are older than their source (in `sources`, else each in its
    package's directory); returns their paths by name."""
    cc = compiler()
    runtime_library(cc)
    build_dir.mkdir(parents=True, exist_ok=True)
    include = sysconfig.get_paths()["include"]
    built: dict[str, Path] = {}
    for name in MODULES:
        source = sources / f"{name}.c" if sources is not None else source_of(name)
        target = module_path(build_dir, name)
        if not target.is_file() or target.stat().st_mtime < source.stat().st_mtime:
            cmd = [cc, "-shared", "-fPIC", *SANITIZE, f"-I{include}", str(source), "-o", str(target)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise BuildError(f"fuzz: compiling {source.name} failed: {done.stderr.strip()[:2000]}")
        built[name] = target
    return built


if __name__ == "__main__":
    for name, path in build(REPO / "build" / "fuzz").items():
        print(f"{name}: {path}")
