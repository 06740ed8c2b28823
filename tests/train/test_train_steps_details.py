"""The training steps' contract in detail: their errors, the stage and dtype D is called with,
the CUDA-only flags on the CPU, weights that get no gradient, and AutoGAN's alternating step
(gaps that mutating autogan/train/_steps.py found)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from autogan.nn import Discriminator, Generator, SupernetGenerator
from autogan.train import StepOptions, get_loss, one_stage_step, two_stage_step
from autogan.train._steps import _discriminate, _inactive_method, _safe_ratio, fake_gradient_scale, one_stage_gradients
from search_spaces import AUTOGAN_TOP1, SearchSpace

BATCH = 8
LATENT = 16
SPACE = SearchSpace()


class _Bare(nn.Module):
    """A discriminator without weight-gradient scaling whose output depends on the stage it is given."""

    def __init__(self, pixels: int, shift: float = 0.0) -> None:
        super().__init__()
        self.linear = nn.Linear(3 * pixels * pixels, 1)
        with torch.no_grad():
            self.linear.weight.normal_(0.0, 0.05, generator=torch.Generator().manual_seed(0))
            self.linear.bias.fill_(shift)

    def forward(self, x: torch.Tensor, stage: int | None = None) -> torch.Tensor:
        return self.linear(x.flatten(1)) * (1.0 if stage is None else float(stage))


class _OutputIn(nn.Module):
    """Casts another module's output to ``dtype``: what an autocast forward hands back."""

    def __init__(self, inner: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner, self.dtype = inner, dtype

    def forward(self, *args) -> torch.Tensor:
        return self.inner(*args).to(self.dtype)


def _batch(pixels: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(BATCH, 3, pixels, pixels, generator=generator) * 2 - 1, torch.randn(BATCH, LATENT, generator=generator)


def _plain_pair(seed: int = 0):
    return Generator(AUTOGAN_TOP1, ch=8, latent_dim=LATENT, bottom_width=2, seed=seed), Discriminator(df=8, seed=seed + 1)


def _grads(module: nn.Module) -> list[torch.Tensor | None]:
    return [None if p.grad is None else p.grad.clone() for p in module.parameters()]


def _same(first: list[torch.Tensor | None], second: list[torch.Tensor | None]) -> bool:
    return all((a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))
               for a, b in zip(first, second, strict=True))


# --- errors ----------------------------------------------------------------------------------


def test_each_refusal_says_what_is_wrong_and_what_to_do():
    G, D = _plain_pair()
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    real, z = _batch(16)
    cases = [
        (lambda: one_stage_step(G, D, opt_g, opt_d, torch.zeros(BATCH, 1, 32, 32), z),
         "training step: real images have shape (1, 32, 32) but the generator makes (3, 16, 16); resize the real "
         "batch to the stage's resolution (and match the channel count)"),
        (lambda: one_stage_step(G, D, opt_g, None, real, z), "training step: opt_d is None; every step updates D"),
        (lambda: two_stage_step(G, D, opt_g, None, real, z), "training step: opt_d is None; every step updates D"),
        (lambda: one_stage_step(G, D, None, opt_d, real, z),
         "training step: opt_g is None but update_g=True; pass G's optimizer or update_g=False"),
        (lambda: one_stage_step(G, D, opt_g, opt_d, real, z, g_z=z),
         "one_stage_step: g_z must be None; one-stage steps train G on the D batch's fakes (use two_stage_step "
         "for a separate G batch)"),
        (lambda: one_stage_step(G, D, opt_g, opt_d, real, z, options=StepOptions(inactive="bogus")),
         "StepOptions.inactive='bogus': choose one of auto, scale, extra-pass, ignore"),
        (lambda: one_stage_step(G, _Bare(16), opt_g, opt_d, real, z, options=StepOptions(inactive="scale")),
         "StepOptions.inactive='scale': _Bare has no weight_grad_scaling(); use autogan.nn.Discriminator or "
         "inactive='extra-pass'"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as caught:
            call()
        assert str(caught.value) == message
    # The fixes work: the optimizer given, or a D-only step; the G batch through two_stage_step.
    assert one_stage_step(G, D, None, opt_d, real, z, update_g=False).loss_g is None
    assert two_stage_step(G, D, opt_g, opt_d, real, z, g_z=z).loss_g is not None


def test_auto_picks_the_scaling_pass_when_d_has_one_and_the_extra_pass_otherwise():
    assert _inactive_method(Discriminator(df=8), StepOptions()) == "scale"
    assert _inactive_method(_Bare(16), StepOptions()) == "extra-pass"
    for method in ("scale", "extra-pass", "ignore"):
        assert _inactive_method(Discriminator(df=8), StepOptions(inactive=method)) == method


def test_safe_ratio_is_zero_where_the_denominator_is():
    ratio = _safe_ratio(torch.tensor([1.0, 2.0, -3.0, 0.0]), torch.tensor([4.0, 0.0, 1.0, 0.0]))
    assert ratio.tolist() == [0.25, 0.0, -3.0, 0.0]


def test_a_ratio_is_usable_up_to_max_ratio_inclusive_and_zero_where_it_is_not():
    hinge, bce = get_loss("hinge"), get_loss("bce")
    # One hinge sample above -1: dL_D/dd = 1 exactly, dL_G/dd = -1, a ratio of exactly 1.
    gamma, active, b = fake_gradient_scale(hinge, torch.tensor([0.5]), max_ratio=1.0)
    assert active.tolist() == [True] and gamma.tolist() == [-1.0] and b.tolist() == [-1.0]
    gamma, active, _ = fake_gradient_scale(hinge, torch.tensor([0.5]), max_ratio=0.5)
    assert active.tolist() == [False] and gamma.tolist() == [0.0]
    # Below -1 (no D gradient) and where BCE's ratio exp(-d) passes max_ratio, the ratio is 0, not a stand-in.
    gamma, active, _ = fake_gradient_scale(hinge, torch.tensor([-2.0, 0.3]), max_ratio=1e12)
    assert active.tolist() == [False, True] and gamma.tolist() == [0.0, -1.0]
    gamma, active, _ = fake_gradient_scale(bce, torch.tensor([-20.0, 1.0]), max_ratio=1e6)
    assert active.tolist() == [False, True] and gamma[0].item() == 0.0


# --- how D is called ---------------------------------------------------------------------------


def test_d_gets_the_stage_when_given_and_its_output_comes_back_as_float32():
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    D = _Bare(8)
    with torch.no_grad():
        once = D(x).view(-1)
        for dtype in (torch.float64, torch.bfloat16, torch.float32):
            for stage, factor in ((None, 1.0), (2, 2.0)):
                out = _discriminate(_OutputIn(D, dtype), x, stage)
                assert out.dtype == torch.float32 and out.shape == (4,)
                torch.testing.assert_close(out, (once * factor).to(dtype).float())
    only_x = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 1))  # forward(x): a stage must not be passed
    assert _discriminate(only_x, x, None).shape == (4,)


def test_the_extra_pass_calls_d_at_the_steps_stage():
    # Every fake sits below -1 for hinge (shift -5): G's whole gradient comes through the extra pass.
    G = Generator(AUTOGAN_TOP1, ch=8, latent_dim=LATENT, bottom_width=2, seed=3)
    D = _Bare(16, shift=-5.0)
    real, z = _batch(16, seed=2)
    stats = one_stage_gradients(G, D, real, z, None, "hinge", stage=3)
    assert stats.inactive == BATCH
    got = _grads(G)
    G.zero_grad(set_to_none=True)
    get_loss("hinge").g_loss(D(G(z), 3).view(-1)).backward(inputs=list(G.parameters()))
    for ours, want in zip(got, _grads(G)):
        torch.testing.assert_close(ours, want, rtol=1e-5, atol=1e-7)


def test_the_cuda_only_bf16_flag_changes_nothing_on_the_cpu():
    real, z = _batch(16, seed=4)
    g_z = torch.randn(2 * BATCH, LATENT, generator=torch.Generator().manual_seed(5))
    results = []
    for options in (StepOptions(), StepOptions(bf16=True, channels_last=True)):
        G, D = _plain_pair(seed=6)
        opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
        two_stage_step(G, D, opt_g, opt_d, real, z, g_z=g_z, options=options)
        bare = _Bare(16, shift=-5.0)  # the extra pass, on fakes that are all inactive
        one_stage_gradients(G, bare, real, z, None, "hinge", options=options)
        results.append((G.state_dict(), D.state_dict(), _grads(G)))
    (g1, d1, grads1), (g2, d2, grads2) = results
    assert all(torch.equal(g1[k], g2[k]) for k in g1) and all(torch.equal(d1[k], d2[k]) for k in d1)
    assert _same(grads1, grads2)


def test_a_generator_that_returns_bfloat16_keeps_its_gradient_dtype():
    # What G under autocast hands the step: the hook's scale must not promote the gradient.
    G, D = _plain_pair(seed=8)
    real, z = _batch(16, seed=9)
    stats = one_stage_gradients(_OutputIn(G, torch.bfloat16), D, real, z, None, "hinge")
    assert stats.loss_g is not None
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in G.parameters())


# --- the defaults and what a step passes on ----------------------------------------------------


def test_the_default_loss_is_hinge():
    G, D = _plain_pair(seed=10)
    real, z = _batch(16, seed=11)
    first = one_stage_gradients(G, D.eval(), real, z)
    grads = _grads(G), _grads(D)
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)
    second = one_stage_gradients(G, D, real, z, None, "hinge")
    assert first == second and _same(grads[0], _grads(G)) and _same(grads[1], _grads(D))


def test_a_d_only_one_stage_step_trains_no_g():
    G, D = _plain_pair(seed=12)
    real, z = _batch(16, seed=13)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    stats = one_stage_step(G, D, opt_g, opt_d, real, z, update_g=False)
    assert stats.loss_g is None and all(p.grad is None for p in G.parameters())


def test_a_d_only_two_stage_step_reports_d_on_the_batch_and_trains_no_g():
    G, D = _plain_pair(seed=14)
    real, z = _batch(16, seed=15)
    before = copy.deepcopy(D)
    with torch.no_grad():
        d = before(torch.cat([real, G(z)])).view(-1)  # train mode: the step's own forward
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    g_weights = [p.detach().clone() for p in G.parameters()]
    stats = two_stage_step(G, D, opt_g, opt_d, real, z, update_g=False)
    assert stats.loss_g is None and stats.inactive == 0
    assert stats.loss_d == pytest.approx(float(get_loss("hinge").d_loss(d[:BATCH], d[BATCH:])), rel=1e-6)
    assert stats.d_real == pytest.approx(float(d[:BATCH].mean()), rel=1e-5)
    assert stats.d_fake == pytest.approx(float(d[BATCH:].mean()), rel=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(g_weights, G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(before.parameters(), D.parameters()))


@pytest.mark.parametrize("step", [one_stage_step, two_stage_step])
def test_weights_off_the_sampled_path_do_not_move_with_adams_momentum(step):
    # Weight sharing: a stage-2 step trains cells 1-2 of the supernet and D's blocks 1-2; what
    # only stage 3 uses must stay where stage 3 left it, though Adam has momentum for it.
    G = SupernetGenerator(SPACE, ch=8, latent_dim=LATENT, bottom_width=2, seed=1)
    D = Discriminator(df=8, seed=2)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.9))
    real3, z = _batch(16, seed=16)
    step(G, D, opt_g, opt_d, real3, z, AUTOGAN_TOP1, "hinge", stage=3)
    prefix = SPACE.prefix(AUTOGAN_TOP1, 2)
    probe_g, probe_d = copy.deepcopy(G), copy.deepcopy(D)
    one_stage_gradients(probe_g, probe_d, real3[:, :, ::2, ::2], z, prefix, "hinge", stage=2)
    idle = {net: [p.grad is None for p in probe.parameters()] for net, probe in (("G", probe_g), ("D", probe_d))}
    assert any(idle["G"]) and any(idle["D"]) and not all(idle["G"]) and not all(idle["D"])
    before = {"G": [p.detach().clone() for p in G.parameters()], "D": [p.detach().clone() for p in D.parameters()]}
    step(G, D, opt_g, opt_d, real3[:, :, ::2, ::2], z, prefix, "hinge", stage=2)
    for net, module in (("G", G), ("D", D)):
        for unused, old, new in zip(idle[net], before[net], module.parameters()):
            assert torch.equal(old, new) == unused


# --- AutoGAN's alternating step ------------------------------------------------------------


def test_the_two_stage_step_is_autogans_alternating_step():
    """D steps on cat(real, fake); then G steps against the updated D, still in train mode (spectral
    norm's power iteration advances in both forwards), on fakes drawn from g_z through the supernet."""
    G = SupernetGenerator(SPACE, ch=8, latent_dim=LATENT, bottom_width=2, seed=5)
    D = Discriminator(df=8, seed=6)
    real, z = _batch(16, seed=17)
    g_z = torch.randn(2 * BATCH, LATENT, generator=torch.Generator().manual_seed(18))
    hinge = get_loss("hinge")
    runs = []
    for by_hand in (False, True):
        G_run, D_run = copy.deepcopy(G), copy.deepcopy(D)
        opt_g = torch.optim.Adam(G_run.parameters(), lr=1e-3, betas=(0.0, 0.9))
        opt_d = torch.optim.Adam(D_run.parameters(), lr=1e-3, betas=(0.0, 0.9))
        if by_hand:
            opt_d.zero_grad(set_to_none=True)
            with torch.no_grad():
                fake = G_run(z, AUTOGAN_TOP1)
            d = D_run(torch.cat([real, fake]), 3).view(-1)
            loss_d = hinge.d_loss(d[:BATCH], d[BATCH:])
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad(set_to_none=True)
            loss_g = hinge.g_loss(D_run(G_run(g_z, AUTOGAN_TOP1), 3).view(-1))
            loss_g.backward(inputs=list(G_run.parameters()))
            opt_g.step()
            losses = (float(loss_d.detach()), float(loss_g.detach()))
        else:
            stats = two_stage_step(G_run, D_run, opt_g, opt_d, real, z, AUTOGAN_TOP1, "hinge", stage=3, g_z=g_z)
            losses = (stats.loss_d, stats.loss_g)
        runs.append((losses, G_run.state_dict(), D_run.state_dict(), D_run.training))
    (ours, g1, d1, training), (theirs, g2, d2, _) = runs
    assert training and ours == pytest.approx(theirs, rel=1e-6)
    for first, second in ((g1, g2), (d1, d2)):
        for key in first:
            torch.testing.assert_close(first[key], second[key], rtol=1e-6, atol=1e-7, msg=key)
