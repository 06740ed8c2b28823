"""CIFAR-10 and STL-10 from tiny directories in the real on-disk formats, and image folders.

The files are written byte-for-byte in the published layouts and read by
torchvision's own loaders.  Their MD5s cannot match the published archives, so
the default (verified) open must refuse them with a clear error, and
``verify_checksums=False`` must read them correctly.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from autogan.data import get_dataset
from autogan.data._sources import LoaderImageSource, TensorImageSource, uint8_to_float
from autogan.errors import MissingFileError, UserError

CIFAR_LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_image(index: int) -> np.ndarray:
    """A (32, 32, 3) uint8 image whose channels and orientation are all distinguishable."""
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, :, 0] = np.arange(32, dtype=np.uint8)[None, :] * 8  # red grows left to right
    image[:, :, 1] = np.arange(32, dtype=np.uint8)[:, None] * 4  # green grows top to bottom
    image[:, :, 2] = index
    return image


def write_cifar10(root, per_batch: int = 3) -> list[np.ndarray]:
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    train_images = []
    for batch in range(1, 7):
        name = f"data_batch_{batch}" if batch <= 5 else "test_batch"
        images = [cifar_image(100 + 10 * batch + i) for i in range(per_batch)]
        if batch <= 5:
            train_images += images
        # The published layout: each row is 1024 red, then 1024 green, then 1024 blue bytes, row-major.
        data = np.stack([img.transpose(2, 0, 1).reshape(-1) for img in images])
        entry = {
            "batch_label": f"training batch {batch} of 5" if batch <= 5 else "testing batch 1 of 1",
            "labels": [i % 10 for i in range(per_batch)],
            "data": data,
            "filenames": [f"img_{batch}_{i}.png" for i in range(per_batch)],
        }
        (base / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {"num_cases_per_batch": per_batch, "label_names": CIFAR_LABELS, "num_vis": 3072}
    (base / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return train_images


def stl_image(index: int) -> np.ndarray:
    """A (3, 96, 96) uint8 image: red on the left half only, green on the top half only."""
    image = np.zeros((3, 96, 96), np.uint8)
    image[0, :, :48] = 255
    image[1, :48, :] = 255
    image[2] = index
    return image


def write_stl10(root, num_train: int = 2, num_unlabeled: int = 3, num_test: int = 1) -> list[np.ndarray]:
    base = root / "stl10_binary"
    base.mkdir(parents=True)

    def write_images(name, images):
        # The published layout stores each channel column-major: (N, 3, W, H).
        (base / name).write_bytes(np.stack([img.transpose(0, 2, 1) for img in images]).tobytes())

    train = [stl_image(10 + i) for i in range(num_train)]
    unlabeled = [stl_image(50 + i) for i in range(num_unlabeled)]
    write_images("train_X.bin", train)
    write_images("unlabeled_X.bin", unlabeled)
    write_images("test_X.bin", [stl_image(90 + i) for i in range(num_test)])
    (base / "train_y.bin").write_bytes(np.arange(1, num_train + 1, dtype=np.uint8).tobytes())  # labels are 1-based
    (base / "test_y.bin").write_bytes(np.ones(num_test, np.uint8).tobytes())
    (base / "class_names.txt").write_text("\n".join(CIFAR_LABELS) + "\n")
    return train + unlabeled


def test_cifar10_real_format_loads_through_torchvision(tmp_path):
    expected = write_cifar10(tmp_path)
    source = get_dataset("cifar10", root=tmp_path, verify_checksums=False)
    assert isinstance(source, TensorImageSource)
    assert (source.num_images, source.channels, source.resolution) == (15, 3, 32)
    want = uint8_to_float(torch.from_numpy(np.stack(expected)).permute(0, 3, 1, 2))
    torch.testing.assert_close(torch.cat(list(source.iter_batches(4))), want, rtol=0, atol=0)
    batch = source.sample_batch(6, torch.Generator().manual_seed(0), size=16)
    assert batch.shape == (6, 3, 16, 16) and batch.min() >= -1 and batch.max() <= 1


def test_cifar10_checksums_are_verified_by_default(tmp_path):
    write_cifar10(tmp_path)
    with pytest.raises(UserError, match="do not match the published checksums.*--download"):
        get_dataset("cifar10", root=tmp_path)


def test_cifar10_gray_and_resized(tmp_path):
    write_cifar10(tmp_path)
    source = get_dataset("cifar10", root=tmp_path, verify_checksums=False, size=8, channels=1)
    assert (source.channels, source.resolution) == (1, 8)
    assert next(source.iter_batches(100)).shape == (15, 1, 8, 8)


def test_missing_cifar10_names_the_path_and_download(tmp_path):
    with pytest.raises(MissingFileError) as error:
        get_dataset("cifar10", root=tmp_path / "nowhere")
    message = str(error.value)
    assert str(tmp_path / "nowhere" / "cifar-10-batches-py") in message
    assert "--download" in message and "data_batch_1" in message


def test_stl10_train_plus_unlabeled_at_48px(tmp_path):
    write_stl10(tmp_path)
    source = get_dataset("stl10", root=tmp_path, verify_checksums=False)
    assert (source.num_images, source.channels, source.resolution) == (5, 3, 48)
    images = torch.cat(list(source.iter_batches(2)))
    assert images.shape == (5, 3, 48, 48)
    # Orientation survives torchvision's column-major read: red left, green top.
    assert images[:, 0, :, :20].min() == 1.0 and images[:, 0, :, 28:].max() == -1.0
    assert images[:, 1, :20, :].min() == 1.0 and images[:, 1, 28:, :].max() == -1.0
    # train images come first, then unlabeled ones.
    assert [round(v) for v in ((images[:, 2, 0, 0] + 1) * 127.5).tolist()] == [10, 11, 50, 51, 52]


def test_stl10_streams_through_a_loader_when_large(tmp_path):
    write_stl10(tmp_path)
    in_memory = get_dataset("stl10", root=tmp_path, verify_checksums=False)
    streamed = get_dataset("stl10", root=tmp_path, verify_checksums=False, max_tensor_bytes=0, num_workers=0)
    assert isinstance(streamed, LoaderImageSource)
    torch.testing.assert_close(torch.cat(list(streamed.iter_batches(2))), torch.cat(list(in_memory.iter_batches(2))))
    a = streamed.sample_batch(4, torch.Generator().manual_seed(5), size=16)
    b = get_dataset("stl10", root=tmp_path, verify_checksums=False, max_tensor_bytes=0, num_workers=0).sample_batch(
        4, torch.Generator().manual_seed(5), size=16
    )
    assert a.shape == (4, 3, 16, 16) and torch.equal(a, b)


def test_stl10_checksums_and_missing_files(tmp_path):
    write_stl10(tmp_path)
    with pytest.raises(UserError, match="STL-10 files .* do not match the published checksums"):
        get_dataset("stl10", root=tmp_path)
    (tmp_path / "stl10_binary" / "unlabeled_X.bin").unlink()
    with pytest.raises(MissingFileError, match="stl10_binary lacks unlabeled_X.bin.*--download"):
        get_dataset("stl10", root=tmp_path, verify_checksums=False)


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "imgs" / "nested").mkdir(parents=True)
    for i, (w, h) in enumerate([(40, 30), (64, 64), (20, 50)]):
        folder = tmp_path / "imgs" / ("nested" if i == 2 else "")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    source = get_dataset("folder", root=tmp_path / "imgs", size=16, num_workers=0)
    assert isinstance(source, LoaderImageSource)
    assert (source.num_images, source.channels, source.resolution) == (3, 3, 16)
    assert next(source.iter_batches(8)).shape == (3, 3, 16, 16)
    gray = get_dataset("folder", root=tmp_path / "imgs", size=8, channels=1, num_workers=0)
    batch = gray.sample_batch(5, torch.Generator().manual_seed(0))
    assert batch.shape == (5, 1, 8, 8) and batch.min() >= -1 and batch.max() <= 1


def test_image_folder_errors(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        get_dataset("folder", root=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="holds no images"):
        get_dataset("folder", root=tmp_path / "empty")
