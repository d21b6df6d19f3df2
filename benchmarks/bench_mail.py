"""Mail parsing speed: decompression floor vs stdlib mailbox vs our parser, each in its own process.

    .venv/bin/python benchmarks/bench_mail.py [ARCHIVE.mbox.gz] [--repeat N] [--baseline DIR]

Default archive: ../shared/corpus/mail/lore/kvm-ppc.vger.kernel.org.0.mbox.gz. Each approach
runs in a fresh subprocess so peak RSS (ru_maxrss) is its own; wall and CPU times are reported,
best of N runs by CPU time, the approaches taking turns so that load from other processes hits
them alike. The two-worker run counts the CPU time of its worker processes too.
`--baseline DIR` also times the parser of another checkout (e.g. an older commit exported with
`git archive`), for before/after figures from one run.

- floor: Python's gzip module reading the file in 1 MiB chunks, nothing else;
- floor, ISA-L: the same with `isal.igzip`, the decompressor the parser uses;
- stdlib: `mailbox.mbox` on the decompressed file (no decompression cost) reading the eleven header
  fields the parser reads;
- ours: iter_mbox + parse_message to table rows (deduplication included), one process: what
  ingestion does with `parse_workers: 1`;
- ours, 2 workers: the same rows from extractors.mail.parallel, what ingestion does by default on
  a 2-core machine (the parent decompresses and cuts 1 MiB blocks at separators into memory
  shared with two forked workers, which split, parse and build the rows; the parent
  deduplicates).

Only what the parse needs is imported in the measured process (imports happen before timing).
Targets: ours >= 5x faster than stdlib mailbox and <= 3x the decompression floor.

Measured on the default archive (2 cores, otherwise idle; best of 7 by CPU):

    approach                                      wall s best wall   cpu s  msg/s (cpu)  peak RSS MB
    gzip read in 1 MiB chunks (floor)               0.13      0.13    0.13       44,274         18.3
    isal.igzip read in 1 MiB chunks                 0.07      0.07    0.07       89,124         18.9
    stdlib mailbox.mbox, same 11 headers (raw file)  1.63      1.63    1.63        3,651         19.0
    iter_mbox + parse to rows (incl. dedup)         0.32      0.32    0.32       18,503         41.7
    same rows, 2 worker processes (cpu: all)        0.26      0.26    0.46       12,874         45.4

Two workers (the default) by best wall: stdlib/ours 6.3x (target >= 5x: met), ours/floor 1.9x
(target <= 3x: met). One process: stdlib/ours 5.1x, ours/floor 2.4x (both met). With other jobs
on the machine the two-worker wall time approaches its CPU time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import mailbox
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / ".." / "shared" / "corpus" / "mail" / "lore" / "kvm-ppc.vger.kernel.org.0.mbox.gz"


def _floor(path: str, opener: Any = gzip.open) -> int:
    n = 0
    with opener(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += len(chunk)
    return 0


def _floor_isal(path: str) -> int:
    from isal import igzip

    return _floor(path, igzip.open)


# The header fields the parser reads (extractors.mail.headers.WANTED).
HEADERS = (
    "From",
    "Date",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Received",
    "Reply-To",
    "X-Original-From",
)


def _stdlib(path: str) -> int:
    count = 0
    for msg in mailbox.mbox(path, create=False):
        for h in HEADERS:
            msg.get(h)
        count += 1
    return count


def _prepare_ours(root: str) -> None:
    # Imports (pydantic, the config models) happen before timing: they are start-up, not parsing.
    sys.path.insert(0, root)
    import core.config  # noqa: F401
    import extractors.mail.dedup  # noqa: F401


def _ours(path: str) -> int:
    from core.config import MailingListConfig
    from extractors.mail.dedup import iter_list_rows
    from extractors.mail.mbox import iter_mbox

    lst = MailingListConfig(name="bench", kind="mbox", path=path)
    count = 0
    for table, _row in iter_list_rows("bench", lst, iter_mbox(path)):
        if table == "mail_messages":
            count += 1
    return count


def _ours2(path: str) -> int:
    from extractors.mail.dedup import dedup_rows
    from extractors.mail.parallel import mbox_entries

    owner = {"project": "bench", "list_name": "bench"}
    count = 0
    for table, _row in dedup_rows(owner, mbox_entries(owner, [path], workers=2)):
        if table == "mail_messages":
            count += 1
    return count


MODES = {
    "floor": _floor,
    "floor_isal": _floor_isal,
    "stdlib": _stdlib,
    "ours": _ours,
    "baseline": _ours,
    "ours2": _ours2,
}


def _cpu(r: resource.struct_rusage) -> float:
    return r.ru_utime + r.ru_stime


def child(mode: str, path: str, root: str) -> None:
    if mode in ("ours", "baseline", "ours2"):
        _prepare_ours(root)
    if mode == "ours2":
        import extractors.mail.parallel  # noqa: F401
    r0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    messages = MODES[mode](path)
    wall = time.perf_counter() - t0
    r1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = _cpu(r1) - _cpu(r0) + _cpu(c1) - _cpu(c0)  # workers are reaped by the time the pool closes
    rss = max(r1.ru_maxrss, c1.ru_maxrss) / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "messages": messages, "peak_rss_mb": rss}))


def run_once(mode: str, path: Path, root: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(root)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout whose parser is timed too")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from extractors.mail.headers import WANTED

    assert {h.lower() for h in HEADERS} == WANTED, "the stdlib baseline must read the parser's headers"
    archive: Path = args.archive
    if not archive.is_file():
        sys.exit(f"archive not found: {archive}")
    repeat = args.repeat
    labels = {
        "floor": "gzip read in 1 MiB chunks (floor)",
        "floor_isal": "isal.igzip read in 1 MiB chunks",
        "stdlib": "stdlib mailbox.mbox, same 11 headers (raw file)",
    }
    if args.baseline:
        labels["baseline"] = f"baseline ({args.baseline.name}): parse to rows"
    labels["ours"] = "iter_mbox + parse to rows (incl. dedup)"
    labels["ours2"] = "same rows, 2 worker processes (cpu: all)"
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "archive.mbox"
        with gzip.open(archive, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        raw_size = plain.stat().st_size
        results: dict[str, dict[str, float]] = {}
        for _ in range(repeat):  # round robin: a burst of load from elsewhere hits every approach
            for key in labels:
                src_path = plain if key == "stdlib" else archive
                root = args.baseline if key == "baseline" else ROOT
                res = run_once(key, src_path, root)
                if key not in results or res["cpu"] < results[key]["cpu"]:
                    results[key] = res
                results[key]["best_wall"] = min(res["wall"], results[key].get("best_wall", res["wall"]))
    n = results["ours"]["messages"]
    print(
        f"archive: {archive.name} ({archive.stat().st_size / 1e6:.1f} MB gzip, {raw_size / 1e6:.1f} MB raw), "
        f"{n} messages; best of {repeat} runs by CPU time (wall of that run; best wall apart)"
    )
    print(
        f"{'approach':<44} {'wall s':>7} {'best wall':>9} {'cpu s':>7} {'msg/s (cpu)':>12} {'peak RSS MB':>12}"
    )
    for key, res in results.items():
        rate = n / res["cpu"] if res["cpu"] else float("inf")
        print(
            f"{labels[key]:<44} {res['wall']:>7.2f} {res['best_wall']:>9.2f} {res['cpu']:>7.2f} {rate:>12,.0f}"
            f" {res['peak_rss_mb']:>12.1f}"
        )
    std, floor = results["stdlib"], results["floor"]
    for key in ("baseline", "ours", "ours2"):
        if key not in results:
            continue
        r = results[key]
        print(
            f"{key:<8} stdlib/ours cpu {std['cpu'] / r['cpu']:.1f}x (target >= 5x), "
            f"ours/floor cpu {r['cpu'] / floor['cpu']:.1f}x (target <= 3x); "
            f"best wall: stdlib/ours {std['best_wall'] / r['best_wall']:.1f}x, "
            f"ours/floor {r['best_wall'] / floor['best_wall']:.1f}x "
            f"(ours/ISA-L floor {r['best_wall'] / results['floor_isal']['best_wall']:.1f}x)"
        )


def plain_size(archive: Path) -> int:
    with gzip.open(archive, "rb") as f:
        return sum(len(c) for c in iter(lambda: f.read(1 << 20), b""))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
