"""Shared fixtures: the generated sample (once per test process) and the corpus location."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    from commstats.sample import generate

    out = tmp_path_factory.mktemp("sample")
    generate(out)
    return out


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "mail").is_dir():
        pytest.skip(
            f"mail corpus not found at {CORPUS} (it sits beside the checkout on development machines)"
        )
    return CORPUS
