"""Whether the parser's C modules must be here.

They are optional at install (setup.py): a machine without a working C compiler runs the Python
reference of each one. Where they are expected (COMMSTATS_REQUIRE_C=1, set by `make test` and CI) a
module that was not compiled fails every test that compares it with its reference; elsewhere those
tests skip, naming the module, and the references run alone.
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest

REQUIRE_ENV = "COMMSTATS_REQUIRE_C"


def required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def require(native: ModuleType | None, source: str) -> ModuleType:
    """`native` when it was compiled; else fails (C modules required) or skips the calling test."""
    if native is not None:
        return native
    if required():
        pytest.fail(
            f"{source} was not compiled and {REQUIRE_ENV}=1 expects it: "
            "run `pip install -e .` with a working C compiler",
            pytrace=False,
        )
    pytest.skip(f"{source} was not compiled here (no working C compiler at install); {REQUIRE_ENV} is not 1")
