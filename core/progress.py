"""Progress of long extractions: Dagster log lines and, under `commstats run`, a live rich display.

The ingest assets create one `Progress` per source and hand it to the extractor as its callback.
Every report goes to the log function (a Dagster log line at most every `log_every_s` seconds,
plus a last line) and to the display registered by `commstats run`, when there is one. The display
is process-wide because `commstats run` executes the assets in its own process.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Protocol


class Display(Protocol):
    def update(self, label: str, unit: str, done: int, rate: float, finished: bool) -> None: ...


_display: Display | None = None


class Progress:
    """Callable given to an extractor: `progress(done)` with the number of items done so far."""

    def __init__(
        self,
        label: str,
        unit: str,
        log: Callable[[str], None],
        log_every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.unit, self._log, self._every, self._clock = label, unit, log, log_every_s, clock
        self.started = clock()
        self._last_log = self.started
        self.done = 0

    def elapsed(self) -> float:
        return self._clock() - self.started

    def rate(self) -> float:
        return self.done / max(self.elapsed(), 1e-6)

    def line(self) -> str:
        return f"{self.label}: {self.done:,} {self.unit} ({self.rate():,.0f} {self.unit}/s)"

    def __call__(self, done: int) -> None:
        self.done = done
        now = self._clock()
        if now - self._last_log >= self._every:
            self._last_log = now
            self._log(self.line())
        if _display is not None:
            _display.update(self.label, self.unit, done, self.rate(), False)

    def finish(self) -> None:
        self._log(self.line() + f" in {self.elapsed():,.1f} s")
        if _display is not None:
            _display.update(self.label, self.unit, self.done, self.rate(), True)


class RichDisplay:
    """One line per source: spinner, items done, rate, elapsed (stderr, only on a terminal)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = RichProgress(
            SpinnerColumn(finished_text="done"),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:>12,.0f} {task.fields[unit]}"),
            TextColumn("{task.fields[rate]:>10,.0f}/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._tasks: dict[str, int] = {}

    def update(self, label: str, unit: str, done: int, rate: float, finished: bool) -> None:
        task = self._tasks.get(label)
        if task is None:
            task = self._tasks[label] = self._progress.add_task(label, total=None, unit=unit, rate=0.0)
        self._progress.update(task, completed=done, rate=rate)
        if finished:
            self._progress.update(task, total=done)

    def __enter__(self) -> RichDisplay:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


@contextlib.contextmanager
def live_display(enabled: bool | None = None) -> Iterator[None]:
    """Show extraction progress on the terminal for the duration of the block."""
    global _display
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return
    with RichDisplay() as display:
        _display = display
        try:
            yield
        finally:
            _display = None
