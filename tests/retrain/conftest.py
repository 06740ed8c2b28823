"""Fixtures for the retrain tests (the recipe and record writers live in retrain_helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrain_helpers import write_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("search") / "run")
