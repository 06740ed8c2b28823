"""The reward evaluator under ``search.reward_bf16``: float32 on the CPU unless asked, bf16 networks when asked."""

from __future__ import annotations

import pytest
import torch

from autogan.search import RewardEvaluator, SupernetTrainer


@pytest.fixture(scope="module")
def scored(tiny_overrides_for):
    """The reward of one architecture under each setting, with the images behind it."""
    from autogan.config import load_config

    def config(setting: str) -> dict:
        return load_config("digits", tiny_overrides_for(f"search.reward_bf16={setting}", "search.reward_samples=200")).to_dict()

    trainer = SupernetTrainer(config("auto"))
    box = {"version": 1, "ref": trainer.weights()}
    arch = str(trainer.space.sample(3))
    found = {}
    for setting in ("auto", "false", "true"):
        evaluator = RewardEvaluator(config(setting))
        reward = evaluator.score({"key": [0], "arch": arch, "seed": 7}, box)
        found[setting] = (evaluator, reward, evaluator.sample_images(arch, 8, 7, box))
    return found


def test_auto_on_the_cpu_is_float32_to_the_bit(scored):
    evaluator, reward, images = scored["auto"]
    assert not evaluator.bf16 and not evaluator.extractor.bf16
    assert reward["reward"] == scored["false"][1]["reward"]
    assert torch.equal(images, scored["false"][2])


def test_true_runs_generator_and_extractor_in_bf16_close_to_float32(scored):
    evaluator, reward, images = scored["true"]
    assert evaluator.bf16 and evaluator.extractor.bf16
    assert images.dtype == torch.float32
    assert not torch.equal(images, scored["false"][2])  # the generator did run in bf16
    assert reward["error"] is None
    float32 = scored["false"][1]["reward"]
    assert abs(reward["reward"] - float32) / float32 < 0.02
