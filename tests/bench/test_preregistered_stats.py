"""The pre-registered test's statistic: the exact sign-flip p-value, and the power that sizes the test."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _preregistered_stats import pairs_needed, power, sign_flip_p_values, sign_flip_test  # noqa: E402


def test_the_sign_flip_p_value_counts_the_sign_patterns_at_least_as_extreme():
    # All three pairs favour the RNN: only the observed pattern of 8 is as extreme.
    assert sign_flip_test([-1.0, -2.0, -3.0])["p"] == pytest.approx(1 / 8)
    # Sum -1 of three unit differences: the patterns with sum -3 (1) or -1 (3) of 8.
    assert sign_flip_test([-1.0, -1.0, 1.0])["p"] == pytest.approx(4 / 8)
    assert sign_flip_test([1.0, 2.0, 3.0])["p"] == pytest.approx(1.0)
    assert sign_flip_test([-1.0, -2.0, -3.0], alternative="greater")["p"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 2"):
        sign_flip_test([-1.0])


def test_the_batched_p_values_of_the_power_simulation_are_scipys_exact_ones():
    samples = np.random.default_rng(3).normal(-0.3, 1.0, size=(20, 7))
    batched = sign_flip_p_values(samples)
    assert batched == pytest.approx([sign_flip_test(list(row))["p"] for row in samples])


def test_power_is_the_level_without_an_effect_and_grows_with_the_pairs_and_the_effect():
    assert power(10, 0.0, 1.0, draws=4000) <= 0.05 + 0.01
    assert power(8, -0.5, 1.0) < power(16, -0.5, 1.0) < power(24, -0.5, 1.0)
    assert power(12, -0.2, 1.0) < power(12, -0.8, 1.0)
    assert power(12, -0.8, 1.0) == power(12, -1.6, 2.0)  # only the effect in units of the spread matters


def test_the_test_is_sized_near_the_paired_t_tests_normal_approximation():
    # One-sided 5%, 80%: n = ((1.645 + 0.842) / 0.5)**2 = 24.7 for an effect of half a spread.
    sized = pairs_needed(-0.5, 1.0)
    assert 22 <= sized["pairs"] <= 30 and sized["power"] >= 0.8
    assert pairs_needed(-2.0, 1.0)["pairs"] == 8  # never fewer than the minimum
    with pytest.raises(ValueError, match="spread"):
        pairs_needed(-0.5, 0.0)
