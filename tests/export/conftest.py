"""Fixtures for the export tests: tiny real retrains on the built-in digits (a few G steps each)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "retrain"))

from retrain_helpers import TINY  # noqa: E402

SHORT = [*TINY, "train.g_steps=4", "eval.every=4", "eval.samples=100", "eval.at_start=false", "eval.score_raw=false"]


def _retrain(out: Path, *extra: str) -> Path:
    from search_spaces import AUTOGAN_TOP1

    from autogan.retrain import retrain
    from autogan.config import load_retrain_config

    result = retrain(load_retrain_config("digits", [*SHORT, *extra]), AUTOGAN_TOP1, out, progress=False)
    return result.final_checkpoint


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """``latest.pt`` of a real 4-G-step retrain of AutoGAN's top-1 cell, scored at its last step."""
    return _retrain(tmp_path_factory.mktemp("retrain") / "top1")


@pytest.fixture(scope="session")
def spectral_checkpoint(tmp_path_factory) -> Path:
    """The same with spectral norm on every G layer, which an export folds into the weights."""
    return _retrain(tmp_path_factory.mktemp("retrain") / "top1-sn", "model.g_spectral_norm=true")
