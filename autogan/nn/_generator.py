"""AutoGAN generators: the weight-sharing supernet and the derived standalone network.

Both run the same cell function (``_cell_forward``), so a derived network with
weights copied out of the supernet computes the same function bit for bit.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from search_spaces import Architecture, Cell, SearchSpace

from autogan.nn._init import init_autogan_, seeded_generator, untouched_global_rng
from autogan.nn._ops import ConvOp, check_ops_implemented, conv_op, norm_builder, up_builder


def _cell_forward(
    x: Tensor,
    op: ConvOp,
    *,
    conv1: nn.Module,
    conv2: nn.Module,
    norm1: nn.Module,
    norm2: nn.Module,
    up1: nn.Module,
    shortcut: tuple[nn.Module, nn.Module] | None,
    skips: Sequence[tuple[Tensor, nn.Module, nn.Module]],
    skip_out_includes_skip_ins: bool,
) -> tuple[Tensor, Tensor]:
    """One cell: returns ``(skip_out, out)``, both ``(B, C_out, 2H, 2W)`` for ``x`` of ``(B, C_in, H, W)``.

    ``skips`` holds ``(feature, resize, conv1x1)`` per received skip.  Every add is
    out of place: the reference's ``h += ...`` into a ReLU output is what breaks
    its autograd on PyTorch 2.x.
    """
    h = op.first(x, conv1, norm1, up1)  # (B, C, 2H, 2W)
    skip_out = h
    for feature, resize, project in skips:
        h = h + project(resize(feature))
    if skip_out_includes_skip_ins:
        skip_out = h
    out = op.second(h, conv2, norm2)
    if shortcut is not None:
        resize, project = shortcut
        out = out + project(resize(x))
    return skip_out, out


def _to_rgb(ch: int, out_channels: int) -> nn.Sequential:
    # Same layout (and state_dict keys) as the published derived models' to_rgb.
    return nn.Sequential(
        nn.BatchNorm2d(ch), nn.ReLU(), nn.Conv2d(ch, out_channels, kernel_size=3, padding=1), nn.Tanh()
    )


class _GeneratorShape(nn.Module):
    """What the supernet and a derived generator share: their sizes, checked once, and their config."""

    def _set_shape(
        self, ch: int, latent_dim: int, bottom_width: int, out_channels: int, skip_out_includes_skip_ins: bool
    ) -> None:
        sizes = {"ch": ch, "latent_dim": latent_dim, "bottom_width": bottom_width, "out_channels": out_channels}
        for name, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"generator: {name}={value!r} must be a positive integer")
        self.ch = ch
        self.latent_dim = latent_dim
        self.bottom_width = bottom_width
        self.out_channels = out_channels
        self.skip_out_includes_skip_ins = skip_out_includes_skip_ins

    def _shape_config(self) -> dict:
        return {
            "ch": self.ch,
            "latent_dim": self.latent_dim,
            "bottom_width": self.bottom_width,
            "out_channels": self.out_channels,
            "skip_out_includes_skip_ins": self.skip_out_includes_skip_ins,
        }


# --- supernet ---------------------------------------------------------------------------


class SupernetCell(nn.Module):
    """All parameters cell ``position`` (1-based) can use, keyed by op name.

    - ``conv1`` / ``conv2``: one 3x3 conv per block type, shared by every norm and upsampling;
    - ``norm1`` / ``norm2``: one norm per block type and position (so BN statistics are never shared);
    - ``up1``: the first conv's upsampling per block type (a deconv per block, as the reference);
    - ``c_sc`` + ``sc_up``: the shortcut's 1x1 conv and its own upsampling per mode;
    - ``skip_in_ops[j]`` + ``skip_up[j]``: for skip source cell ``j + 1``, a 1x1 conv and a resize by
      ``2**(position - j - 1)`` per mode (1 or 2 stacked deconvs when the mode is deconv).
    """

    def __init__(self, position: int, in_ch: int, out_ch: int, space: SearchSpace) -> None:
        super().__init__()
        self.position = position
        ops = {name: conv_op(name) for name in space.conv}
        self.conv1 = nn.ModuleDict({c: nn.Conv2d(in_ch, out_ch, 3, padding=1) for c in space.conv})
        self.conv2 = nn.ModuleDict({c: nn.Conv2d(out_ch, out_ch, 3, padding=1) for c in space.conv})
        self.norm1 = nn.ModuleDict(
            {
                c: nn.ModuleDict({n: norm_builder(n)(in_ch if ops[c].norm_on_input else out_ch) for n in space.norm})
                for c in space.conv
            }
        )
        self.norm2 = nn.ModuleDict(
            {c: nn.ModuleDict({n: norm_builder(n)(out_ch) for n in space.norm}) for c in space.conv}
        )
        self.up1 = nn.ModuleDict({c: nn.ModuleDict({u: up_builder(u)(in_ch, 1) for u in space.up}) for c in space.conv})
        self.c_sc = nn.Conv2d(in_ch, out_ch, kernel_size=1)
        self.sc_up = nn.ModuleDict({u: up_builder(u)(in_ch, 1) for u in space.up})
        self.skip_in_ops = nn.ModuleList(nn.Conv2d(out_ch, out_ch, kernel_size=1) for _ in range(position - 1))
        self.skip_up = nn.ModuleList(
            nn.ModuleDict({u: up_builder(u)(out_ch, position - source) for u in space.up})
            for source in range(1, position)
        )

    def forward(
        self, x: Tensor, cell: Cell, skip_features: Sequence[Tensor], skip_out_includes_skip_ins: bool
    ) -> tuple[Tensor, Tensor]:
        skips = [
            (skip_features[source - 1], self.skip_up[source - 1][cell.up], self.skip_in_ops[source - 1])
            for source in cell.skips
        ]
        return _cell_forward(
            x,
            conv_op(cell.conv),
            conv1=self.conv1[cell.conv],
            conv2=self.conv2[cell.conv],
            norm1=self.norm1[cell.conv][cell.norm],
            norm2=self.norm2[cell.conv][cell.norm],
            up1=self.up1[cell.conv][cell.up],
            shortcut=(self.sc_up[cell.up], self.c_sc) if cell.shortcut else None,
            skips=skips,
            skip_out_includes_skip_ins=skip_out_includes_skip_ins,
        )


class SupernetGenerator(_GeneratorShape):
    """AutoGAN's weight-sharing generator: ``forward(z, arch)`` runs any architecture of ``space``.

    Shared weights follow the reference: ``l1`` (latent -> ``ch x bw x bw``) and, per cell,
    the parameter sets of ``SupernetCell``.  ``arch`` may be a prefix of ``s`` cells
    (multi-level search); the output is then ``bottom_width * 2**s`` pixels wide.

    Each stage has its own output head ``to_rgbs[s - 1]`` (BN -> ReLU -> conv3x3 -> tanh):
    a head trained on 8 px features at stage 1 is not asked to also read the 32 px
    features of stage 3.  A derived ``Generator`` takes the head of its own depth.

    A cell's skip output is its first conv's output *before* the skips it receives are
    added (the clean semantics).  The reference adds in place, so its skip output also
    carries the received skips; ``skip_out_includes_skip_ins=True`` reproduces that,
    out of place.
    """

    def __init__(
        self,
        space: SearchSpace,
        ch: int = 128,
        latent_dim: int = 128,
        bottom_width: int = 4,
        out_channels: int = 3,
        *,
        skip_out_includes_skip_ins: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(space, SearchSpace):
            raise TypeError(f"SupernetGenerator: space must be a search_spaces.SearchSpace, got {type(space).__name__}")
        self._set_shape(ch, latent_dim, bottom_width, out_channels, skip_out_includes_skip_ins)
        for decision in ("conv", "norm", "up"):
            check_ops_implemented(decision, getattr(space, decision))
        self.space = space
        with untouched_global_rng():
            self.l1 = nn.Linear(latent_dim, bottom_width**2 * ch)
            self.cells = nn.ModuleList(SupernetCell(s, ch, ch, space) for s in range(1, space.num_cells + 1))
            self.to_rgbs = nn.ModuleList(_to_rgb(ch, out_channels) for _ in range(space.num_cells))
        init_autogan_(self, seeded_generator(seed))

    def config(self) -> dict:
        """Constructor arguments, for checkpoints that rebuild the model."""
        return {"space": self.space.to_dict(), **self._shape_config()}

    def output_size(self, arch: Architecture) -> int:
        return self.bottom_width * 2 ** len(arch.cells)

    def forward(self, z: Tensor, arch: Architecture) -> Tensor:  # (B, latent) -> (B, out, W, W)
        self.space.validate(arch, partial=True)
        h = self.l1(z).view(z.shape[0], self.ch, self.bottom_width, self.bottom_width)  # (B, ch, bw, bw)
        skip_features: list[Tensor] = []
        for cell, module in zip(arch.cells, self.cells):
            skip_out, h = module(h, cell, skip_features, self.skip_out_includes_skip_ins)
            skip_features.append(skip_out)
        return self.to_rgbs[len(arch.cells) - 1](h)


# --- derived network ----------------------------------------------------------------------


class GeneratorCell(nn.Module):
    """One cell of a derived generator, named as the published AutoGAN models.

    ``c1``, ``c2``, ``n1``, ``n2``, ``c_sc`` and ``skip_in_ops`` match the released
    ``autogan_cifar10_a`` cells; ``up1``, ``up_sc`` and ``skip_ups`` hold the resizes
    (parameter-free except for deconvs).
    """

    def __init__(self, position: int, cell: Cell, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.cell = cell
        self.op = conv_op(cell.conv)
        make_norm, make_up = norm_builder(cell.norm), up_builder(cell.up)
        self.c1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.c2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.n1 = make_norm(in_ch if self.op.norm_on_input else out_ch)
        self.n2 = make_norm(out_ch)
        self.up1 = make_up(in_ch, 1)
        if cell.shortcut:
            self.c_sc = nn.Conv2d(in_ch, out_ch, kernel_size=1)
            self.up_sc = make_up(in_ch, 1)
        if cell.skips:
            self.skip_in_ops = nn.ModuleList(nn.Conv2d(out_ch, out_ch, kernel_size=1) for _ in cell.skips)
            self.skip_ups = nn.ModuleList(make_up(out_ch, position - source) for source in cell.skips)

    def forward(
        self, x: Tensor, skip_features: Sequence[Tensor], skip_out_includes_skip_ins: bool
    ) -> tuple[Tensor, Tensor]:
        skips = []
        if self.cell.skips:
            skips = [
                (skip_features[source - 1], resize, project)
                for source, resize, project in zip(self.cell.skips, self.skip_ups, self.skip_in_ops)
            ]
        return _cell_forward(
            x,
            self.op,
            conv1=self.c1,
            conv2=self.c2,
            norm1=self.n1,
            norm2=self.n2,
            up1=self.up1,
            shortcut=(self.up_sc, self.c_sc) if self.cell.shortcut else None,
            skips=skips,
            skip_out_includes_skip_ins=skip_out_includes_skip_ins,
        )


class Generator(_GeneratorShape):
    """A standalone generator for one architecture: ``forward(z)``.

    The module layout is the published derived models': ``l1``, ``cell1..cellS``,
    ``to_rgb``.  With ``Generator.from_supernet`` it computes the supernet's function
    for ``arch``.
    """

    def __init__(
        self,
        arch: Architecture,
        ch: int,
        latent_dim: int = 128,
        bottom_width: int = 4,
        out_channels: int = 3,
        *,
        skip_out_includes_skip_ins: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(arch, Architecture):
            raise TypeError(f"Generator: arch must be a search_spaces.Architecture, got {type(arch).__name__}")
        self._set_shape(ch, latent_dim, bottom_width, out_channels, skip_out_includes_skip_ins)
        self.arch = arch
        with untouched_global_rng():
            self.l1 = nn.Linear(latent_dim, bottom_width**2 * ch)
            for position, cell in enumerate(arch.cells, start=1):
                self.add_module(f"cell{position}", GeneratorCell(position, cell, ch, ch))
            self.to_rgb = _to_rgb(ch, out_channels)
        init_autogan_(self, seeded_generator(seed))

    def config(self) -> dict:
        """Constructor arguments, for checkpoints that rebuild the model."""
        return {"arch": self.arch.to_dict(), **self._shape_config()}

    @property
    def output_size(self) -> int:
        return self.bottom_width * 2 ** len(self.arch.cells)

    def forward(self, z: Tensor) -> Tensor:  # (B, latent) -> (B, out, W, W)
        h = self.l1(z).view(z.shape[0], self.ch, self.bottom_width, self.bottom_width)  # (B, ch, bw, bw)
        skip_features: list[Tensor] = []
        for position in range(1, len(self.arch.cells) + 1):
            skip_out, h = getattr(self, f"cell{position}")(h, skip_features, self.skip_out_includes_skip_ins)
            skip_features.append(skip_out)
        return self.to_rgb(h)

    @classmethod
    def from_supernet(cls, supernet: SupernetGenerator, arch: Architecture) -> "Generator":
        """The derived network of ``arch`` with the supernet's weights (and BN statistics) copied in.

        The result lives on the supernet's device and dtype and starts in the supernet's
        train/eval mode.
        """
        supernet.space.validate(arch, partial=True)
        derived = cls(
            arch,
            supernet.ch,
            supernet.latent_dim,
            supernet.bottom_width,
            supernet.out_channels,
            skip_out_includes_skip_ins=supernet.skip_out_includes_skip_ins,
        )
        reference = next(supernet.parameters())
        derived.to(device=reference.device, dtype=reference.dtype)
        with torch.no_grad():
            derived.l1.load_state_dict(supernet.l1.state_dict())
            for position, cell in enumerate(arch.cells, start=1):
                source: SupernetCell = supernet.cells[position - 1]
                target: GeneratorCell = getattr(derived, f"cell{position}")
                target.c1.load_state_dict(source.conv1[cell.conv].state_dict())
                target.c2.load_state_dict(source.conv2[cell.conv].state_dict())
                target.n1.load_state_dict(source.norm1[cell.conv][cell.norm].state_dict())
                target.n2.load_state_dict(source.norm2[cell.conv][cell.norm].state_dict())
                target.up1.load_state_dict(source.up1[cell.conv][cell.up].state_dict())
                if cell.shortcut:
                    target.c_sc.load_state_dict(source.c_sc.state_dict())
                    target.up_sc.load_state_dict(source.sc_up[cell.up].state_dict())
                for index, skip in enumerate(cell.skips):
                    target.skip_in_ops[index].load_state_dict(source.skip_in_ops[skip - 1].state_dict())
                    target.skip_ups[index].load_state_dict(source.skip_up[skip - 1][cell.up].state_dict())
            derived.to_rgb.load_state_dict(supernet.to_rgbs[len(arch.cells) - 1].state_dict())
        derived.train(supernet.training)
        return derived
