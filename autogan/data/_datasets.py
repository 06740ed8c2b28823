"""``get_dataset``: the built-in digits, CIFAR-10, STL-10 and image folders behind one call."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from autogan.data._digits import load_digits
from autogan.data._resize import resize_images
from autogan.data._sources import (
    MAX_TENSOR_BYTES,
    ImageSource,
    LoaderImageSource,
    TensorImageSource,
    convert_channels,
    float_to_uint8,
    uint8_to_float,
)
from autogan.errors import ConfigError, MissingFileError, UserError
from autogan.log import logger

DATASET_NAMES = ("digits", "cifar10", "stl10", "folder")

# (native channels, default training resolution); STL-10 is trained at 48 px, as in AutoGAN.
_DEFAULTS = {"digits": (1, 32), "cifar10": (3, 32), "stl10": (3, 48), "folder": (3, None)}

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

_CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch", "batches.meta")
_STL10_FILES = ("train_X.bin", "train_y.bin", "unlabeled_X.bin", "test_X.bin", "test_y.bin")


def default_data_root() -> Path:
    """``$AUTOGAN_DATA`` if set, else ``./data``."""
    return Path(os.environ.get("AUTOGAN_DATA") or "data")


def get_dataset(
    name: str,
    *,
    root: str | os.PathLike | None = None,
    download: bool = False,
    size: int | None = None,
    channels: int | None = None,
    verify_checksums: bool = True,
    num_workers: int | None = None,
    max_tensor_bytes: int = MAX_TENSOR_BYTES,
) -> ImageSource:
    """Open a dataset as an :class:`ImageSource` of ``channels``-channel images at ``size`` px.

    ``name`` is one of ``digits`` (built in, offline), ``cifar10`` (training split),
    ``stl10`` (train+unlabeled split, 48 px by default) or ``folder`` (every image
    under ``root``, center-cropped to a square).  ``root`` defaults to
    ``$AUTOGAN_DATA`` or ``./data``; ``download`` lets torchvision fetch CIFAR-10 or
    STL-10 there.  ``verify_checksums=False`` accepts dataset files whose MD5 differs
    from the published archive (a re-packed copy); the files are still read by
    torchvision's own loader.  A dataset that fits in ``max_tensor_bytes`` (as uint8
    at ``size``) is held as one tensor; a larger one streams through
    ``num_workers`` DataLoader workers.
    """
    if name not in DATASET_NAMES:
        raise ConfigError(f"unknown dataset {name!r}: choose one of {', '.join(DATASET_NAMES)}")
    native_channels, default_size = _DEFAULTS[name]
    channels = native_channels if channels is None else channels
    if channels not in (1, 3):
        raise ConfigError(f"dataset {name}: channels must be 1 or 3, got {channels}")
    if size is not None and size <= 0:
        raise ConfigError(f"dataset {name}: size must be a positive number of pixels, got {size}")

    if name == "digits":
        return TensorImageSource("digits", load_digits(size or default_size, channels))

    if name == "folder":
        if root is None:
            raise ConfigError("dataset folder needs the image directory as root (--root DIR)")
        return _open_folder(Path(root), size, channels, num_workers)

    root = Path(root) if root is not None else default_data_root()
    size = size or default_size
    if name == "cifar10":
        images = _read_cifar10(root, download, verify_checksums)  # (N, 32, 32, 3) uint8
    else:
        images = _read_stl10(root, download, verify_checksums)  # (N, 3, 96, 96) uint8
    images = images.transpose(0, 3, 1, 2) if name == "cifar10" else images  # (N, 3, H, W)
    logger.info("%s: %d images under %s, %d px, %d channel(s)", name, len(images), root, size, channels)
    if len(images) * channels * size * size <= max_tensor_bytes:
        return TensorImageSource(name, _to_uint8_tensor(images, size, channels))
    return LoaderImageSource(name, _ArrayImages(images, size, channels), channels, size, num_workers)


def _to_uint8_tensor(images: np.ndarray, size: int, channels: int, chunk: int = 2048) -> torch.Tensor:
    """Resize and convert a uint8 array ``(N, C, H, W)`` in chunks, so peak memory stays small."""
    if images.shape[-1] == size and images.shape[1] == channels:
        return torch.from_numpy(np.ascontiguousarray(images))
    out = torch.empty((len(images), channels, size, size), dtype=torch.uint8)
    for start in range(0, len(images), chunk):
        x = uint8_to_float(torch.from_numpy(np.ascontiguousarray(images[start : start + chunk])))
        out[start : start + chunk] = float_to_uint8(convert_channels(resize_images(x, size), channels))
    return out


class _ArrayImages(Dataset):
    """Items of an in-RAM uint8 array, resized in the worker that reads them."""

    def __init__(self, images: np.ndarray, size: int, channels: int):
        self.images, self.size, self.channels = images, size, channels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return _to_uint8_tensor(self.images[index : index + 1], self.size, self.channels)[0]


class _FolderImages(Dataset):
    """Image files, decoded, center-cropped to a square and resized to ``size`` px."""

    def __init__(self, files: list[Path], size: int, channels: int):
        self.files, self.size, self.channels = files, size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        from PIL import Image
        from torchvision.transforms.functional import center_crop, pil_to_tensor

        with Image.open(self.files[index]) as image:
            x = pil_to_tensor(image.convert("L" if self.channels == 1 else "RGB"))  # (C, H, W) uint8
        x = center_crop(x, [min(x.shape[-2:])] * 2)
        return _to_uint8_tensor(x.unsqueeze(0).numpy(), self.size, self.channels)[0]


def _open_folder(root: Path, size: int | None, channels: int, num_workers: int | None) -> ImageSource:
    if not root.is_dir():
        raise MissingFileError(f"image folder {root} does not exist: {ROOT_HINT}, DIR holding the images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise MissingFileError(
            f"image folder {root} holds no images ({', '.join(IMAGE_EXTENSIONS)}): put the training images there"
        )
    if size is None:
        from PIL import Image

        with Image.open(files[0]) as first:
            size = min(first.size)
    logger.info("folder: %d images under %s, %d px, %d channel(s)", len(files), root, size, channels)
    return LoaderImageSource(f"folder:{root}", _FolderImages(files, size, channels), channels, size, num_workers)


# The data layer serves every command, so its hints name each command's own switch: a search or a
# retrain takes config keys, `autogan metrics` takes flags.
DOWNLOAD_HINT = "add data.download=true (autogan metrics: --download)"
ROOT_HINT = "set data.root=DIR (autogan metrics: --root DIR)"


def _check_files(dataset: str, base: Path, files: tuple[str, ...], how_to_get: str) -> None:
    missing = [f for f in files if not (base / f).is_file()]
    if missing:
        raise MissingFileError(
            f"{dataset} not found: {base} lacks {', '.join(missing)}. "
            f"To fetch it into {base.parent}, {DOWNLOAD_HINT}; or {how_to_get}"
        )


def _open_torchvision(dataset: str, build, base: Path, download: bool):
    try:
        return build()
    except RuntimeError as exc:
        if "corrupted" not in str(exc) and "not found" not in str(exc):
            raise
        raise UserError(
            f"{dataset} files under {base} do not match the published checksums (incomplete or altered files): "
            f"delete {base} and fetch it again ({DOWNLOAD_HINT}), or copy intact extracted files there"
        ) from exc
    except OSError as exc:
        if not download:
            raise
        raise MissingFileError(
            f"{dataset}: download into {base.parent} failed ({exc}); without internet access, "
            f"copy the extracted files into {base}"
        ) from exc


def _read_cifar10(root: Path, download: bool, verify_checksums: bool) -> np.ndarray:
    from torchvision.datasets import CIFAR10

    base = root / CIFAR10.base_folder
    if not download:
        _check_files(
            "CIFAR-10",
            base,
            _CIFAR10_FILES,
            f"extract cifar-10-python.tar.gz from {CIFAR10.url} into {root}",
        )
    cls = CIFAR10 if verify_checksums else _unverified(CIFAR10)
    dataset = _open_torchvision("CIFAR-10", lambda: cls(str(root), train=True, download=download), base, download)
    return dataset.data


def _read_stl10(root: Path, download: bool, verify_checksums: bool) -> np.ndarray:
    from torchvision.datasets import STL10

    base = root / STL10.base_folder
    if not download:
        _check_files("STL-10", base, _STL10_FILES, f"extract stl10_binary.tar.gz from {STL10.url} into {root}")
    cls = STL10 if verify_checksums else _unverified(STL10)
    dataset = _open_torchvision(
        "STL-10", lambda: cls(str(root), split="train+unlabeled", download=download), base, download
    )
    return dataset.data


def _without_md5(entries):
    # torchvision's check_integrity(path, md5=None) checks existence only: the loader itself is unchanged.
    return [[filename, None] for filename, _ in entries]


@functools.lru_cache(maxsize=None)
def _unverified(cls):
    """``cls`` with its MD5 list blanked, for re-packed copies of the published files."""
    attributes = {"train_list": _without_md5(cls.train_list), "test_list": _without_md5(cls.test_list)}
    if hasattr(cls, "meta"):
        attributes["meta"] = {**cls.meta, "md5": None}
    return type(f"Unverified{cls.__name__}", (cls,), attributes)
