"""Exponential moving average of a generator's weights (BigGAN style)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class EMA:
    """A shadow copy of ``model`` whose floating-point state tracks an exponential average.

    ``update(model, step)``: before ``start_step`` the shadow is an exact copy of ``model``;
    from then on every floating-point tensor of the state dict (parameters *and* buffers
    such as BN running statistics) becomes ``decay * shadow + (1 - decay) * current``.
    Integer buffers (BN's ``num_batches_tracked``) are copied.  ``.model`` is the
    averaged network, kept in eval mode with gradients off.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, start_step: int = 0) -> None:
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA: decay={decay} must be in [0, 1] (BigGAN uses 0.9999, AutoGAN retraining 0.999)")
        if start_step < 0:
            raise ValueError(f"EMA: start_step={start_step} must be non-negative")
        self.decay = float(decay)
        self.start_step = int(start_step)
        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Fold ``model``'s current state in; ``step`` is the number of G updates so far."""
        source = model.state_dict()
        target = self.model.state_dict()
        if source.keys() != target.keys():
            raise ValueError("EMA.update: model's state_dict keys differ from the averaged copy; pass the same model")
        copy_all = step < self.start_step
        averaged_target, averaged_source = [], []
        for key, value in target.items():
            current = source[key]
            if copy_all or not value.is_floating_point():
                value.copy_(current)
            else:
                averaged_target.append(value)
                averaged_source.append(current.to(value.dtype))
        if averaged_target:
            # decay * shadow + (1 - decay) * current, written as one fused kernel.
            torch._foreach_mul_(averaged_target, self.decay)
            torch._foreach_add_(averaged_target, averaged_source, alpha=1.0 - self.decay)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "start_step": self.start_step, "model": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay = float(state["decay"])
        self.start_step = int(state["start_step"])
        self.model.load_state_dict(state["model"])
