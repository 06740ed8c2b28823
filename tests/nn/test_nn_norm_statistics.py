"""Per-architecture BatchNorm statistics for scoring a weight-shared supernet."""

import pytest
import torch
from torch import nn

from autogan.nn import (
    SupernetGenerator,
    batch_statistics,
    recalibrate_batch_norms,
    restore_running_statistics,
    running_statistics,
)
from autogan.nn._norm_statistics import batch_norms
from search_spaces import Architecture, SearchSpace


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.BatchNorm2d(3))


def test_recalibration_gives_the_pooled_statistics_of_its_inputs_and_leaves_eval_mode():
    net = _net()
    first_norm = net[1]
    first_norm.running_mean.fill_(5.0)  # what other architectures left behind
    first_norm.num_batches_tracked.fill_(1000)
    momentum = first_norm.momentum
    inputs = torch.randn(24, 2, 5, 5, generator=torch.Generator().manual_seed(1))
    batches = iter(inputs.split(8))  # three batches: an exponential average would favour the last
    recalibrate_batch_norms(net, lambda n: net(next(batches)[:n]), samples=24, batch_size=8)
    with torch.no_grad():
        activations = net[0](inputs)  # (24, 3, 5, 5)
    expected_mean = activations.mean(dim=(0, 2, 3))
    # PyTorch stores each batch's unbiased variance; the equal-weight average of those is the target.
    expected_var = torch.stack([b.var(dim=(0, 2, 3)) for b in activations.split(8)]).mean(dim=0)
    assert torch.allclose(first_norm.running_mean, expected_mean, atol=1e-6)
    assert torch.allclose(first_norm.running_var, expected_var, rtol=1e-5, atol=1e-7)
    assert int(first_norm.num_batches_tracked) == 3  # the three calibration batches and nothing before
    assert not net.training and first_norm.momentum == momentum


@pytest.mark.parametrize(("samples", "batch_size", "expected"), [
    (1000, None, [500, 500]),  # the default batch: the evaluator's recalibrations rely on it
    (1200, 500, [500, 500, 200]),  # the last batch holds only what is left
    (128, 500, [128]),  # the search's default: one batch, so the mean is exactly the inputs'
])
def test_recalibration_asks_forward_for_exactly_the_samples_in_its_batches(samples, batch_size, expected):
    net = _net()
    asked: list[int] = []

    def forward(n: int) -> torch.Tensor:
        asked.append(n)
        return net(torch.randn(n, 2, 5, 5))

    options = {} if batch_size is None else {"batch_size": batch_size}
    recalibrate_batch_norms(net, forward, samples=samples, **options)
    assert asked == expected


# Every BatchNorm the architecture passes through (cells' bn, the last to_rgb), and a skip.
BN_ARCH = Architecture.parse("post,bn,bilinear,sc | pre,bn,nearest,nosc,skip=1 | post,bn,deconv,sc,skip=1+2")
LATENT = 16


def _trained_supernet() -> SupernetGenerator:
    """A supernet whose running statistics are everyone's: many architectures, shifted inputs, many batches."""
    supernet = SupernetGenerator(SearchSpace(), ch=8, latent_dim=LATENT, bottom_width=2, seed=3).train()
    space = SearchSpace()
    source = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for i in range(30):
            supernet(3.0 * torch.randn(8, LATENT, generator=source) + 2.0, space.sample(i))
            supernet(3.0 * torch.randn(8, LATENT, generator=source) + 2.0, BN_ARCH)
    supernet.eval()
    return supernet


@torch.no_grad()
def _own_statistics(supernet: SupernetGenerator, arch: Architecture, batches: list[torch.Tensor]) -> dict:
    """Per BatchNorm that ``arch`` reaches: its inputs' mean and the average per-batch unbiased variance.

    Taken by recording each norm's inputs on a copy in train mode (upstream norms normalise by
    the batch, as during a recalibration), without recalibrate_batch_norms.
    """
    import copy

    twin = copy.deepcopy(supernet).train()
    seen: dict[str, list[torch.Tensor]] = {}
    names = {id(m): name for name, m in twin.named_modules()}
    hooks = [
        norm.register_forward_pre_hook(lambda m, args: seen.setdefault(names[id(m)], []).append(args[0]))
        for norm in batch_norms(twin)
    ]
    for z in batches:
        twin(z, arch)
    for hook in hooks:
        hook.remove()
    return {
        name: (torch.cat(inputs).mean(dim=(0, 2, 3)), torch.stack([x.var(dim=(0, 2, 3)) for x in inputs]).mean(dim=0), len(inputs))
        for name, inputs in seen.items()
    }


def _recalibration_problems() -> list[str]:
    """Recalibrate a trained supernet for BN_ARCH; every way its statistics are not BN_ARCH's own."""
    supernet = _trained_supernet()
    batches = list(torch.randn(24, LATENT, generator=torch.Generator().manual_seed(4)).split(8))
    expected = _own_statistics(supernet, BN_ARCH, batches)
    trained = running_statistics(supernet)
    assert len(expected) >= 4, "the architecture should pass through several BatchNorms"
    source = iter(batches)
    recalibrate_batch_norms(supernet, lambda n: supernet(next(source)[:n], BN_ARCH), samples=24, batch_size=8)
    problems = []
    for name, norm in supernet.named_modules():
        if norm not in batch_norms(supernet):
            continue
        if name in expected:
            mean, var, batches_seen = expected[name]
            # The trained statistics were far from these: a leftover share of them would show.
            assert not torch.allclose(trained[f"{name}.running_mean"], mean, atol=1e-2), name
            if not torch.allclose(norm.running_mean, mean, rtol=1e-5, atol=1e-6):
                problems.append(f"{name}: running_mean is not the architecture's")
            if not torch.allclose(norm.running_var, var, rtol=1e-5, atol=1e-6):
                problems.append(f"{name}: running_var is not the architecture's")
            if int(norm.num_batches_tracked) != batches_seen:
                problems.append(f"{name}: {int(norm.num_batches_tracked)} batches tracked, not {batches_seen}")
        # Unreached norms say so (zero mean, unit variance, no batch) rather than keep everyone's.
        elif not (torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
                  and torch.equal(norm.running_var, torch.ones_like(norm.running_var))
                  and int(norm.num_batches_tracked) == 0):
            problems.append(f"{name}: unreached, yet keeps the trained statistics")
    return problems


def test_recalibrating_a_trained_supernet_leaves_only_the_architectures_own_statistics():
    assert _recalibration_problems() == []


def test_a_recalibration_that_keeps_the_trained_statistics_is_caught(monkeypatch):
    # Guards the test above: without the reset, the trained state leaks through.
    monkeypatch.setattr(nn.modules.batchnorm._NormBase, "reset_running_stats", lambda self: None)
    problems = _recalibration_problems()
    assert any("batches tracked" in p for p in problems) and any("unreached" in p for p in problems)


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
    from autogan.search import RewardEvaluator, SupernetTrainer

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
