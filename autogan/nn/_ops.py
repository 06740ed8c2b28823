"""Name -> module builders for the ops a cell decision can choose.

``search_spaces`` owns the op *names* (``search_spaces.register_op``); this
module owns what each name *computes*.  A name registered in the space but not
here raises ``OpNotImplemented`` as soon as a network for it is built, not in
the middle of a training step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from autogan.errors import UserError


class OpNotImplemented(UserError):
    """A cell op that the search space accepts but ``autogan.nn`` cannot build."""


@dataclass(frozen=True)
class ConvOp:
    """How a conv block orders norm, ReLU, upsampling and its 3x3 conv.

    ``first(x, conv, norm, up)`` is a cell's upsampling block and
    ``second(h, conv, norm)`` its same-size block.  ``norm_on_input`` says
    whether the norm sees the conv's input channels (pre-activation) or its
    output channels (post-activation).
    """

    name: str
    norm_on_input: bool
    first: Callable[[Tensor, nn.Module, nn.Module, nn.Module], Tensor]
    second: Callable[[Tensor, nn.Module, nn.Module], Tensor]


#: ``builder(channels) -> module`` that keeps the shape ``(B, C, H, W)``.
NormBuilder = Callable[[int], nn.Module]
#: ``builder(channels, doublings) -> module``: ``(B, C, H, W) -> (B, C, H * 2**d, W * 2**d)``.
UpBuilder = Callable[[int, int], nn.Module]

_CONV: dict[str, ConvOp] = {}
_NORM: dict[str, NormBuilder] = {}
_UP: dict[str, UpBuilder] = {}
_TABLES = {"conv": _CONV, "norm": _NORM, "up": _UP}


def _register(decision: str, name: str, value) -> None:
    table = _TABLES[decision]
    if name in table:
        raise ValueError(f"autogan.nn: {decision} op {name!r} already has a builder; pick another name")
    table[name] = value


def register_conv_op(op: ConvOp) -> ConvOp:
    """Teach the networks a conv block type (the space must also ``register_op("conv", name)``)."""
    _register("conv", op.name, op)
    return op


def register_norm_op(name: str, builder: NormBuilder) -> NormBuilder:
    """Teach the networks a normalization; ``builder(channels)`` returns a shape-keeping module."""
    _register("norm", name, builder)
    return builder


def register_up_op(name: str, builder: UpBuilder) -> UpBuilder:
    """Teach the networks an upsampling; ``builder(channels, doublings)`` scales H and W by ``2**doublings``."""
    _register("up", name, builder)
    return builder


def implemented_ops(decision: str) -> tuple[str, ...]:
    """Op names of ``decision`` ("conv", "norm" or "up") that ``autogan.nn`` can build."""
    return tuple(_TABLES[decision])


def conv_op(name: str) -> ConvOp:
    return _lookup("conv", name)


def norm_builder(name: str) -> NormBuilder:
    return _lookup("norm", name)


def up_builder(name: str) -> UpBuilder:
    return _lookup("up", name)


def _lookup(decision: str, name: str):
    table = _TABLES[decision]
    if name not in table:
        helper = {"conv": "register_conv_op(ConvOp(...))", "norm": "register_norm_op", "up": "register_up_op"}
        raise OpNotImplemented(
            f"{decision} op {name!r}: the search space accepts it but autogan.nn has no module for it "
            f"(built-in {decision} ops: {list(table)}); add one with autogan.nn.{helper[decision]}"
        )
    return table[name]


def check_ops_implemented(decision: str, names) -> None:
    for name in names:
        _lookup(decision, name)


# --- the AutoGAN ops ---------------------------------------------------------------------


def _pre_first(x: Tensor, conv: nn.Module, norm: nn.Module, up: nn.Module) -> Tensor:
    return conv(up(F.relu(norm(x))))


def _pre_second(h: Tensor, conv: nn.Module, norm: nn.Module) -> Tensor:
    return conv(F.relu(norm(h)))


def _post_first(x: Tensor, conv: nn.Module, norm: nn.Module, up: nn.Module) -> Tensor:
    return F.relu(norm(conv(up(x))))


def _post_second(h: Tensor, conv: nn.Module, norm: nn.Module) -> Tensor:
    return F.relu(norm(conv(h)))


class Interpolate(nn.Module):
    """Parameter-free upsampling by ``2**doublings`` (``F.interpolate``)."""

    def __init__(self, mode: str, doublings: int) -> None:
        super().__init__()
        self.mode = mode
        self.scale = float(2**doublings)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C, H * s, W * s)
        if self.mode == "nearest":
            return F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return F.interpolate(x, scale_factor=self.scale, mode=self.mode, align_corners=False)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, scale={self.scale:g}"


def _deconv_stack(channels: int, doublings: int) -> nn.Module:
    # A resize by 4 is two stacked 2x2 deconvs, as the reference's skip_deconvx4.
    return nn.Sequential(
        *(nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2) for _ in range(doublings))
    )


register_conv_op(ConvOp("pre", norm_on_input=True, first=_pre_first, second=_pre_second))
register_conv_op(ConvOp("post", norm_on_input=False, first=_post_first, second=_post_second))
register_norm_op("none", lambda channels: nn.Identity())
register_norm_op("bn", lambda channels: nn.BatchNorm2d(channels))
register_norm_op("in", lambda channels: nn.InstanceNorm2d(channels, affine=False))
register_up_op("bilinear", lambda channels, doublings: Interpolate("bilinear", doublings))
register_up_op("nearest", lambda channels, doublings: Interpolate("nearest", doublings))
register_up_op("deconv", _deconv_stack)
