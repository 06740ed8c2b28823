"""BigGAN's orthogonal regularization, applied directly to gradients."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


@torch.no_grad()
def orthogonal_regularization(model: nn.Module, beta: float = 1e-4) -> float:
    """Add the gradient of ``R = beta * sum_W ||W W^T * (1 - I)||_F^2`` to each ``W.grad``.

    Call between ``backward()`` and ``optimizer.step()``.  ``W`` is each trainable
    parameter with two or more dimensions, flattened to ``(out, -1)``; 1-D parameters
    (biases, norm scales) and embedding tables are skipped, as in BigGAN.  The gradient
    added is ``4 * beta * (W W^T * (1 - I)) W``, the exact derivative of ``R``; BigGAN's
    code adds half of that, so its ``beta`` equals our ``beta / 2``.  Returns ``R``.
    """
    skipped = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))}
    total = 0.0
    for parameter in model.parameters():
        if parameter.dim() < 2 or not parameter.requires_grad or id(parameter) in skipped:
            continue
        w = parameter.reshape(parameter.shape[0], -1)  # (out, fan_in)
        gram = w @ w.t()
        gram.fill_diagonal_(0.0)  # (out, out), off-diagonal part only
        grad = (4.0 * beta) * (gram @ w)
        if parameter.grad is None:
            parameter.grad = grad.view_as(parameter).clone()
        else:
            parameter.grad.add_(grad.view_as(parameter))
        total += beta * float(gram.pow(2).sum())
    return total


class OrthogonallyRegularized:
    """An optimizer whose ``step`` first adds BigGAN's orthogonal-regularization gradient.

    The training steps call only ``zero_grad`` and ``step``; wrapping the optimizer puts
    the regularizer between G's backward and its update for one-stage and two-stage
    steps alike.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, model: nn.Module, beta: float):
        self.optimizer = optimizer
        self.model = model
        self.beta = beta

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        orthogonal_regularization(self.model, self.beta)
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)
