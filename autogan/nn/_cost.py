"""Size of a derived generator: parameters and multiply-accumulates per image."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
    params, macs = _count(model, z)
    return Cost(params=params, macs=macs)


@dataclass(frozen=True)
class CellCosts:
    """A generator's cost split into a part every architecture has and one part per cell.

    Every cell maps ``ch`` to ``ch`` channels at a resolution fixed by its position, so what a
    cell adds depends on its own decisions alone and a generator's cost is ``base`` plus its
    cells' costs, exactly (tests/nn checks this against ``generator_cost``).  ``cells[s - 1]``
    maps the choice indices of cell ``s`` (``SearchSpace.encode`` order) to ``(params, macs)``.
    """

    base: tuple[int, int]
    cells: tuple[dict[tuple[int, ...], tuple[int, int]], ...]


@lru_cache(maxsize=16)  # a few seconds each; a search, its report and its tests ask for the same tables
def cell_costs(space, ch: int, latent_dim: int = 128, bottom_width: int = 4, out_channels: int = 3) -> CellCosts:
    """Every cell option's ``(params, macs)`` and the shared base, for ``space`` at these widths.

    Counting a generator per architecture takes about 40 ms, too slow for a space of
    hundreds of thousands; a cell at a time is a few hundred small counts.
    """
    import itertools

    cells = []
    for stage in range(1, space.num_cells + 1):
        decisions = space.decisions(stage)
        side = bottom_width * 2 ** (stage - 1)  # the cell's input resolution
        table = {}
        for indices in itertools.product(*(range(d.size) for d in decisions)):
            cell = space.decode(_filler(space, stage) + list(indices)).cells[-1]
            table[tuple(indices)] = _cell_cost(stage, cell, ch, bottom_width, side)
        cells.append(table)
    reference = space.decode(_filler(space, space.num_cells + 1))
    total = generator_cost(reference, ch, latent_dim, bottom_width, out_channels)
    spent = [table[tuple(space.encode(reference)[len(space.all_decisions(s - 1)) : len(space.all_decisions(s))])]
             for s, table in enumerate(cells, start=1)]
    base = (total.params - sum(p for p, _ in spent), total.macs - sum(m for _, m in spent))
    return CellCosts(base=base, cells=tuple(cells))


def _filler(space, stage: int) -> list[int]:
    """Choice indices of cells ``1..stage-1``, all zero: a prefix that ``decode`` can extend."""
    return [0] * len(space.all_decisions(stage - 1)) if stage > 1 else []


def _cell_cost(position: int, cell, ch: int, bottom_width: int, side: int) -> tuple[int, int]:
    from autogan.nn._generator import GeneratorCell

    with torch.device("meta"):
        module = _shape_only_resizes(GeneratorCell(position, cell, ch, ch))
        x = torch.zeros(1, ch, side, side)
        # Cell j's skip output is 2**j times the bottom width across.
        skips = [torch.zeros(1, ch, bottom_width * 2**j, bottom_width * 2**j) for j in range(1, position)]
    return _count(module, x, skips, False)


def _count(module: nn.Module, *inputs) -> tuple[int, int]:
    """``module``'s trainable parameters and the MACs of one forward pass on ``inputs``."""
    params = sum(p.numel() for p in module.parameters() if p.requires_grad)
    total = 0

    def count(layer: nn.Module, layer_inputs, output) -> None:
        nonlocal total
        total += _layer_macs(layer, output)

    counted = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    handles = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, counted)]
    try:
        with torch.no_grad():
            module.eval()(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return int(params), int(total)


class _ShapeOnlyResize(nn.Module):
    """An ``Interpolate`` that only makes the output's shape.

    Interpolation costs no MACs in the count, and on the meta device torch decomposes a
    bilinear resize into dozens of ops: this cut the table of the default space at ch 32 from
    7.8 s to 1.6 s.
    """

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = int(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H * s, W * s)
        return x.new_empty(x.shape[0], x.shape[1], x.shape[2] * self.scale, x.shape[3] * self.scale)


def _shape_only_resizes(module: nn.Module) -> nn.Module:
    from autogan.nn._ops import Interpolate

    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Interpolate):
                setattr(parent, name, _ShapeOnlyResize(child.scale))
    return module
