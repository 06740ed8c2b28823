"""EMA, orthogonal regularization, ResetMonitor and the loss registry: exact values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from autogan.errors import ConfigError
from autogan.train import EMA, LOSSES, Loss, ResetMonitor, get_loss, register_loss
from autogan.train._regularization import orthogonal_regularization


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.norm = nn.BatchNorm1d(2)


def _set(net: _Net, value: float) -> None:
    with torch.no_grad():
        for tensor in list(net.parameters()) + [net.norm.running_mean, net.norm.running_var]:
            tensor.fill_(value)
        net.norm.num_batches_tracked.fill_(int(value))


def test_ema_copies_before_start_then_averages_parameters_and_buffers():
    net = _Net()
    _set(net, 1.0)
    ema = EMA(net, decay=0.75, start_step=2)
    assert not ema.model.training
    assert all(not p.requires_grad for p in ema.model.parameters())
    _set(net, 3.0)
    ema.update(net, step=0)  # before start: exact copy
    assert torch.equal(ema.model.linear.weight, torch.full((2, 2), 3.0))
    _set(net, 7.0)
    ema.update(net, step=1)
    assert torch.equal(ema.model.norm.running_var, torch.full((2,), 7.0))
    _set(net, 11.0)
    ema.update(net, step=2)  # 0.75 * 7 + 0.25 * 11 = 8
    for tensor in (ema.model.linear.weight, ema.model.linear.bias, ema.model.norm.weight, ema.model.norm.running_mean, ema.model.norm.running_var):
        assert torch.equal(tensor, torch.full_like(tensor, 8.0))
    assert int(ema.model.norm.num_batches_tracked) == 11  # integer buffers are copied
    ema.update(net, step=3)  # 0.75 * 8 + 0.25 * 11 = 8.75
    assert torch.equal(ema.model.linear.bias, torch.full((2,), 8.75))
    restored = EMA(_Net(), decay=0.1)
    restored.load_state_dict(ema.state_dict())
    assert restored.decay == 0.75 and restored.start_step == 2
    assert torch.equal(restored.model.linear.bias, torch.full((2,), 8.75))


def test_orthogonal_regularization_adds_the_exact_gradient_and_skips_1d():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(5, 6), nn.Embedding(7, 3))
    weights = [model[0].weight, model[1].weight]
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    expected_r = 0.0
    expected = []
    for w in weights:
        leaf = w.detach().clone().requires_grad_()
        m = leaf.reshape(leaf.shape[0], -1)
        r = 0.5 * ((m @ m.t()) * (1 - torch.eye(m.shape[0]))).pow(2).sum()
        (grad,) = torch.autograd.grad(r, leaf)
        expected.append(1 + grad)
        expected_r += float(r.detach())
    value = orthogonal_regularization(model, beta=0.5)
    assert value == pytest.approx(expected_r, rel=1e-6)
    for w, want in zip(weights, expected):
        torch.testing.assert_close(w.grad, want)
    for one_d in (model[0].bias, model[1].bias, model[2].weight):
        assert torch.equal(one_d.grad, torch.ones_like(one_d))  # biases and embeddings untouched


def test_orthogonal_matrix_has_no_penalty_and_missing_grads_are_created():
    layer = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(4) * 3.0)  # orthogonal rows, any scale
    assert orthogonal_regularization(layer, beta=1.0) == 0.0
    assert torch.equal(layer.weight.grad, torch.zeros(4, 4))


def test_reset_monitor_fires_on_a_flat_window_only():
    monitor = ResetMonitor(window=4, threshold=0.5)
    # var([0, 2, 0, 2]) = 1 for D; G stays varied too: no reset.
    for g, d in ((0, 0), (3, 2), (0, 0), (3, 2)):
        assert monitor.update(g, d) is False
    assert monitor.variances() == (2.25, 1.0)
    # D flattens: windows [2, 0, 2, 1] (variance 0.6875) and [0, 2, 1, 1] (0.5, not below)...
    assert monitor.update(0, 1) is False
    assert monitor.update(3, 1) is False
    # ...then [2, 1, 1, 1.5]: variance 0.171875 < 0.5.
    assert monitor.update(0, 1.5) is True
    assert monitor.variances()[1] == pytest.approx(0.171875)
    state = monitor.state_dict()
    monitor.reset()
    assert monitor.variances() == (None, None)
    assert monitor.update(0, 1) is False
    other = ResetMonitor()
    other.load_state_dict(state)
    assert other.window == 4 and other.update(None, 1.5) is True


def test_reset_monitor_partial_window_and_non_finite():
    monitor = ResetMonitor(window=3, threshold=1.0)
    assert monitor.update(1.0, 1.0) is False
    assert monitor.update(1.0, 1.0) is False  # window not yet full
    assert monitor.update(None, 1.0) is True  # D's window is constant
    assert ResetMonitor(window=3).update(float("nan"), 0.0) is True
    with pytest.raises(ValueError, match="window"):
        ResetMonitor(window=1)


def test_the_loss_registry_computes_each_loss_and_is_read_only():
    d = torch.tensor([-2.0, 0.0, 0.5])
    hinge = get_loss("hinge")
    assert float(hinge.d_loss(d, d)) == pytest.approx((3 + 1 + 0.5) / 3 + (0 + 1 + 1.5) / 3)
    assert float(hinge.g_loss(d)) == pytest.approx(0.5)
    bce = get_loss("bce")
    sig = torch.sigmoid(d)
    assert float(bce.d_loss(d, d)) == pytest.approx(float(-(sig.log()).mean() - (1 - sig).log().mean()), rel=1e-6)
    assert float(bce.g_loss(d)) == pytest.approx(float(-(sig.log()).mean()), rel=1e-6)
    wasserstein = get_loss("wasserstein")
    assert float(wasserstein.d_loss(d, d)) == 0.0 and wasserstein.symmetric
    assert set(LOSSES) >= {"hinge", "bce", "wasserstein"}
    assert get_loss(hinge) is hinge
    with pytest.raises(ConfigError, match="hinge, bce, wasserstein"):
        get_loss("lsgan")
    with pytest.raises(ValueError, match="already registered"):
        register_loss(Loss("hinge", hinge.d_real, hinge.d_fake, hinge.g_fake, symmetric=False))
    with pytest.raises(TypeError):  # read-only, as every registry: register_loss is the one way in
        LOSSES["mine"] = hinge  # type: ignore[index]


def test_bce_gamma_is_minus_exp_minus_d():
    from autogan.train._steps import fake_gradient_scale

    d = torch.tensor([-3.0, 0.0, 2.0, -40.0])
    gamma, active, _ = fake_gradient_scale(get_loss("bce"), d, max_ratio=1e12)
    assert active.tolist() == [True, True, True, False]
    torch.testing.assert_close(gamma[:3], -torch.exp(-d[:3]))
    gamma, active, _ = fake_gradient_scale(get_loss("hinge"), torch.tensor([-2.0, -1.0, 0.3]), max_ratio=1e12)
    assert active.tolist() == [False, False, True] and gamma[2] == -1.0
    assert math.isfinite(float(gamma.sum()))
