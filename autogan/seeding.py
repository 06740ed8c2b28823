"""Seeds derived from a run's seed, one independent stream per purpose."""

from __future__ import annotations

import numpy as np


def derived_seed(*parts: int) -> int:
    """An independent 63-bit seed for each (run seed, purpose, stage, iteration, index) tuple."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> np.uint64(1))
