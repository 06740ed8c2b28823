"""One-stage steps are exact: their gradients equal separate-backward simultaneous gradients."""

from __future__ import annotations

import copy
import random

import pytest
import torch
from torch import nn

import autogan.train._steps as steps_module
from autogan.nn import Discriminator, Generator, SupernetGenerator
from autogan.train import LOSSES, StepOptions, get_loss, one_stage_step, two_stage_step
from autogan.train._steps import one_stage_gradients
from search_spaces import AUTOGAN_TOP1, SearchSpace

BATCH = 8
LATENT = 16
SPACE = SearchSpace()


class Spread(nn.Module):
    """D's outputs moved to ``scale * (D(x) - center)``: per sample, so still valid for one-stage.

    A fresh D gives nearly equal outputs for every image; spreading them puts hinge
    samples on both sides of -1 and BCE ratios exp(-d) over many orders of magnitude.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.center = 0.0
        self.scale = 1.0

    def calibrate(self, x: torch.Tensor, stage: int, spread: float = 2.5, offset: float = 0.0) -> None:
        with torch.no_grad():
            self.inner.eval()
            d = self.inner(x, stage).view(-1)
            self.inner.train()
        self.center = float(d.median()) - offset / spread * float(d.std())
        self.scale = spread / float(d.std())

    def forward(self, x: torch.Tensor, stage: int | None = None) -> torch.Tensor:
        return (self.inner(x, stage) - self.center) * self.scale

    def weight_grad_scaling(self):
        return self.inner.weight_grad_scaling()


class _WithoutStage(nn.Module):
    """A discriminator that takes no stage argument, called as the reference calls D."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor, stage: int | None = None) -> torch.Tensor:
        return self.inner(x)


def _snapshot(*modules: nn.Module) -> list[dict]:
    return [{k: v.clone() for k, v in m.state_dict().items()} for m in modules]


def _restore(modules, states) -> None:
    for module, state in zip(modules, states):
        module.load_state_dict(state)


def _grads(module: nn.Module) -> list[torch.Tensor | None]:
    return [None if p.grad is None else p.grad.clone() for p in module.parameters()]


def _relative_error(got, want) -> float:
    num = den = 0.0
    for a, b in zip(got, want):
        assert (a is None) == (b is None), "one-stage and reference gradients reach different parameters"
        if a is not None:
            num += float((a - b).double().pow(2).sum())
            den += float(b.double().pow(2).sum())
    assert den > 0
    return (num / den) ** 0.5


def _reference_gradients(G, D, real, z, arch, loss, stage):
    """Simultaneous gradients the slow way: dL_D/dtheta_D and dL_G/dtheta_G, two backward passes."""
    fake = G(z) if arch is None else G(z, arch)
    d = D(torch.cat([real, fake]), stage).view(-1)
    d_real, d_fake = d[: real.shape[0]], d[real.shape[0] :]
    loss.d_loss(d_real, d_fake).backward(inputs=list(D.parameters()), retain_graph=True)
    loss.g_loss(d_fake).backward(inputs=list(G.parameters()))
    return _grads(G), _grads(D)


@pytest.fixture(scope="module")
def nets():
    G = SupernetGenerator(SPACE, ch=16, latent_dim=LATENT, bottom_width=2, seed=1)
    D = Spread(Discriminator(df=16, seed=2))
    return G, D


def _case(G, D, arch, seed, offset=0.0):
    generator = torch.Generator().manual_seed(seed)
    real = torch.rand(BATCH, 3, 16, 16, generator=generator) * 2 - 1  # (B, 3, 16, 16)
    z = torch.randn(BATCH, LATENT, generator=generator)
    with torch.no_grad():
        D.calibrate(torch.cat([real, G.eval()(z, arch)]), 3, offset=offset)
        G.train()
    return real, z


def _compare_all(G, D, arch, real, z, loss, methods):
    """For each one-stage method: (stats, G relative error, D relative error) against the reference."""
    states = _snapshot(G, D)
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)
    want = _reference_gradients(G, D, real, z, arch, loss, 3)
    _restore((G, D), states)
    results = []
    for method in methods:
        G.zero_grad(set_to_none=True)
        D.zero_grad(set_to_none=True)
        stats = one_stage_gradients(G, D, real, z, arch, loss, stage=3, options=StepOptions(inactive=method))
        results.append((stats, _relative_error(_grads(G), want[0]), _relative_error(_grads(D), want[1])))
        _restore((G, D), states)
    return results


def _compare(G, D, arch, real, z, loss, method="auto"):
    return _compare_all(G, D, arch, real, z, loss, [method])[0]


EXACT_METHODS = ("scale", "extra-pass")


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_one_stage_gradients_equal_simultaneous_gradients(nets, loss_name):
    G, D = nets
    loss = get_loss(loss_name)
    rng = random.Random(0)
    archs = [SPACE.sample(rng) for _ in range(20)]
    inactive = 0
    methods = ("auto",) if loss.symmetric else EXACT_METHODS
    for index, arch in enumerate(archs):
        real, z = _case(G, D, arch, seed=index)
        results = _compare_all(G, D, arch, real, z, loss, methods)
        for method, (stats, error_g, error_d) in zip(methods, results):
            assert error_g <= 1e-5, f"{loss_name} ({method}), {arch}: G gradient relative error {error_g:.2e}"
            assert error_d <= 1e-5, f"{loss_name} ({method}), {arch}: D gradient relative error {error_d:.2e}"
        assert len({stats.inactive for stats, _, _ in results}) == 1
        inactive += results[0][0].inactive
    if loss_name == "hinge":
        # The hinge case is only tested if some fakes sat below -1 (D gradient 0, G gradient -1).
        assert 0 < inactive < 20 * BATCH


def test_bce_far_from_the_boundary_is_still_exact(nets):
    G, D = nets
    # Fakes near d = -40: dL_D/dd = sigmoid(d)/B ~ 1e-18, so exp(-d) would overflow float32 precision.
    real, z = _case(G, D, AUTOGAN_TOP1, seed=99, offset=-40.0)
    for stats, error_g, error_d in _compare_all(G, D, AUTOGAN_TOP1, real, z, get_loss("bce"), EXACT_METHODS):
        assert stats.inactive > 0
        assert error_g <= 1e-5 and error_d <= 1e-5


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_without_the_hook_gradients_differ(nets, monkeypatch, loss_name):
    G, D = nets
    monkeypatch.setattr(steps_module, "_scaling_hook", lambda gamma, extra: (lambda grad: grad))
    real, z = _case(G, D, AUTOGAN_TOP1, seed=5)
    _, error_g, error_d = _compare(G, D, AUTOGAN_TOP1, real, z, get_loss(loss_name))
    assert error_g > 0.1
    assert error_d <= 1e-5  # D's own gradient never depended on the hook


def test_hinge_without_inactive_handling_is_inexact(nets):
    G, D = nets
    for seed in range(10):
        real, z = _case(G, D, AUTOGAN_TOP1, seed=seed)
        stats, error_g, _ = _compare(G, D, AUTOGAN_TOP1, real, z, get_loss("hinge"), "ignore")
        if stats.inactive:
            assert error_g > 1e-3
            return
    pytest.fail("no hinge case with inactive fakes was produced")


def test_d_only_step_gives_d_its_gradient_and_leaves_g_alone(nets):
    G, D = nets
    real, z = _case(G, D, AUTOGAN_TOP1, seed=3)
    loss = get_loss("hinge")
    states = _snapshot(G, D)
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)
    stats = one_stage_gradients(G, D, real, z, AUTOGAN_TOP1, loss, stage=3, update_g=False)
    got = _grads(D)
    assert stats.loss_g is None
    assert all(p.grad is None for p in G.parameters())
    _restore((G, D), states)
    D.zero_grad(set_to_none=True)
    _, want = _reference_gradients(G, D, real, z, AUTOGAN_TOP1, loss, 3)
    _restore((G, D), states)
    assert _relative_error(got, want) <= 1e-5


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_one_stage_step_equals_simultaneous_two_stage_step(loss_name):
    G = SupernetGenerator(SPACE, ch=8, latent_dim=LATENT, bottom_width=2, seed=3)
    D = Discriminator(df=8, seed=4)
    generator = torch.Generator().manual_seed(7)
    real = torch.rand(BATCH, 3, 8, 8, generator=generator) * 2 - 1
    z = torch.randn(BATCH, LATENT, generator=generator)
    arch = SPACE.prefix(AUTOGAN_TOP1, 2)
    results = []
    for step in (one_stage_step, two_stage_step):
        G_run, D_run = SupernetGenerator(SPACE, ch=8, latent_dim=LATENT, bottom_width=2), Discriminator(df=8)
        G_run.load_state_dict(G.state_dict())
        D_run.load_state_dict(D.state_dict())
        opt_g = torch.optim.SGD(G_run.parameters(), lr=0.1)
        opt_d = torch.optim.SGD(D_run.parameters(), lr=0.1)
        kwargs = {"simultaneous": True} if step is two_stage_step else {}
        stats = step(G_run, D_run, opt_g, opt_d, real, z, arch, loss_name, stage=2, **kwargs)
        results.append((stats, G_run.state_dict(), D_run.state_dict()))
    (one, g1, d1), (two, g2, d2) = results
    assert one.loss_d == pytest.approx(two.loss_d, rel=1e-6)
    assert one.loss_g == pytest.approx(two.loss_g, rel=1e-6, abs=1e-7)
    for first, second in ((g1, g2), (d1, d2)):
        for key in first:
            torch.testing.assert_close(first[key], second[key], rtol=1e-5, atol=1e-6, msg=key)
    # Both changed the networks (the comparison is not vacuous).
    assert not torch.equal(g1["l1.weight"], G.state_dict()["l1.weight"])


def test_plain_generator_and_both_two_stage_schedules_train():
    G = Generator(AUTOGAN_TOP1, ch=8, latent_dim=LATENT, bottom_width=2)
    D = Discriminator(df=8)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(BATCH, 3, 16, 16, generator=generator) * 2 - 1
    before = G.l1.weight.detach().clone()
    for g_z in (None, torch.randn(2 * BATCH, LATENT, generator=generator)):
        z = torch.randn(BATCH, LATENT, generator=generator)
        g_before = copy.deepcopy(G)
        stats = two_stage_step(G, D, opt_g, opt_d, real, z, None, "bce", g_z=g_z)
        # AutoGAN's G step: the D just updated scores the fakes of G as it was, drawn from g_z
        # when given, else the D batch's own; the reported loss is that one, not a stand-in.
        with torch.no_grad():
            scored = D.eval()(g_before(z if g_z is None else g_z))  # eval: no further power iteration
            D.train()
        assert stats.loss_g == pytest.approx(float(get_loss("bce").g_loss(scored)), rel=1e-5)
        assert not torch.equal(g_before.l1.weight, G.l1.weight)
    z = torch.randn(BATCH, LATENT, generator=generator)
    with torch.no_grad():  # one-stage: G's loss is on the D batch's fakes, before either update
        scored = copy.deepcopy(D)(copy.deepcopy(G)(z))
    stats = one_stage_step(G, D, opt_g, opt_d, real, z, None, "wasserstein")
    assert stats.loss_g == pytest.approx(float(get_loss("wasserstein").g_loss(scored)), rel=1e-5)
    assert not torch.equal(before, G.l1.weight)


def test_bad_inputs_are_named():
    G = Generator(AUTOGAN_TOP1, ch=8, latent_dim=LATENT, bottom_width=2)
    D = Discriminator(df=8)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    z = torch.randn(BATCH, LATENT)
    with pytest.raises(ValueError, match="resize the real batch"):
        one_stage_step(G, D, opt_g, opt_d, torch.zeros(BATCH, 3, 32, 32), z)
    with pytest.raises(ValueError, match="g_z must be None"):
        one_stage_step(G, D, opt_g, opt_d, torch.zeros(BATCH, 3, 16, 16), z, g_z=z)
    with pytest.raises(ValueError, match="opt_g is None"):
        two_stage_step(G, D, None, opt_d, torch.zeros(BATCH, 3, 16, 16), z)


def test_cuda_only_options_are_no_ops_on_cpu_and_bad_options_are_named():
    G = Generator(AUTOGAN_TOP1, ch=8, latent_dim=LATENT, bottom_width=2)
    D = Discriminator(df=8)
    real = torch.rand(BATCH, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    z = torch.randn(BATCH, LATENT, generator=torch.Generator().manual_seed(2))
    plain = one_stage_gradients(G, D.eval(), real, z, None, "hinge")
    flagged = one_stage_gradients(G, D, real, z, None, "hinge", options=StepOptions(bf16=True, channels_last=True))
    assert plain == flagged
    with pytest.raises(ValueError, match="inactive='bogus'"):
        one_stage_gradients(G, D, real, z, None, "hinge", options=StepOptions(inactive="bogus"))
    bare = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 1))
    with pytest.raises(ValueError, match="weight_grad_scaling"):
        one_stage_gradients(G, bare, real, z, None, "hinge", options=StepOptions(inactive="scale"))
    # A discriminator without weight-gradient scaling still gets exact steps (extra pass).
    states = _snapshot(G, bare)
    G.zero_grad(set_to_none=True)
    bare.zero_grad(set_to_none=True)
    stats = one_stage_gradients(G, bare, real, z, None, "hinge")
    got = _grads(G), _grads(bare)
    _restore((G, bare), states)
    G.zero_grad(set_to_none=True)
    bare.zero_grad(set_to_none=True)
    want_g, want_d = _reference_gradients(G, _WithoutStage(bare), real, z, None, get_loss("hinge"), None)
    assert _relative_error(got[0], want_g) <= 1e-5 and _relative_error(got[1], want_d) <= 1e-5
    with torch.no_grad():
        _restore((G, bare), states)
        assert stats.loss_g == pytest.approx(float(get_loss("hinge").g_loss(bare(G(z)).view(-1))), rel=1e-5)
