"""Imported by every Python process of a UI test server (its directory is on PYTHONPATH there).

Dagster's backfill daemon sleeps a fixed 30 seconds between passes, so a backfill of five runs
spends most of its time asleep. With COMMSTATS_TEST_BACKFILL_SECONDS set, the daemon's loop waits
that many seconds instead: a faster clock; what each pass does is unchanged. Other processes only
pay for the check of one environment variable."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from types import ModuleType

_SECONDS = os.environ.get("COMMSTATS_TEST_BACKFILL_SECONDS")
_MODULE = "dagster._daemon.controller"


class _FasterDaemonClock(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            module.DEFAULT_DAEMON_INTERVAL_SECONDS = int(_SECONDS)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if _SECONDS:
    sys.meta_path.insert(0, _FasterDaemonClock())
