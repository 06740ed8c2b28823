"""Spectral norm on a whole network, reproducibly seeded."""

from __future__ import annotations

import torch
from torch import nn


def apply_spectral_norm(module: nn.Module, seed: int) -> nn.Module:
    """Spectral norm (one power iteration per forward) on every conv and linear layer of ``module``.

    ``torch.nn.utils.parametrizations.spectral_norm`` draws its initial ``u`` from the
    global RNG; it runs inside a forked, seeded RNG so the result is reproducible and
    the caller's global RNG state is untouched.
    """
    from torch.nn.utils.parametrizations import spectral_norm

    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in layers:
            # ConvTranspose2d keeps output channels in dim 1.
            spectral_norm(layer, dim=1 if isinstance(layer, nn.ConvTranspose2d) else 0)
    return module
