"""Seeds derived from a run's seed, one independent stream per purpose."""

from __future__ import annotations

import enum

import numpy as np


class SeedPurpose(enum.IntEnum):
    """What a derived stream is for: the second part of every ``derived_seed`` key.

    The values are part of every record's reproducibility, so they never change or get reused; a
    new purpose takes a new number.  7 to 10 are unused.
    """

    # A search: the supernet's weights (and each dynamic reset's), its training batches, the
    # rewards' latents, the controller, the report's sample grids, BatchNorm recalibration.
    MODEL_INIT = 1
    TRAIN_STREAM = 2
    REWARD = 3
    CONTROLLER = 4
    SAMPLES = 5
    CALIBRATION = 6
    # A retrain: G's and D's initial weights, its training batches, its evaluations' latents, its grids.
    RETRAIN_G_INIT = 11
    RETRAIN_D_INIT = 12
    RETRAIN_STREAM = 13
    RETRAIN_EVAL = 14
    RETRAIN_GRID = 15


def derived_seed(*parts: int) -> int:
    """An independent 63-bit seed for each (run seed, purpose, stage, iteration, index) tuple."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> np.uint64(1))
