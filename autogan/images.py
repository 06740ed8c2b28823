"""Sample grids as image files."""

from __future__ import annotations

import io

import torch


def png_bytes(images: torch.Tensor, nrow: int = 8) -> bytes:
    """A sample grid as PNG bytes (torchvision's grid), ready for an atomic write."""
    from torchvision.utils import save_image

    buffer = io.BytesIO()
    save_image(images, buffer, format="png", nrow=nrow, normalize=True, value_range=(-1, 1))
    return buffer.getvalue()
