"""GAN losses as small pure functions of the discriminator's outputs, in a registry.

A loss is split into per-sample terms: D's term on real outputs, D's term on fake
outputs and G's term on fake outputs.  One-stage steps need the fake terms to be
means (or sums) of per-sample functions: that is what makes per-sample gradient
scaling at the G/D boundary exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable

import torch.nn.functional as F
from torch import Tensor

from autogan.errors import ConfigError, shown

LossTerm = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Loss:
    """``d_loss = d_real(D(x)) + d_fake(D(G(z)))`` and ``g_loss = g_fake(D(G(z)))``.

    Each term maps outputs of shape ``(B,)`` or ``(B, 1)`` to a scalar.  ``symmetric``
    means ``g_fake == -d_fake`` up to a constant, so one-stage steps only flip the sign
    at the fake images.
    """

    name: str
    d_real: LossTerm
    d_fake: LossTerm
    g_fake: LossTerm
    symmetric: bool
    description: str = ""

    def d_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return self.d_real(d_real) + self.d_fake(d_fake)

    def g_loss(self, d_fake: Tensor) -> Tensor:
        return self.g_fake(d_fake)


_REGISTRY: dict[str, Loss] = {}
#: Losses by ``train.loss``, read-only as every registry here: ``register_loss`` is the one way in,
#: so that a saved config's name keeps meaning the same loss.
LOSSES = MappingProxyType(_REGISTRY)


def register_loss(loss: Loss) -> Loss:
    """Add ``loss`` under ``loss.name``; a name is registered once."""
    if loss.name in LOSSES:
        raise ValueError(f"register_loss: a loss named {loss.name!r} is already registered; pick another name")
    _REGISTRY[loss.name] = loss
    return loss


def get_loss(name: str | Loss) -> Loss:
    """The registered loss called ``name`` (a ``Loss`` passes through)."""
    if isinstance(name, Loss):
        return name
    if name not in LOSSES:
        raise ConfigError(f"train.loss={shown(name)}: not a known loss; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]


def _hinge_real(d: Tensor) -> Tensor:
    return F.relu(1.0 - d).mean()


def _hinge_fake(d: Tensor) -> Tensor:
    return F.relu(1.0 + d).mean()


def _minus_mean(d: Tensor) -> Tensor:
    return -d.mean()


def _mean(d: Tensor) -> Tensor:
    return d.mean()


def _bce_real(d: Tensor) -> Tensor:
    return F.softplus(-d).mean()  # -log sigmoid(d)


def _bce_fake(d: Tensor) -> Tensor:
    return F.softplus(d).mean()  # -log(1 - sigmoid(d))


register_loss(
    Loss("hinge", _hinge_real, _hinge_fake, _minus_mean, symmetric=False,
         description="hinge for D, -mean D(G(z)) for G (AutoGAN, SNGAN)")
)
register_loss(
    Loss("bce", _bce_real, _bce_fake, _bce_real, symmetric=False,
         description="non-saturating cross-entropy: G minimizes -log sigmoid(D(G(z)))")
)
register_loss(
    Loss("wasserstein", _minus_mean, _mean, _minus_mean, symmetric=True,
         description="Wasserstein critic loss; the Lipschitz bound comes from spectral norm")
)
