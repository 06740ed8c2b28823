"""The built-in offline dataset: scikit-learn's 1,797 handwritten digits (8x8, values 0..16)."""

from __future__ import annotations

import functools

import numpy as np
import torch

from autogan.data._resize import resize_images

DIGITS_NATIVE_SIZE = 8
DIGITS_MAX_VALUE = 16.0


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    # sklearn parses a compressed CSV on every call; the arrays are small, so keep one copy.
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    images = bunch.images.astype(np.float32)  # (N, 8, 8), 0..16
    labels = bunch.target.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_digits(size: int = 32, channels: int = 1) -> torch.Tensor:
    """All 1,797 digits as a float32 tensor ``(N, channels, size, size)`` in [-1, 1].

    Images are rescaled from 0..16 to [-1, 1] at their native 8x8 and then resized
    bilinearly (antialiased when shrinking).  ``channels=3`` replicates the gray
    channel, for models that expect RGB.
    """
    if channels not in (1, 3):
        raise ValueError(f"load_digits: channels must be 1 or 3, got {channels}")
    images, _ = _digits_arrays()
    x = torch.from_numpy(images.copy()).unsqueeze(1)  # (N, 1, 8, 8)
    x = x / DIGITS_MAX_VALUE * 2.0 - 1.0
    x = resize_images(x, size).clamp_(-1.0, 1.0)
    if channels == 3:
        x = x.expand(-1, 3, -1, -1).contiguous()
    return x


def digits_labels() -> torch.Tensor:
    """The class (0..9) of each image of :func:`load_digits`, as an int64 tensor ``(N,)``."""
    _, labels = _digits_arrays()
    return torch.from_numpy(labels.copy())
