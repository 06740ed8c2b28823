"""Per-architecture BatchNorm statistics for scoring a weight-shared supernet."""

import pytest
import torch
from torch import nn

from autogan.nn import batch_statistics, recalibrate_batch_norms, restore_running_statistics, running_statistics


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.BatchNorm2d(3))


def test_recalibration_gives_the_pooled_statistics_of_its_inputs_and_leaves_eval_mode():
    net = _net()
    first_norm = net[1]
    first_norm.running_mean.fill_(5.0)  # what other architectures left behind
    momentum = first_norm.momentum
    inputs = torch.randn(24, 2, 5, 5, generator=torch.Generator().manual_seed(1))
    batches = iter(inputs.split(8))  # three batches: an exponential average would favour the last
    recalibrate_batch_norms(net, lambda n: net(next(batches)[:n]), samples=24, batch_size=8)
    with torch.no_grad():
        activations = net[0](inputs)  # (24, 3, 5, 5)
    expected_mean = activations.mean(dim=(0, 2, 3))
    expected_var = activations.var(dim=(0, 2, 3), unbiased=False)
    assert torch.allclose(first_norm.running_mean, expected_mean, atol=1e-5)
    # PyTorch averages per-batch unbiased variances: close to, not exactly, the pooled variance.
    assert torch.allclose(first_norm.running_var, expected_var, rtol=0.05)
    assert not net.training and first_norm.momentum == momentum


def test_batch_statistics_normalise_by_the_batch_and_leave_running_statistics_alone():
    net = _net().eval()
    saved = running_statistics(net)
    x = torch.randn(8, 2, 4, 4, generator=torch.Generator().manual_seed(2))
    with torch.no_grad(), batch_statistics(net):
        inside = net(x)
    reference = _net().train()
    with torch.no_grad():
        assert torch.allclose(inside, reference(x), atol=1e-6)
    assert not any(m.training for m in net.modules())
    assert all(torch.equal(saved[k], v) for k, v in running_statistics(net).items())


def test_restore_puts_back_exactly_what_was_saved():
    net = _net()
    saved = running_statistics(net)
    net.train()
    net(torch.randn(4, 2, 4, 4))
    assert not torch.equal(saved["1.running_mean"], net[1].running_mean)
    restore_running_statistics(net, saved)
    assert all(torch.equal(saved[k], v) for k, v in running_statistics(net).items())


@pytest.mark.parametrize("mode", ["recalibrate", "batch", "running"])
def test_a_reward_does_not_depend_on_what_the_evaluator_scored_before(mode):
    from autogan.config import load_config
    from autogan.roles import RewardEvaluator, SupernetTrainer

    overrides = ["model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "search.reward_samples=40",
                 "search.reward_splits=2", "search.calibration_samples=16", "run.threads=1", f"search.reward_norm='{mode}'"]
    config = load_config("digits", overrides).to_dict()
    trainer = SupernetTrainer(config)
    space = trainer.space
    trainer.train(3, [space.sample(i) for i in range(6)])
    box = {"version": 1, "ref": trainer.weights()}
    first, second = space.sample(100), space.sample(101)

    def reward(evaluator, arch):
        return evaluator.score({"key": [0], "arch": str(arch), "seed": 7}, box)["reward"]

    alone = reward(RewardEvaluator(config), second)
    evaluator = RewardEvaluator(config)
    reward(evaluator, first)
    assert reward(evaluator, second) == alone
