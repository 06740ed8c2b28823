"""Where training batches come from: one interface, two storage strategies.

A dataset that fits in memory at the training resolution lives on the device as
one tensor, and a batch is one index operation.  A large one (STL-10's 105k
images, an image folder of any size) is decoded and resized by DataLoader
workers, which prefetch while the GPU trains.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from autogan.data._resize import resize_images

# Larger than this at the training resolution (as uint8) and a dataset streams through workers.
MAX_TENSOR_BYTES = 512 * 2**20


def uint8_to_float(x: torch.Tensor) -> torch.Tensor:
    """Map uint8 pixels 0..255 onto [-1, 1], the range generators produce."""
    return x.float().div_(127.5).sub_(1.0)


def float_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Map [-1, 1] onto uint8 0..255, rounding to the nearest level.

    Rounding (rather than truncating) makes ``float_to_uint8(uint8_to_float(u)) == u``
    exactly, so real images reach a feature extractor with the pixel values stored
    on disk, as torch-fidelity reads them.
    """
    return x.clamp(-1.0, 1.0).mul(127.5).add_(127.5).round_().to(torch.uint8)


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Gray to RGB by replication, RGB to gray by ITU-R 601 luma (PIL's ``convert('L')``)."""
    have = x.shape[1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1)
    if have == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * weights).sum(dim=1, keepdim=True)
    raise ValueError(f"cannot convert images with {have} channels to {channels}; expected 1 or 3")


class ImageSource(ABC):
    """Images a training loop can draw batches from, as float tensors in [-1, 1]."""

    def __init__(self, name: str, num_images: int, channels: int, resolution: int):
        self.name = name
        self.num_images = num_images
        self.channels = channels
        self.resolution = resolution
        self.device = torch.device("cpu")

    @abstractmethod
    def sample_batch(self, batch_size: int, generator: torch.Generator, size: int | None = None) -> torch.Tensor:
        """``batch_size`` images drawn uniformly with replacement, ``(B, C, size, size)`` on ``self.device``.

        The draw consumes only ``generator``, so the same seed gives the same batches.
        ``size`` resizes on the fly (multi-level search); ``None`` keeps ``self.resolution``.
        """

    @abstractmethod
    def iter_batches(self, batch_size: int, size: int | None = None) -> Iterator[torch.Tensor]:
        """Every image once, in a fixed order, in batches (for reference statistics)."""

    def to(self, device: torch.device | str) -> "ImageSource":
        """Deliver batches on ``device``; returns ``self``."""
        self.device = torch.device(device)
        return self

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, num_images={self.num_images}, channels={self.channels}, "
            f"resolution={self.resolution}, device={self.device})"
        )


class TensorImageSource(ImageSource):
    """A dataset held as one tensor ``(N, C, H, W)``: float in [-1, 1], or uint8 to save memory."""

    def __init__(self, name: str, images: torch.Tensor):
        if images.dim() != 4 or images.shape[-1] != images.shape[-2]:
            raise ValueError(f"{name}: expected square images (N, C, H, W), got shape {tuple(images.shape)}")
        if images.dtype not in (torch.uint8, torch.float32):
            raise ValueError(f"{name}: images must be uint8 or float32, got {images.dtype}")
        super().__init__(name, images.shape[0], images.shape[1], images.shape[-1])
        self.images = images
        self.device = images.device

    def to(self, device: torch.device | str) -> "TensorImageSource":
        super().to(device)
        self.images = self.images.to(self.device)
        return self

    def _as_float(self, x: torch.Tensor, size: int | None) -> torch.Tensor:
        x = uint8_to_float(x) if x.dtype == torch.uint8 else x
        return resize_images(x, size) if size is not None else x

    def sample_batch(self, batch_size: int, generator: torch.Generator, size: int | None = None) -> torch.Tensor:
        index = torch.randint(self.num_images, (batch_size,), generator=generator, device=generator.device)
        return self._as_float(self.images[index.to(self.device)], size)

    def iter_batches(self, batch_size: int, size: int | None = None) -> Iterator[torch.Tensor]:
        for start in range(0, self.num_images, batch_size):
            yield self._as_float(self.images[start : start + batch_size], size)


def _on_host(generator: torch.Generator) -> torch.Generator:
    """A CPU generator for a sampler: ``generator`` itself, or one seeded from a device generator.

    The sampler draws its indices on the CPU; seeding reads the device once per stream.
    """
    if generator.device.type == "cpu":
        return generator
    seed = int(torch.randint(2**62, (), generator=generator, device=generator.device))
    return torch.Generator().manual_seed(seed)


class LoaderImageSource(ImageSource):
    """A dataset streamed by DataLoader workers; ``dataset[i]`` returns a uint8 ``(C, H, W)`` tensor."""

    def __init__(self, name: str, dataset: Dataset, channels: int, resolution: int, num_workers: int | None = None):
        super().__init__(name, len(dataset), channels, resolution)
        self.dataset = dataset
        self.num_workers = min(4, os.cpu_count() or 1) if num_workers is None else num_workers
        self._stream: Iterator[torch.Tensor] | None = None
        self._stream_key: tuple[int, int] | None = None

    def _loader(self, batch_size: int, sampler=None) -> DataLoader:
        return DataLoader(
            self.dataset,
            batch_size=batch_size,
            sampler=sampler,
            shuffle=False,
            drop_last=False,
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=self.num_workers > 0 and sampler is not None,
        )

    def _deliver(self, batch: torch.Tensor, size: int | None) -> torch.Tensor:
        x = uint8_to_float(batch.to(self.device, non_blocking=True))
        return resize_images(x, size) if size is not None else x

    def sample_batch(self, batch_size: int, generator: torch.Generator, size: int | None = None) -> torch.Tensor:
        # One endless prefetching stream per (batch size, generator): workers stay busy between calls,
        # and the sampler draws indices from `generator` in order, so batches stay reproducible.
        key = (batch_size, id(generator))
        if self._stream is None or self._stream_key != key:
            sampler = RandomSampler(self.dataset, replacement=True, num_samples=2**62, generator=_on_host(generator))
            self._stream = iter(self._loader(batch_size, sampler))
            self._stream_key = key
        return self._deliver(next(self._stream), size)

    def iter_batches(self, batch_size: int, size: int | None = None) -> Iterator[torch.Tensor]:
        for batch in self._loader(batch_size):
            yield self._deliver(batch, size)
