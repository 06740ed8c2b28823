"""Size of a derived generator: parameters and multiply-accumulates per image."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from search_spaces import Architecture

from autogan.nn._generator import Generator


@dataclass(frozen=True)
class Cost:
    """``params``: trainable parameters; ``macs``: multiply-accumulates of one image's forward.

    MACs count convolutions, deconvolutions and linear layers (bias adds, norms,
    activations and interpolation are not counted, as is usual).
    """

    params: int
    macs: int


def _layer_macs(layer: nn.Module, output: torch.Tensor) -> int:
    if isinstance(layer, nn.Conv2d):
        kernel = layer.kernel_size[0] * layer.kernel_size[1]
        return output[0].numel() * (layer.in_channels // layer.groups) * kernel
    if isinstance(layer, nn.ConvTranspose2d):
        # Every input pixel is spread over kernel * out_channels outputs.
        kernel = layer.kernel_size[0] * layer.kernel_size[1]
        height, width = output.shape[-2] // layer.stride[0], output.shape[-1] // layer.stride[1]
        return layer.in_channels * height * width * kernel * (layer.out_channels // layer.groups)
    if isinstance(layer, nn.Linear):
        return layer.in_features * layer.out_features
    return 0


def generator_cost(
    arch: Architecture, ch: int, latent_dim: int = 128, bottom_width: int = 4, out_channels: int = 3
) -> Cost:
    """Parameters and MACs per image of ``Generator(arch, ch, ...)``.

    Built on the ``meta`` device, so a wide generator costs no memory or arithmetic.
    """
    with torch.device("meta"):
        model = Generator(arch, ch, latent_dim, bottom_width, out_channels)
        z = torch.zeros(1, latent_dim)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = 0

    def count(layer: nn.Module, inputs, output) -> None:
        nonlocal total
        total += _layer_macs(layer, output)

    counted = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, counted)]
    try:
        with torch.no_grad():
            model.eval()(z)
    finally:
        for handle in handles:
            handle.remove()
    return Cost(params=int(params), macs=int(total))
