"""What a supernet training step costs at each stage, for the ETA of a stage not yet timed.

A policy iteration's time is mostly D steps (the digits default: about 115 s of D steps against
30 s of rewards an iteration at stage 3), and a D step puts each image of its batch once through
the supernet (the fakes) and each real and fake image through the discriminator.  Its
multiply-accumulates per batch image, G's plus twice D's, therefore scale like the step's time
from one stage to the next; backward passes cost a fixed multiple of the forwards, which cancels
in the ratio.  The networks are built on the meta device: no memory, no arithmetic.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from search_spaces import SearchSpace

from autogan.config import ModelConfig
from autogan.nn import Discriminator, generator_cost
from autogan.nn._cost import _layer_macs

SAMPLED_ARCHITECTURES = 8  # G's cost depends on the architecture drawn; their mean stands for the supernet's


def discriminator_macs(df: int, channels: int, stages: int, stage: int, width: int) -> int:
    """MACs of one ``width`` px image through ``Discriminator(df, channels, stages)`` at ``stage``."""
    with torch.device("meta"):
        model = Discriminator(df, channels, stages, spectral_norm=False)
        x = torch.zeros(1, channels, width, width)
    total = 0

    def count(layer: nn.Module, inputs, output) -> None:
        nonlocal total
        total += _layer_macs(layer, output)

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(x, stage=stage)
    finally:
        for handle in handles:
            handle.remove()
    return total


def stage_step_macs(space: SearchSpace, model: ModelConfig, channels: int, seed: int = 0) -> list[int]:
    """Per stage: G's MACs for one fake (mean over sampled prefixes) plus D's for a real and a fake."""
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(SAMPLED_ARCHITECTURES)]
    costs = []
    for stage in range(1, space.num_cells + 1):
        g = np.mean([
            generator_cost(space.prefix(arch, stage), model.ch, model.latent_dim, model.bottom_width, channels).macs
            for arch in archs
        ])
        d = discriminator_macs(model.df, channels, space.num_cells, stage, model.bottom_width * 2**stage)
        costs.append(int(round(g)) + 2 * d)
    return costs
