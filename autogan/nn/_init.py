"""Seeded initialization that never touches the global RNG.

Modules are constructed inside ``torch.random.fork_rng`` (PyTorch's default
initializers draw from the global generator) and then every weight is drawn
again from the network's own ``torch.Generator``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor, nn


@contextmanager
def untouched_global_rng() -> Iterator[None]:
    """Build modules here: whatever PyTorch draws is undone when the block exits."""
    with torch.random.fork_rng(devices=[]):
        yield


def seeded_generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator


def _weight(module: nn.Module) -> Tensor:
    # Spectral norm registers the trainable tensor as parametrizations.weight.original.
    parametrizations = getattr(module, "parametrizations", None)
    if parametrizations is not None and "weight" in parametrizations:
        return parametrizations.weight.original
    return module.weight


def _fans(weight: Tensor) -> tuple[int, int]:
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


@torch.no_grad()
def _uniform(tensor: Tensor, bound: float, generator: torch.Generator) -> None:
    if tensor.is_meta:
        return
    values = torch.empty(tensor.shape, dtype=torch.float32).uniform_(-bound, bound, generator=generator)
    tensor.copy_(values)


@torch.no_grad()
def _normal(tensor: Tensor, mean: float, std: float, generator: torch.Generator) -> None:
    if tensor.is_meta:
        return
    tensor.copy_(torch.empty(tensor.shape, dtype=torch.float32).normal_(mean, std, generator=generator))


def init_autogan_(module: nn.Module, generator: torch.Generator) -> None:
    """AutoGAN's ``weights_init('xavier_uniform')``, drawn from ``generator``.

    - convs and deconvs: xavier-uniform weights (gain 1); biases as PyTorch's default;
    - linear layers: PyTorch's default (uniform, bound ``1/sqrt(fan_in)``);
    - batch norm: weight ~ N(1, 0.02), bias 0, as the reference.

    The reference's class-name match skips ``ConvTranspose2d``; we give the deconvs
    xavier too, since REFERENCE.md asks for xavier-uniform convs.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            weight = _weight(layer)
            fan_in, fan_out = _fans(weight)
            _uniform(weight, math.sqrt(6.0 / (fan_in + fan_out)), generator)
            if layer.bias is not None:
                _uniform(layer.bias, 1.0 / math.sqrt(fan_in), generator)
        elif isinstance(layer, nn.Linear):
            weight = _weight(layer)
            fan_in, _ = _fans(weight)
            _uniform(weight, 1.0 / math.sqrt(fan_in), generator)
            if layer.bias is not None:
                _uniform(layer.bias, 1.0 / math.sqrt(fan_in), generator)
        elif isinstance(layer, nn.BatchNorm2d) and layer.affine:
            _normal(layer.weight, 1.0, 0.02, generator)
            if not layer.bias.is_meta:
                with torch.no_grad():
                    layer.bias.zero_()
