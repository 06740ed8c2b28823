"""Training steps: exact one-stage (OSGAN) steps and two-stage (alternating) steps.

Both take the same arguments::

    step(G, D, opt_g, opt_d, real, z, arch, loss, *, stage=None, update_g=True, g_z=None, options=...)

``G(z, arch)`` is called for a supernet, ``G(z)`` when ``arch`` is None.  With
``update_g=False`` the step trains D only: the caller runs ``n_critic - 1`` of those
between steps that also train G.

One-stage, with ``d_i = D(G(z))_i`` and ``B`` fake samples:

- G forward once, D forward once on ``cat(real, fake)``, **one** backward of ``L_D``,
  then both optimizers step.
- That backward gives D exactly ``dL_D/dtheta_D``.  At the fake images it carries
  ``a_i J_i`` where ``a_i = dL_D/dd_i`` and ``J_i = dd_i/dfake_i`` (D treats samples
  independently).  G needs ``b_i J_i`` with ``b_i = dL_G/dd_i``, so a hook on ``fake``
  multiplies sample ``i`` by ``gamma_i = b_i / a_i``: ``-1`` for symmetric losses
  (gradient reversal), ``-exp(-d_i)`` for non-saturating BCE, ``-1`` for active hinge samples.
- Where ``a_i`` is zero (hinge: ``d_i < -1``) or so small that ``b_i / a_i`` would
  overflow, no ratio recovers ``J_i``.  For those *inactive* samples the roles swap:
  the backward carries ``b_i`` (so G's gradient arrives unscaled) and every D layer
  scales that sample's contribution to its *weight* gradient by ``a_i / b_i`` (0 for
  hinge), while its input gradient passes unscaled (``Discriminator.weight_grad_scaling``).
  Still one backward; the extra work is an elementwise product per D layer.
  It runs whether or not any fake is inactive (with none, every factor is 1): asking
  would read the device.
- A discriminator without ``weight_grad_scaling`` gets the fallback: one extra D
  forward in eval mode (spectral norm then reuses the main forward's weights) and an
  input-only backward, on just the inactive samples.  ``StepStats.inactive`` counts
  them; ``bench/step_speed.py`` measures both schemes.

Steps never wait for the device: their statistics stay there (``StepStats``) until
read.  The one exception is the ``extra-pass`` fallback, whose work size depends on
how many fakes are inactive (a ``nonzero`` per merged non-symmetric step).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

from autogan.train._losses import Loss, get_loss
from autogan.train._options import DEFAULT_OPTIONS, INACTIVE_METHODS, StepOptions, step_autocast, step_layout
from autogan.train._stats import StepStats


@contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Eval mode for one extra forward: spectral norm keeps its u/v, so weights match the last forward."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def _generate(G: nn.Module, z: Tensor, arch) -> Tensor:
    return G(z) if arch is None else G(z, arch)


def _discriminate(D: nn.Module, x: Tensor, stage: int | None) -> Tensor:
    out = D(x) if stage is None else D(x, stage)
    if out.dtype != torch.float32:  # asked here: even a no-op .float() is a dispatch
        out = out.float()
    return out.reshape(-1)  # (B,) in float32 whatever the autocast dtype


def _check_images(real: Tensor, fake: Tensor) -> None:
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"training step: real images have shape {tuple(real.shape[1:])} but the generator makes "
            f"{tuple(fake.shape[1:])}; resize the real batch to the stage's resolution "
            "(and match the channel count)"
        )


def _d_forward(
    G: nn.Module,
    D: nn.Module,
    real: Tensor,
    z: Tensor,
    arch,
    loss: Loss,
    stage: int | None,
    options: StepOptions,
    *,
    track_g: bool,
    detach_fake: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Fakes from ``z`` and D on ``cat(real, fake)``: ``(fake, d, d_real, d_fake, loss_d)``.

    ``track_g``: build G's graph (else G runs under ``no_grad``); ``detach_fake``: D's loss
    does not reach G, so that a later G step can reuse ``fake``.
    """
    with step_autocast(options, real.device):
        with nullcontext() if track_g else torch.no_grad():
            fake = _generate(G, z, arch)  # (B, C, H, W)
        _check_images(real, fake)
        d_input = torch.cat([real, fake.detach() if detach_fake else fake])  # (2B, C, H, W)
        d = _discriminate(D, step_layout(d_input, options), stage)  # (2B,)
    batch = real.shape[0]
    d_real, d_fake = d[:batch], d[batch:]
    return fake, d, d_real, d_fake, loss.d_loss(d_real, d_fake)


def _check_optimizers(opt_g, opt_d, update_g: bool) -> None:
    if opt_d is None:
        raise ValueError("training step: opt_d is None; every step updates D")
    if update_g and opt_g is None:
        raise ValueError("training step: opt_g is None but update_g=True; pass G's optimizer or update_g=False")


def fake_gradient_scale(loss: Loss, d_fake: Tensor, max_ratio: float) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample ``(gamma, active, b)`` for the one-stage hook, from the loss's own autograd.

    ``gamma_i = b_i / a_i`` on active samples (0 elsewhere), with ``a = dL_D/dd_fake`` and
    ``b = dL_G/dd_fake``; ``active`` marks samples whose ratio is usable.
    """
    a, b = _output_gradients(loss, d_fake)
    gamma, active = _fake_ratio(a, b, max_ratio)
    return gamma, active, b


def _output_gradients(loss: Loss, d_fake: Tensor, d_real: Tensor | None = None) -> tuple[Tensor, ...]:
    """``(a, b)``, or ``(a, b, dL_D/dd_real)`` with ``d_real``: the loss terms' gradients at D's outputs.

    One autograd call for all terms (an engine run costs far more host time than these
    tiny graphs): each term gets its own leaf, so no gradient mixes with another's.
    """
    leaves = [d_fake.detach().requires_grad_(), d_fake.detach().requires_grad_()]
    if d_real is not None:
        leaves.append(d_real.detach().requires_grad_())
    with torch.enable_grad():
        terms = [loss.d_fake(leaves[0]), loss.g_fake(leaves[1])]
        if d_real is not None:
            terms.append(loss.d_real(leaves[2]))
        return torch.autograd.grad(terms, leaves)


def _fake_ratio(a: Tensor, b: Tensor, max_ratio: float) -> tuple[Tensor, Tensor]:
    """``(gamma, active)`` from ``a = dL_D/dd_fake`` and ``b = dL_G/dd_fake``."""
    active = (a != 0) & (b.abs() <= a.abs() * max_ratio)
    # Scalars in torch.where instead of ones_like/zeros_like: the same values, fewer dispatches.
    gamma = torch.where(active, b / torch.where(active, a, 1.0), 0.0)
    return gamma, active


def _inactive_method(D: nn.Module, options: StepOptions) -> str:
    if options.inactive not in INACTIVE_METHODS:
        raise ValueError(f"StepOptions.inactive={options.inactive!r}: choose one of {', '.join(INACTIVE_METHODS)}")
    has_scaling = callable(getattr(D, "weight_grad_scaling", None))
    if options.inactive == "auto":
        return "scale" if has_scaling else "extra-pass"
    if options.inactive == "scale" and not has_scaling:
        raise ValueError(
            f"StepOptions.inactive='scale': {type(D).__name__} has no weight_grad_scaling(); "
            "use autogan.nn.Discriminator or inactive='extra-pass'"
        )
    return options.inactive


def _safe_ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    nonzero = denominator != 0
    return torch.where(nonzero, numerator / torch.where(nonzero, denominator, 1.0), 0.0)


def inactive_input_gradient(
    D: nn.Module, fake: Tensor, index: Tensor, cotangent: Tensor, stage: int | None, options: StepOptions
) -> Tensor:
    """``b_i * dD(fake_i)/dfake_i`` for the samples in ``index``, zeros elsewhere; D's weights get nothing."""
    x = fake.detach().index_select(0, index).requires_grad_()  # (k, C, H, W)
    with _frozen(D), step_autocast(options, fake.device):
        d = _discriminate(D, x, stage)  # (k,)
    (grad,) = torch.autograd.grad(d, x, grad_outputs=cotangent.index_select(0, index).to(d.dtype))
    return torch.zeros_like(fake).index_copy_(0, index, grad.to(fake.dtype))


def _scaling_hook(gamma: Tensor | float, extra: Tensor | None) -> Callable[[Tensor], Tensor]:
    def hook(grad: Tensor) -> Tensor:  # (B, C, H, W)
        if isinstance(gamma, Tensor):
            scaled = grad * gamma.to(grad.dtype).view(-1, *([1] * (grad.dim() - 1)))
        else:
            scaled = grad * gamma
        return scaled if extra is None else scaled + extra.to(grad.dtype)

    return hook


def _stats(
    loss_d: Tensor, loss_g: Tensor | None, d_real: Tensor, d_fake: Tensor, inactive: Tensor | None = None
) -> StepStats:
    # Made on the device from existing tensors: a Python number would be a host-to-device copy.
    # All float32: D's outputs are, whatever the autocast dtype (``_discriminate``).
    # Under no_grad rather than five detaches: the same values, fewer dispatches.
    with torch.no_grad():
        values = [
            loss_d,
            torch.full_like(loss_d, float("nan")) if loss_g is None else loss_g,
            d_real.mean(),
            d_fake.mean(),
            torch.zeros_like(loss_d) if inactive is None else inactive.to(loss_d.dtype),
        ]
        return StepStats(torch.stack(values), trains_g=loss_g is not None)


def one_stage_gradients(
    G: nn.Module,
    D: nn.Module,
    real: Tensor,
    z: Tensor,
    arch=None,
    loss: str | Loss = "hinge",
    *,
    stage: int | None = None,
    update_g: bool = True,
    options: StepOptions = DEFAULT_OPTIONS,
) -> StepStats:
    """The gradient half of ``one_stage_step``: accumulates ``dL_D`` into D's ``.grad`` and
    (with ``update_g``) ``dL_G`` into G's, with one backward.  Optimizers are not touched.

    No host sync, except with ``inactive="extra-pass"`` (the fallback for a D without
    ``weight_grad_scaling``) on a merged step of a non-symmetric loss: its extra pass runs
    on just the inactive fakes, so it reads their indices (``nonzero``)."""
    loss = get_loss(loss)
    method = _inactive_method(D, options)
    scaling = update_g and not loss.symmetric and method == "scale"
    with D.weight_grad_scaling() if scaling else nullcontext() as holder:
        fake, d, d_real, d_fake, loss_d = _d_forward(
            G, D, real, z, arch, loss, stage, options, track_g=update_g, detach_fake=False
        )
        if not update_g:
            loss_d.backward()
            return _stats(loss_d, None, d_real, d_fake)
        loss_g = loss.g_loss(d_fake.detach())
        if loss.symmetric:
            fake.register_hook(_scaling_hook(-1.0, None))
            loss_d.backward()
            return _stats(loss_d, loss_g, d_real, d_fake)
        a, b, *a_real = _output_gradients(loss, d_fake, d_real if scaling else None)
        gamma, active = _fake_ratio(a, b, options.max_ratio)
        inactive = (~active).sum()
        if scaling:
            # Taken even when every fake is active (all factors 1): finding out would read the device.
            # Inactive fakes carry G's cotangent b; their weight gradients are scaled to a.
            holder.scale = torch.cat([torch.ones_like(d_real), torch.where(active, 1.0, _safe_ratio(a, b))])
            fake.register_hook(_scaling_hook(torch.where(active, gamma, 1.0), None))
            cotangent = torch.cat([a_real[0], torch.where(active, a, b)])
            d.backward(cotangent)
            return _stats(loss_d, loss_g, d_real, d_fake, inactive)
    extra = None
    if method == "extra-pass":
        index = (~active).nonzero().view(-1)  # the one host sync: the pass's size depends on the data
        if index.numel():
            extra = inactive_input_gradient(D, fake, index, b, stage, options)
    fake.register_hook(_scaling_hook(gamma, extra))
    loss_d.backward()
    return _stats(loss_d, loss_g, d_real, d_fake, inactive)


def one_stage_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer | None,
    opt_d: torch.optim.Optimizer,
    real: Tensor,
    z: Tensor,
    arch=None,
    loss: str | Loss = "hinge",
    *,
    stage: int | None = None,
    update_g: bool = True,
    g_z: Tensor | None = None,
    options: StepOptions = DEFAULT_OPTIONS,
) -> StepStats:
    """One exact one-stage (OSGAN) step; see the module docstring.

    ``real``: ``(B, C, H, W)`` at the stage's resolution; ``z``: ``(B, latent)``;
    ``stage``: passed to ``D(x, stage)`` when given.  The result equals a simultaneous
    update (both gradients at the current G and D), which is
    ``two_stage_step(..., simultaneous=True)`` up to float error.  ``g_z`` exists for
    signature parity and must be None: a merged step trains G on the D batch's fakes.
    """
    if g_z is not None:
        raise ValueError(
            "one_stage_step: g_z must be None; one-stage steps train G on the D batch's fakes "
            "(use two_stage_step for a separate G batch)"
        )
    _check_optimizers(opt_g, opt_d, update_g)
    opt_d.zero_grad(set_to_none=True)
    if update_g:
        opt_g.zero_grad(set_to_none=True)
    stats = one_stage_gradients(G, D, real, z, arch, loss, stage=stage, update_g=update_g, options=options)
    opt_d.step()
    if update_g:
        opt_g.step()
    return stats


def two_stage_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer | None,
    opt_d: torch.optim.Optimizer,
    real: Tensor,
    z: Tensor,
    arch=None,
    loss: str | Loss = "hinge",
    *,
    stage: int | None = None,
    update_g: bool = True,
    g_z: Tensor | None = None,
    options: StepOptions = DEFAULT_OPTIONS,
    simultaneous: bool = False,
) -> StepStats:
    """A D step, then (with ``update_g``) a G step, each with its own forward and backward.

    - ``g_z=None``: the G step reuses the D step's fakes (the best two-stage schedule);
    - ``g_z`` given: the G step draws its own fakes from ``g_z``, as AutoGAN does (fresh z,
      G batch twice the D batch).
    - ``simultaneous=False`` (AutoGAN): D is updated first and the G step sees the new D.
      ``simultaneous=True`` computes G's gradient at the old D (spectral norm not advanced),
      which is the one-stage step's update up to float error.

    The G step back-propagates into G's parameters only: D's gradients would be discarded.
    """
    loss = get_loss(loss)
    _check_optimizers(opt_g, opt_d, update_g)
    reuse = update_g and g_z is None
    opt_d.zero_grad(set_to_none=True)
    fake, _, d_real, d_fake, loss_d = _d_forward(
        G, D, real, z, arch, loss, stage, options, track_g=reuse, detach_fake=True
    )
    loss_d.backward()
    if not update_g:
        opt_d.step()
        return _stats(loss_d, None, d_real, d_fake)
    if not simultaneous:
        opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    with step_autocast(options, real.device):
        fake_g = fake if g_z is None else _generate(G, g_z, arch)  # (B or 2B, C, H, W)
        with _frozen(D) if simultaneous else nullcontext():
            d_g = _discriminate(D, step_layout(fake_g, options), stage)
    loss_g = loss.g_loss(d_g)
    loss_g.backward(inputs=[p for p in G.parameters() if p.requires_grad])
    if simultaneous:
        opt_d.step()
    opt_g.step()
    return _stats(loss_d, loss_g, d_real, d_fake)
