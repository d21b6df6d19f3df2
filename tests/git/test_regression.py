"""Regression guard for the extraction's output: the rows for a generated repository are fixed.

The repository is built in the test from a seeded generator (edits, additions, deletions,
renames with and without edits, a binary file, a mode change, a merge, trailers of every shape),
so its commits and therefore its rows are the same on every run. The digest pins the rows as
they were when the extraction was last verified against git (tests/git/test_against_git.py):
a speed-up that changes any value fails here, and workers=1 and workers=2 must agree.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from tests.git.conftest import Git, init_repo
from tests.git.helpers import extract

# sha256 of the canonical rows of the generated repository (see _digest)
EXPECTED_DIGEST = "a3155497ca66e082952cad5e8689c614d28ec95fd4432e8ff0651c94248aa3f1"

_WORDS = ["kvm", "vcpu", "mmu", "page", "fault", "guest", "host", "irq", "timer", "lock", "ring"]


def _line(rng: random.Random) -> str:
    a, b, c = rng.choice(_WORDS), rng.choice(_WORDS), rng.choice(_WORDS)
    k = rng.random()
    if k < 0.15:
        return ""
    if k < 0.3:
        return f"\t/* {a} {b} */"
    if k < 0.45:
        return f"\tif ({a}_{b} > {rng.randrange(100)})"
    if k < 0.55:
        return "\t}"
    return f"\t\t{a}->{b} = {c}({a}, {rng.randrange(1000)});"


def _message(rng: random.Random, n: int) -> str:
    subject = f"{rng.choice(_WORDS)}: change {n}"
    body = " ".join(rng.choices(_WORDS, k=12))
    shape = n % 6
    if shape == 0:
        return f"{subject}\n"
    if shape == 1:
        return f"{subject}\n\n{body}\n\nSigned-off-by: Dev {n} <dev{n}@example.com>\n"
    if shape == 2:
        return (
            f"{subject}\n\n{body}\n\nReported-by: Jane Doe jane.doe@example.com\n"
            f'Acked-by: "Last, First" <LF@Example.org>\nSigned-off-by: Dev <dev@example.com>\n'
        )
    if shape == 3:
        # not a trailer block: prose with a colon
        return f"{subject}\n\n{body}\n\nNote: this is prose\nand more prose here\n"
    if shape == 4:
        return f"{subject}\n\n{body}\n\nCc: <stable@vger.kernel.org> # 5.10\nLink: https://x.example/{n}\n"
    return (
        f'{subject}\n\n{body}\nFixes: 0123456789ab ("old")\n    continued value\nSigned-off-by: A <a@b.c>\n'
    )


def build_fixed(path: Path, home: Path, commits: int = 60, seed: int = 7) -> Git:
    rng = random.Random(seed)
    g = init_repo(path, home)
    files: dict[str, list[str]] = {
        f"{d}/f{i}.c": [_line(rng) for _ in range(rng.randint(20, 60))]
        for i, d in enumerate(["virt/kvm", "arch/x86/kvm", "mm", "drivers/net"] * 2)
    }

    def flush(name: str, lines: list[str]) -> None:
        g.write(name, "\n".join(lines) + "\n")

    for name, lines in files.items():
        flush(name, lines)
    g.commit("initial import\n")
    for n in range(1, commits):
        r = rng.random()
        paths = sorted(files)
        if n == 20:
            g.write("fw/blob.bin", bytes(rng.randrange(256) for _ in range(3000)) + b"\0")
        elif n == 30:
            (path / paths[0]).chmod(0o755)
        elif r < 0.1 and len(files) > 4:
            old = rng.choice(paths)
            new = f"{rng.choice(['virt/kvm', 'mm', 'fs'])}/moved{n}.c"
            lines = files.pop(old)
            if rng.random() < 0.5:
                lines[rng.randrange(len(lines))] = _line(rng)
            files[new] = lines
            (path / old).unlink()
            flush(new, lines)
        elif r < 0.15:
            name = f"arch/arm64/kvm/new{n}.c"
            files[name] = [_line(rng) for _ in range(rng.randint(5, 30))]
            flush(name, files[name])
        elif r < 0.18 and len(files) > 4:
            victim = rng.choice(paths)
            files.pop(victim)
            (path / victim).unlink()
        else:
            for name in sorted(set(rng.choices(paths, k=rng.randint(1, 3)))):
                lines = files[name]
                for _ in range(rng.randint(1, 3)):
                    at = rng.randrange(len(lines) + 1)
                    op = rng.random()
                    if op < 0.4 and lines:
                        lines[min(at, len(lines) - 1)] = _line(rng)
                    elif op < 0.8:
                        lines[at:at] = [_line(rng) for _ in range(rng.randint(1, 6))]
                    else:
                        del lines[at : at + rng.randint(1, 4)]
                flush(name, lines)
        g.commit(_message(rng, n))
        if n == 40:
            # a side branch merged back with --no-ff
            g("checkout", "-q", "-b", "side", "HEAD~3")
            g.write("virt/kvm/side.c", "int side(void);\n")
            g.commit("side: add\n\nSigned-off-by: S <s@example.com>\n")
            g("checkout", "-q", "main")
            g.clock += 3600
            d = f"@{g.clock} +0200"
            env = {"GIT_AUTHOR_DATE": d, "GIT_COMMITTER_DATE": d}
            g("merge", "-q", "--no-ff", "-m", "Merge side", "side", env=env)
    return g


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> Git:
    base = tmp_path_factory.mktemp("fixed")
    return build_fixed(base / "repo", base / "home")


def _canonical(tables: dict[str, list[dict]]) -> list[str]:
    out = []
    for table, rows in tables.items():
        for r in rows:
            out.append(table + "\t" + "\t".join(f"{k}={r[k]!r}" for k in sorted(r)))
    return sorted(out)


def _digest(tables: dict[str, list[dict]]) -> str:
    return hashlib.sha256("\n".join(_canonical(tables)).encode()).hexdigest()


def test_workers_agree_and_rows_are_unchanged(fixed: Git) -> None:
    one = extract(fixed.path, workers=1)
    two = extract(fixed.path, workers=2)
    assert _canonical(one) == _canonical(two)
    assert len(one["git_commits"]) == 62 and one["git_file_changes"] and one["git_trailers"]
    assert _digest(one) == EXPECTED_DIGEST


def test_scoped_workers_agree(fixed: Git) -> None:
    scope = ["virt/", "arch/*/kvm/"]
    one = extract(fixed.path, paths=scope, workers=1)
    two = extract(fixed.path, paths=scope, workers=2)
    assert one["git_commits"] and _canonical(one) == _canonical(two)
