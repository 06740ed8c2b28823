"""Latents for sampling a retrained generator, optionally truncated."""

from __future__ import annotations

import torch

from autogan.errors import UserError


def truncated_latents(n: int, dim: int, tau: float | None, generator: torch.Generator) -> torch.Tensor:
    """``(n, dim)`` standard-normal latents; with ``tau``, BigGAN's truncation by resampling.

    Every component with ``|z_i| > tau`` is redrawn until none is left, so the result
    is exactly the normal distribution truncated to ``[-tau, tau]``.
    """
    z = torch.randn(n, dim, generator=generator)
    if tau is None:
        return z
    if not tau > 0:
        raise UserError(f"--truncation {tau}: tau must be positive, e.g. 0.5 (smaller: less diverse, more typical)")
    outside = z.abs() > tau
    while bool(outside.any()):
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > tau
    return z
