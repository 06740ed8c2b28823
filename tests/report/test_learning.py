"""The per-stage "did the policy learn?" verdict, on synthetic record rows."""

from __future__ import annotations

import pytest

from autogan.learning import StageLearning, stage_learning


def _rows(stage, entropies, rewards_per_iteration):
    """Policy iteration rows and their evaluations: one iteration per entry of ``rewards_per_iteration``."""
    iterations, evaluations = [], []
    for iteration, (entropy, rewards) in enumerate(zip(entropies, rewards_per_iteration)):
        iterations.append({"stage": stage, "iteration": iteration, "phase": "policy", "entropy": entropy,
                           "reward_mean": sum(rewards) / len(rewards)})
        evaluations += [{"stage": stage, "iteration": iteration, "kind": "policy", "reward": r} for r in rewards]
    return iterations, evaluations


def test_entropy_fell_and_reward_rose_beyond_its_noise_is_learned():
    iterations, evaluations = _rows(1, [9.0, 8.0, 7.0], [[1.9, 2.0, 2.1], [2.2, 2.3, 2.4], [2.9, 3.0, 3.1]])
    (stage,) = stage_learning(iterations, evaluations)
    assert stage.reward_noise == pytest.approx(2 * (0.01 / 3 + 0.01 / 3) ** 0.5)
    assert stage.verdict == "learned"
    assert stage.describe().endswith(": learned")


def test_entropy_fell_but_reward_stayed_within_its_noise_is_flat():
    # Issue 24's stage 1: 1.99 -> 1.98 while the entropy fell 23%.
    iterations, evaluations = _rows(1, [10.0, 7.7], [[1.5, 1.99, 2.48], [1.6, 1.98, 2.36]])
    (stage,) = stage_learning(iterations, evaluations)
    assert stage.entropy_drop == pytest.approx(0.23)
    assert stage.verdict == "flat"


def test_a_rise_smaller_than_the_noise_is_flat_but_larger_is_learned():
    spread = [[1.0, 2.0, 3.0], [1.3, 2.3, 3.3]]  # +0.3, noise 2 * sqrt(1/3 + 1/3) ~ 1.63
    iterations, evaluations = _rows(2, [9.0, 8.0], spread)
    (noisy,) = stage_learning(iterations, evaluations)
    assert noisy.reward_rise == pytest.approx(0.3) and noisy.verdict == "flat"
    tight = [[1.99, 2.0, 2.01], [2.29, 2.3, 2.31]]
    iterations, evaluations = _rows(2, [9.0, 8.0], tight)
    (clear,) = stage_learning(iterations, evaluations)
    assert clear.reward_rise == pytest.approx(0.3) and clear.verdict == "learned"


def test_entropy_that_fell_less_than_ten_percent_is_exploring_even_if_reward_rose():
    iterations, evaluations = _rows(3, [9.0, 8.5], [[2.0, 2.0, 2.1], [3.0, 3.0, 3.1]])
    (stage,) = stage_learning(iterations, evaluations)
    assert stage.verdict == "exploring"


@pytest.mark.parametrize(
    "row, verdict",
    [
        (StageLearning(1, 1, 9.0, 9.0, 2.0, 2.0), "n/a"),  # one iteration: nothing to compare
        (StageLearning(1, 5, None, None, 2.0, 3.0), "n/a"),  # a random controller has no entropy
        (StageLearning(1, 5, 9.0, 7.0, None, None), "n/a"),
        (StageLearning(1, 5, 9.0, 7.0, 2.0, 2.5), "learned"),  # noise unknown: any rise counts
        (StageLearning(1, 5, 9.0, 7.0, 2.0, 1.9), "flat"),
    ],
)
def test_verdicts_where_something_is_missing(row, verdict):
    assert row.verdict == verdict
    assert row.to_dict()["verdict"] == verdict


def test_without_evaluations_the_noise_is_unknown():
    iterations, _ = _rows(1, [9.0, 7.0], [[1.0, 2.0], [2.0, 3.0]])
    (stage,) = stage_learning(iterations)
    assert stage.reward_noise is None and stage.verdict == "learned"
