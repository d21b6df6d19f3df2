"""Hostile archives at full size: time and peak memory of reading each, in its own process.

    .venv/bin/python benchmarks/bench_hostile.py [--workdir DIR] [--keep]

Builds, in a temporary directory (or DIR):

- a plain mbox holding 2 small messages, one 512 MiB message and 2 small messages;
- a 4 GiB gzip bomb: the same layout, the big message 4 GiB of body, ~14 MB on disk (one 1 MiB
  gzip member repeated);
- a mail directory with a regular message, symlinks to /etc/passwd and /dev/zero, a FIFO and a
  directory symlink.

and runs each through `ingest_mailing_list` (what `commstats run` does for one list, default
limits: 64 MiB per message, 200x expansion over a 256 MiB floor, two parse workers) in a fresh
subprocess, reporting wall time, peak RSS above the process's baseline (ru_maxrss), and what was
loaded and quarantined. The same figures for the bare reader (`iter_mbox`, one process) follow,
and for the 512 MiB message read whole with the cap raised to 1 GiB (the buffer grows in linear
time: before, `buf += chunk` took 120 s and 1 GB here). Peak memory of `ingest` includes DuckDB
loading the rows (about 130 MiB for the 1-message maildir).

Measured (2 cores shared with other jobs):

    case                                                 how                   wall s  peak MiB  msgs  quarantined
    512 MiB message (plain mbox)                         ingest                  0.86     150.8     4  {'message_too_large': 1}
    512 MiB message (plain mbox)                         iter_mbox               0.12      71.0     4  ['message_too_large']
    512 MiB message (plain mbox)                         iter_mbox, 1 GiB cap    1.01    1031.0     5  []
    4 GiB gzip bomb (14.7 MB on disk)                    ingest                  1.02     151.3     2  {'decompression_bomb': 1, 'message_too_large': 1}
    4 GiB gzip bomb (14.7 MB on disk)                    iter_mbox               0.47      71.6     2  ['message_too_large', 'decompression_bomb']
    maildir: message, 2 file symlinks, FIFO, dir symlink ingest                  0.49     131.6     1  {'special_file': 1, 'symlink': 3}
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mail.hostile import message, write_gzip_bomb, write_mbox_with_big_message  # noqa: E402

_INGEST = """
import json, resource, sys, time
from pathlib import Path
from core.config import MailingListConfig
from extractors.mail.ingest import ingest_mailing_list
import duckdb
kind, path, wh = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.monotonic()
counts = ingest_mailing_list(wh, "bench", MailingListConfig(name="hostile", kind=kind, path=path), wh.parent)
seconds = time.monotonic() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
con = duckdb.connect(str(wh), read_only=True)
reasons = con.execute("select reason, count(*) from raw.mail_quarantine group by 1 order by 1").fetchall()
print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "messages": counts["mail_messages"],
                  "quarantined": dict(reasons)}))
"""

_READER = """
import json, resource, sys, time
from extractors.mail.limits import MailLimits
from extractors.mail.mbox import iter_mbox
from extractors.mail.raw import SourceProblem
limits = MailLimits(max_message_bytes=int(sys.argv[2])) if len(sys.argv) > 2 else MailLimits()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.monotonic()
messages, problems = 0, []
for m in iter_mbox(sys.argv[1], limits=limits):
    if isinstance(m, SourceProblem):
        problems.append(m.reason)
    else:
        messages += 1
seconds = time.monotonic() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "messages": messages, "quarantined": problems}))
"""


def _run(code: str, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=600, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _hostile_maildir(root: Path) -> None:
    root.mkdir()
    (root / "a-message").write_bytes(message(0).split(b"\n", 1)[1])
    (root / "b-passwd").symlink_to("/etc/passwd")
    (root / "c-zero").symlink_to("/dev/zero")
    os.mkfifo(root / "d-fifo")
    (root / "e-dir").symlink_to("/etc", target_is_directory=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the built archives")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-", dir=args.workdir))
    try:
        cases = []
        big = work / "big" / "2001-01.mbox"
        big.parent.mkdir()
        write_mbox_with_big_message(big, 512)
        cases.append(("512 MiB message (plain mbox)", "mbox", big))
        bomb = work / "bomb" / "2001-01.mbox.gz"
        bomb.parent.mkdir()
        write_gzip_bomb(bomb, 4096)
        cases.append((f"4 GiB gzip bomb ({bomb.stat().st_size / 1e6:.1f} MB on disk)", "mbox", bomb))
        md = work / "maildir"
        _hostile_maildir(md)
        cases.append(("maildir: message, 2 file symlinks, FIFO, dir symlink", "maildir", md))
        print(f"{'case':<52} {'how':<20} {'wall s':>7} {'peak MiB':>9} {'msgs':>5}  quarantined")
        for i, (label, kind, path) in enumerate(cases):
            wh = work / f"wh{i}" / "wh.duckdb"
            wh.parent.mkdir()
            runs = [("ingest", _run(_INGEST, kind, str(path), str(wh)))]
            if kind == "mbox":
                runs.append(("iter_mbox", _run(_READER, str(path))))
            if path == big:  # the whole message read and kept: the buffer grows in linear time
                runs.append(("iter_mbox, 1 GiB cap", _run(_READER, str(path), str(1 << 30))))
            for how, r in runs:
                print(
                    f"{label:<52} {how:<20} {r['seconds']:>7.2f} {r['peak_mib']:>9.1f} {r['messages']:>5}  "
                    f"{r['quarantined']}"
                )
    finally:
        if args.keep:
            print(f"archives kept in {work}")
        else:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
