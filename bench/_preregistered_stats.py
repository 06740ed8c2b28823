"""The pre-registered end-to-end test's statistic and its size: fixed before any of its data exist.

The test pairs the RNN's top-1 with random search's top-1 by search seed and takes the difference
of their retrained FIDs (``rnn - random``: negative favours the RNN).  Its statistic is the mean
difference, and its p-value the exact one-sided sign-flip test's (scipy's ``permutation_test``
over every sign pattern): under the null hypothesis that the controller does not matter, each
pair's difference is as likely to have either sign.  It assumes no distribution and no equal
variances, which the retrained FIDs of two searches need not have.

``pairs_needed`` sizes the test: the fewest pairs whose simulated power reaches the target, for
an effect and a spread of the paired difference measured before the test (never from its data).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

ALPHA = 0.05
POWER = 0.80
MIN_PAIRS = 8


def sign_flip_test(differences: list[float], alternative: str = "less") -> dict[str, float]:
    """The mean of ``differences`` and its exact one-sided sign-flip p-value (``less``: H1 mean < 0)."""
    values = np.asarray(differences, dtype=float)
    if values.size < 2:
        raise ValueError(f"a sign-flip test needs at least 2 differences, got {values.size}")
    result = stats.permutation_test((values,), np.mean, permutation_type="samples", alternative=alternative,
                                    n_resamples=math.inf, vectorized=True)
    return {"n": int(values.size), "mean": float(values.mean()), "std": float(values.std(ddof=1)),
            "p": float(result.pvalue)}


def _all_sign_patterns(n: int) -> np.ndarray:
    """Every sign pattern of ``n`` pairs, as a (2**n, n) array of +-1."""
    codes = np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n, dtype=np.int64)[None, :]
    return 1.0 - 2.0 * (codes & 1)


def sign_flip_p_values(samples: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """The one-sided (``less``) sign-flip p-value of each row of ``samples`` (draws, n), all at once.

    Exact over every sign pattern up to 14 pairs, as ``sign_flip_test``; above, from 4,096 random
    patterns (enough for a power estimate, not for a reported p-value).
    """
    n = samples.shape[1]
    signs = _all_sign_patterns(n) if n <= 14 else (rng or np.random.default_rng(0)).choice([-1.0, 1.0], size=(4096, n))
    observed = samples.mean(axis=1)  # (draws,)
    # |x| under every sign pattern is the null distribution of x's mean (x's own signs among them).
    null = np.abs(samples) @ signs.T / n  # (draws, patterns)
    return (null <= observed[:, None] + 1e-12 * np.abs(observed[:, None]).clip(min=1)).mean(axis=1)


def power(n: int, effect: float, spread: float, *, alpha: float = ALPHA, draws: int = 2000, seed: int = 0) -> float:
    """The chance that ``n`` pairs with mean difference ``effect`` (< 0 favours the RNN) and standard
    deviation ``spread`` give a one-sided sign-flip p below ``alpha``: simulated, normal differences."""
    rng = np.random.default_rng(seed)
    samples = rng.normal(effect, spread, size=(draws, n))
    return float((sign_flip_p_values(samples, rng) < alpha).mean())


def pairs_needed(effect: float, spread: float, *, alpha: float = ALPHA, target: float = POWER,
                 minimum: int = MIN_PAIRS, maximum: int = 40) -> dict[str, float]:
    """The fewest pairs (at least ``minimum``) whose power reaches ``target``; ``maximum`` and its power if none does."""
    if spread <= 0:
        raise ValueError(f"the paired difference's spread must be positive, got {spread}")
    for n in range(minimum, maximum + 1):
        achieved = power(n, effect, spread, alpha=alpha)
        if achieved >= target:
            return {"pairs": n, "power": achieved, "effect": effect, "spread": spread}
    return {"pairs": maximum, "power": power(maximum, effect, spread, alpha=alpha), "effect": effect, "spread": spread}
