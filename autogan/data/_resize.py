"""Per-stage resizing: multi-level search trains at 8, 16, then 32 px."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_images(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a float batch ``(B, C, H, W)`` to ``(B, C, size, size)`` with bilinear filtering.

    Downsampling uses an antialiasing filter, so an 8 px stage sees a faithful
    low-pass image rather than an aliased subsample of the 32 px one.  A batch
    already at ``size`` is returned as is (no copy).
    """
    if x.dim() != 4:
        raise ValueError(f"resize_images expects a (B, C, H, W) batch, got shape {tuple(x.shape)}")
    if size <= 0:
        raise ValueError(f"resize_images: size must be positive, got {size}")
    height, width = x.shape[-2:]
    if height == size and width == size:
        return x
    if not x.is_floating_point():
        raise ValueError(f"resize_images expects a float batch, got {x.dtype}; convert uint8 images first")
    downsampling = size < height or size < width
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=downsampling)
