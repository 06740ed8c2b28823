"""Rewards compare like with like: one comparison's architectures are scored on common random numbers."""

import pytest

from autogan.config import load_config
from autogan.search import RunDirectory
from autogan.search._scoring import ArchitectureScorer
from workers import ActorPool
from workers._backend import InProcessBackend


@pytest.fixture(scope="module")
def scoring(tiny_overrides_for, tmp_path_factory):
    """An ArchitectureScorer on one real in-process evaluator, with a supernet trained a few steps."""
    from autogan.search import RewardEvaluator, SupernetTrainer

    config = load_config("digits", tiny_overrides_for())
    trainer = SupernetTrainer(config.to_dict())
    trainer.train(2, [trainer.space.sample(i) for i in range(6)])
    backend = InProcessBackend()
    evaluator = backend.actor(RewardEvaluator, config.to_dict())
    record = RunDirectory.create(tmp_path_factory.mktemp("crn") / "run", config)
    scorer = ArchitectureScorer(record, ActorPool(backend, [evaluator]), seed=0, on_submitted=lambda: None)
    return trainer.space, scorer, {"version": 1, "ref": trainer.weights()}


def test_the_same_architecture_twice_in_one_comparison_gets_the_same_reward(scoring):
    space, scorer, box = scoring
    a, b = space.sample(1), space.sample(2)
    rows = scorer.score(2, 0, "policy", [a, b, a], box)
    # Same latents and calibration latents for every architecture of the comparison: the only
    # difference left between two rows is the architecture's.
    assert rows[0]["reward"] == rows[2]["reward"]
    assert rows[0]["reward"] != rows[1]["reward"]


def test_replicates_draw_anew_and_each_replicate_is_common_to_all(scoring):
    space, scorer, box = scoring
    a, b = space.sample(3), space.sample(4)
    rows = scorer.score(2, 1, "rescore", [a, a, b, b, a], box, replicates=[0, 1, 0, 1, 1])
    assert rows[0]["reward"] != rows[1]["reward"]  # another seed of the same architecture
    assert rows[1]["reward"] == rows[4]["reward"]  # replicate 1 again: the same draw
    again = scorer.score(2, 2, "beam", [a, b], box)
    assert again[0]["reward"] != rows[0]["reward"]  # another comparison, other latents


def test_the_evaluator_draws_its_latents_on_its_own_device(tiny_overrides_for, monkeypatch):
    """No host-to-device copy per batch: every latent comes from a generator on the evaluator's device.

    On a machine without CUDA both are the CPU, so this holds the structure in place rather than
    catching a copy; on CUDA a CPU-drawn z would be a blocking copy per batch.
    """
    import torch

    from autogan.search import RewardEvaluator, SupernetTrainer

    config = load_config("digits", tiny_overrides_for())
    trainer = SupernetTrainer(config.to_dict())
    evaluator = RewardEvaluator(config.to_dict())
    draws = []
    real_randn = torch.randn

    def spying_randn(*args, generator=None, device=None, **kwargs):
        draws.append((generator.device if generator is not None else None, device))
        return real_randn(*args, generator=generator, device=device, **kwargs)

    monkeypatch.setattr(torch, "randn", spying_randn)
    row = evaluator.score({"key": [2, 0, "policy", 0], "arch": str(trainer.space.sample(0)), "seed": 1},
                          {"version": 0, "ref": trainer.weights()})
    assert row["error"] is None and draws
    assert all(g == evaluator.device and torch.device(d) == evaluator.device for g, d in draws), draws
