"""The fuzz driver: mutated messages through every C entry point, compared with the Python references.

Entry points and their references (the pairs tests/mail/test_scans.py and test_patch_id_walks.py
compare on fixed inputs):

- `_scan.header_fields(head, end)`      headers.common_fields
- `_scan.body_marks(buf, start)`        body.scan_body_regex (through body.scan_body)
- `_scan.canonical_date(value)`         dates.canonical_date_regex
- `_mbox.separators(buf, scan, ...)`    mbox.separators_py
- `_patchid.patch_id_parts(data, at)`   patchid._walk_patch_id

Every input goes through all five, with the offsets they take derived from the input itself, so a
saved input replays exactly (`python -m fuzz.parser --replay FILE`). Seeds are real messages of the
mail corpus beside the checkout when it is there, generated messages otherwise, and the handcrafted
quirks of the tests either way. Two engines: a seeded mutator of our own (`--engine builtin`, what
`make fuzz` runs), and atheris where it is installed (`--engine atheris`, the default then):
coverage-guided over the Python references, with the installed modules only, since under the
preloaded ASan runtime it loses its coverage hooks.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import random
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType, ModuleType

from core import patchid
from extractors.mail import body, dates, headers, mbox
from extractors.mail.mbox import FIELD_LINE, LOOSE_SEPARATOR, STRICT_SEPARATOR

REPO = Path(__file__).resolve().parents[1]
CORPUS_MAIL = REPO.parent / "shared" / "corpus" / "mail"
ENTRY_POINTS = ("header_fields", "body_marks", "canonical_date", "separators", "patch_id_parts")
MAX_INPUT = 1 << 16  # larger inputs only slow the references down; the C loops are per line
STATS_EVERY = 1.0  # seconds between two writes of the stats file


class Difference(Exception):
    """A C entry point returned something else than its Python reference."""

    def __init__(self, entry: str, detail: str) -> None:
        super().__init__(f"{entry}: {detail}")
        self.entry = entry


def load_modules(build_dir: Path | None) -> dict[str, ModuleType]:
    """The three C modules: the sanitizer build in `build_dir` (loaded by path, under their
    package names), or the installed ones when `build_dir` is None."""
    from fuzz.build import MODULES, PACKAGES, module_path

    if build_dir is None:
        try:
            return {name: importlib.import_module(f"{PACKAGES[name]}.{name}") for name in MODULES}
        except ImportError as error:  # optional at install (setup.py); the sanitizer build is not
            raise FileNotFoundError(
                f"fuzz: the C module {error.name} is not installed (no working C compiler at install): "
                "reinstall with one, or fuzz the sanitizer build (`make fuzz`)"
            ) from None
    loaded = {}
    for name in MODULES:
        path = module_path(build_dir, name)
        if not path.is_file():
            raise FileNotFoundError(f"fuzz: {path} is missing: run `python fuzz/build.py` first")
        loader = importlib.machinery.ExtensionFileLoader(f"{PACKAGES[name]}.{name}", str(path))
        spec = importlib.util.spec_from_file_location(f"{PACKAGES[name]}.{name}", path, loader=loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        loaded[name] = module
    return loaded


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _pick(data: bytes, salt: int, upper: int) -> int:
    """An offset in [0, upper] that depends only on the input, so a saved input replays."""
    return zlib.crc32(data, salt) % (upper + 1)


def _first_diff(data: bytes) -> int:
    if data.startswith(b"diff "):
        return 0
    i = data.find(b"\ndiff ")
    return i + 1 if i >= 0 else -1


@dataclass
class Targets:
    """Runs one input through every entry point; counts calls per entry point."""

    modules: dict[str, ModuleType]
    calls: Counter[str] = field(default_factory=Counter)

    def _same(self, entry: str, got: object, want: object, args: str) -> None:
        self.calls[entry] += 1
        if got != want:
            raise Difference(entry, f"C gave {got!r:.300} but Python gave {want!r:.300} for {args}")

    def check(self, data: bytes) -> None:
        scan, mb, pid = self.modules["_scan"], self.modules["_mbox"], self.modules["_patchid"]
        n = len(data)
        blank = data.find(b"\n\n")
        head_end = n if blank < 0 else blank + 1
        # headers: the block as the parser cuts it, the whole input, and an offset of the input's
        for end in sorted({head_end, n, _pick(data, 1, n)}):
            want = headers.common_fields(data, end)
            self._same("header_fields", scan.header_fields(data, end), want, f"end={end}")
        # bodies start at a newline: the blank line's, a newline put before the input, any other
        starts = [(b"\n" + data, 0)]
        if blank >= 0:
            starts.append((data, blank + 1))
        nl = data.find(b"\n", _pick(data, 2, n))
        if nl >= 0:
            starts.append((data, nl))
        saved = body._native
        try:
            for buf, start in starts:
                for want_pull in (True, False):
                    body._native = scan
                    got = body.scan_body(buf, start, _decode, want_pull)
                    body._native = None
                    want = body.scan_body_regex(buf, start, _decode, want_pull)
                    self._same("body_marks", got, want, f"start={start} want_pull={want_pull}")
        finally:
            body._native = saved
        # dates: the Date value when there is one, the first line, the input itself
        date = headers.common_fields(data, head_end).get("date")
        for value in {date or b"", data.split(b"\n", 1)[0], data[:80]}:
            self._same("canonical_date", scan.canonical_date(value), dates.canonical_date_regex(value), "")
        # separators: resumed anywhere after the current message start, at and before the end
        cur_start = _pick(data, 3, n)
        at = cur_start + _pick(data, 4, n - cur_start)
        for scan_at, cur in {(0, 0), (at, cur_start)}:
            for eof in (False, True):
                got = mb.separators(
                    data, scan_at, cur, eof, STRICT_SEPARATOR.match, LOOSE_SEPARATOR.match, FIELD_LINE.match
                )
                want = mbox.separators_py(data, scan_at, cur, eof)
                self._same("separators", got, want, f"scan={scan_at} cur_start={cur} eof={eof}")
        # patch id: the first patch of the input, summed as git patch-id --stable sums it
        first = _first_diff(data)
        parts = pid.patch_id_parts(data, first) if first >= 0 else None
        got_id = None if parts is None else patchid._sum_digests(parts)
        self._same("patch_id_parts", got_id, patchid._walk_patch_id(data), f"start={first}")


# ---- seeds ---------------------------------------------------------------------------------------


def generated_messages() -> Iterator[bytes]:
    """Messages of the shapes the parser meets, for a checkout without the corpus."""
    from tests.mail.helpers import mail
    from tests.mail.test_speedups import PATCH, _small_mbox

    yield _small_mbox()
    yield mail(subject="[PATCH v2 1/3] x: y", body=PATCH.decode())
    yield mail(subject="Re: [PATCH] z", body="> quoted\nAcked-by: A <a@x>\nReviewed-by: B <b@x>\n")
    yield mail(
        subject="[GIT PULL] fixes",
        body="The following changes since commit 0123456789abcdef0123456789abcdef01234567:\n\n"
        "are available in the Git repository at:\n\n  git://git.example.org/x.git tags/y\n",
    )
    yield b"From a@b Mon Jan  1 00:00:00 2001\n" + mail(date="29 Apr 2019 11:24:03 -0700")


def quirk_inputs() -> Iterator[bytes]:
    """The handcrafted quirks of the comparison tests."""
    from tests.mail import test_patch_id_walks, test_scans

    yield from test_scans.QUIRKS.values()
    yield from test_scans.DATES
    yield b"\n".join(test_scans.SEPARATOR_LINES) + b"\n"
    yield b"\n".join(test_scans.LINES) + b"\n"
    yield from test_patch_id_walks.QUIRKS.values()


def corpus_messages(root: Path, limit: int, per_file: int = 40) -> Iterator[bytes]:
    """Up to `limit` messages of the real corpus, a few from each file so every source kind shows."""
    from extractors.mail.mbox import iter_mbox
    from extractors.mail.raw import RawMessage

    index = root / "INDEX.csv"
    if not index.is_file():
        return
    rows = [r for r in csv.DictReader(index.open(encoding="utf-8")) if r["messages"]]
    given = 0
    for r in sorted(rows, key=lambda r: r["file"]):
        if r["file"].endswith(".zip"):
            continue
        taken = 0
        for item in iter_mbox(root / r["file"]):
            if isinstance(item, RawMessage):
                yield item.from_line + b"\n" + item.data if item.from_line else item.data
                taken += 1
                given += 1
                if taken >= per_file or given >= limit:
                    break
        if given >= limit:
            return


def seeds(corpus: Path | None = CORPUS_MAIL, limit: int = 2000) -> list[bytes]:
    found = list(corpus_messages(corpus, limit)) if corpus is not None else []
    if not found:
        found = list(generated_messages())
    found.extend(quirk_inputs())
    return [s[:MAX_INPUT] for s in found]


# ---- the built-in mutator ------------------------------------------------------------------------

TOKENS = [
    b"From ",
    b"\nFrom ",
    b"\n\nFrom a@b Mon Jan  1 00:00:00 2001\n",
    b">From ",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\0",
    b" ",
    b"\t",
    b":",
    b"@@ -1,2 +1,2 @@",
    b"@@ -",
    b" +",
    b",",
    b"diff --git a/x b/x\n",
    b"diff ",
    b"--- a/x\n",
    b"+++ b/x\n",
    b"index 1234567..89abcde 100644\n",
    b"GIT binary patch\n",
    b"Binary files a and b differ\n",
    b"\\ No newline at end of file\n",
    b"commit " + b"a" * 40 + b"\n",
    b"-- \n",
    b"Signed-off-by: A <a@x>\n",
    b"Reviewed-By :B\n",
    b"The following changes since commit ",
    b"Date: Mon, 29 Apr 2019 11:24:03 +1000\n",
    b"Subject: ",
    b"Message-ID: <a@b>\n",
    b"\n\t",
    b"99999999999999999999",
    b"4294967296",
    b"2147483648",
    b"-1",
    b"0",
    b"+1400",
    b"23:59:60",
    b"Feb",
    b"\xff\xfe",
]


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """1 to 8 random edits: byte flips, token insertions and replacements, deletions,
    duplications, truncation and splicing with another seed."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        n = len(buf)
        at = rng.randint(0, n)
        op = rng.randrange(9)
        if op == 0 and n:
            buf[min(at, n - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            buf[min(at, n - 1)] = rng.randrange(256)
        elif op in (2, 3):
            buf[at:at] = rng.choice(TOKENS)
        elif op == 4:
            token = rng.choice(TOKENS)
            buf[at : at + len(token)] = token
        elif op == 5 and n:
            del buf[at : at + rng.randint(1, 64)]
        elif op == 6 and n:
            piece = buf[at : at + rng.randint(1, 256)]
            where = rng.randint(0, n)
            buf[where:where] = piece
        elif op == 7:
            del buf[rng.randint(0, n) :]
        else:
            other = rng.choice(pool)
            cut = rng.randint(0, len(other))
            buf[at:] = other[cut:]
    return bytes(buf[:MAX_INPUT])


# ---- running -------------------------------------------------------------------------------------


@dataclass
class Run:
    """What a run did, written to the stats file while it goes and read by the supervisor."""

    engine: str
    seed: int
    seconds: float = 0.0
    inputs: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    failure: str | None = None
    saved: str | None = None


def save_input(out_dir: Path, kind: str, data: bytes) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{kind}-{hashlib.sha1(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return path


class Recorder:
    """Keeps the input under test in a file before each call, so that the supervisor still has it
    when a sanitizer aborts the process, and the stats file current."""

    def __init__(self, out_dir: Path, run: Run, targets: Targets) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.current = os.open(out_dir / "current-input.bin", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self.stats = out_dir / "stats.json"
        self.run, self.targets, self.out_dir = run, targets, out_dir
        self.started = time.monotonic()
        self.next_write = 0.0

    def before(self, data: bytes) -> None:
        os.ftruncate(self.current, 0)
        os.pwrite(self.current, data, 0)

    def after(self) -> None:
        self.run.inputs += 1
        now = time.monotonic()
        if now >= self.next_write:
            self.write(now)
            self.next_write = now + STATS_EVERY

    def write(self, now: float | None = None) -> None:
        self.run.seconds = round((now or time.monotonic()) - self.started, 3)
        self.run.calls = dict(self.targets.calls)
        tmp = self.stats.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.run.__dict__))
        tmp.replace(self.stats)

    def fail(self, data: bytes, error: Difference) -> Path:
        path = save_input(self.out_dir, f"difference-{error.entry}", data)
        self.run.failure, self.run.saved = str(error), str(path)
        self.write()
        return path


def run_builtin(targets: Targets, pool: list[bytes], seconds: float, seed: int, recorder: Recorder) -> Run:
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    # the seeds themselves first, then mutants of them
    queue: Iterator[bytes] = iter(pool)
    while time.monotonic() < deadline:
        data = next(queue, None)
        if data is None:
            data = mutate(rng, rng.choice(pool), pool)
        recorder.before(data)
        try:
            targets.check(data)
        except Difference as error:
            recorder.fail(data, error)
            return recorder.run
        recorder.after()
    recorder.write()
    return recorder.run


def _escaped(token: bytes) -> str:
    """A libFuzzer dictionary entry's body: every byte as \\xNN."""
    return "".join(f"\\x{b:02x}" for b in token)


def run_atheris(targets: Targets, pool: list[bytes], seconds: float, seed: int, recorder: Recorder) -> Run:
    """libFuzzer through atheris: coverage of the Python references guides the mutations; it saves
    a failing input itself (-artifact_prefix) and stops the process, so the stats file and the
    saved input are written before the failure is raised."""
    import atheris

    seed_dir = recorder.out_dir / "seeds"
    seed_dir.mkdir(exist_ok=True)
    for s in pool:
        (seed_dir / hashlib.sha1(s).hexdigest()).write_bytes(s)
    tokens = recorder.out_dir / "tokens.dict"
    tokens.write_text("".join(f'"{_escaped(t)}"\n' for t in TOKENS))

    def one(data: bytes) -> None:
        recorder.before(data)
        try:
            targets.check(data)
        except Difference as error:
            path = recorder.fail(data, error)
            print(f"fuzz: {error.entry} differs from its Python reference on input {path}", flush=True)
            raise
        recorder.after()

    args = [
        sys.argv[0],
        f"-seed={seed}",
        f"-max_total_time={max(1, int(seconds))}",
        f"-max_len={MAX_INPUT}",
        "-timeout=20",
        "-rss_limit_mb=4096",
        f"-dict={tokens}",
        f"-artifact_prefix={recorder.out_dir}/",
        "-print_final_stats=1",
        str(seed_dir),
    ]
    for module in (headers, body, dates, mbox, patchid):
        for value in vars(module).values():
            if isinstance(value, FunctionType) and value.__module__ == module.__name__:
                atheris.instrument_func(value)
    atheris.Setup(args, one)
    atheris.Fuzz()  # does not return: libFuzzer exits the process at the end of the time
    raise AssertionError("unreachable")


ENGINES: dict[str, Callable[[Targets, list[bytes], float, int, Recorder], Run]] = {
    "builtin": run_builtin,
    "atheris": run_atheris,
}


def choose_engine(asked: str) -> str:
    if asked != "auto":
        return asked
    try:
        import atheris  # noqa: F401
    except ImportError:
        return "builtin"
    return "atheris"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, help="the sanitizer build's directory (default: installed modules)")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "fuzz" / "out")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--engine", choices=["auto", *ENGINES], default="auto")
    ap.add_argument("--corpus", type=Path, default=CORPUS_MAIL)
    ap.add_argument("--supervised", action="store_true", help="leave the failure line to python -m fuzz")
    ap.add_argument("--replay", type=Path, help="run one saved input through every entry point")
    a = ap.parse_args(argv)
    try:
        targets = Targets(load_modules(a.build))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    if a.replay is not None:
        try:
            targets.check(a.replay.read_bytes())
        except Difference as error:
            print(f"fuzz: {a.replay}: {error}")
            return 1
        print(f"fuzz: {a.replay}: every entry point agrees with its Python reference")
        return 0
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    engine = choose_engine(a.engine)
    pool = seeds(a.corpus if a.corpus.is_dir() else None)
    print(f"fuzz: engine {engine}, seed {seed}, {len(pool)} seed inputs, {a.seconds:g} s", flush=True)
    run = Run(engine=engine, seed=seed)
    result = ENGINES[engine](targets, pool, a.seconds, seed, Recorder(a.out, run, targets))
    if result.failure is not None:
        if not a.supervised:
            entry = result.failure.split(":", 1)[0]
            print(f"fuzz: {entry} differs from its Python reference on input {result.saved}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
