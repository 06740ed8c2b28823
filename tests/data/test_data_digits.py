"""The built-in digits, per-stage resizing, and the tensor-backed ImageSource."""

from __future__ import annotations

import pytest
import torch

from autogan.data import get_dataset
from autogan.data._digits import digits_labels, load_digits
from autogan.data._resize import resize_images
from autogan.data._sources import TensorImageSource, float_to_uint8, uint8_to_float
from autogan.errors import ConfigError


def test_load_digits_shape_range_and_labels():
    x = load_digits()
    assert x.shape == (1797, 1, 32, 32) and x.dtype == torch.float32
    assert x.min() == -1.0 and x.max() == 1.0
    labels = digits_labels()
    assert labels.shape == (1797,) and set(labels.tolist()) == set(range(10))
    rgb = load_digits(size=8, channels=3)
    assert rgb.shape == (1797, 3, 8, 8)
    assert torch.equal(rgb[:, 0], rgb[:, 2])
    # At the native 8 px the values are exactly the 0..16 grid mapped onto [-1, 1].
    from sklearn.datasets import load_digits as sklearn_digits

    native = torch.from_numpy(sklearn_digits().images).float() / 16 * 2 - 1
    torch.testing.assert_close(load_digits(size=8)[:, 0], native)


def test_resize_images_per_stage():
    x = load_digits(size=32)[:16]
    assert resize_images(x, 32) is x
    for size in (8, 16, 48):
        assert resize_images(x, size).shape == (16, 1, size, size)
    # Antialiased downsampling keeps the image mean (aliasing would not).
    torch.testing.assert_close(resize_images(x, 8).mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=0.02, rtol=0)
    with pytest.raises(ValueError):
        resize_images(x[0], 8)


def test_uint8_round_trip_is_exact():
    u = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(float_to_uint8(uint8_to_float(u)), u)
    assert float_to_uint8(torch.tensor([-3.0, 3.0])).tolist() == [0, 255]


def test_digits_source_batches_are_seeded():
    source = get_dataset("digits", size=16)
    assert isinstance(source, TensorImageSource)
    assert (source.num_images, source.channels, source.resolution) == (1797, 1, 16)
    a = source.sample_batch(64, torch.Generator().manual_seed(1))
    b = source.sample_batch(64, torch.Generator().manual_seed(1))
    c = source.sample_batch(64, torch.Generator().manual_seed(2))
    assert a.shape == (64, 1, 16, 16) and torch.equal(a, b) and not torch.equal(a, c)
    assert source.sample_batch(8, torch.Generator().manual_seed(1), size=8).shape == (8, 1, 8, 8)
    batches = list(source.iter_batches(500))
    assert [len(b) for b in batches] == [500, 500, 500, 297]
    assert torch.equal(torch.cat(batches), source.images)


def test_sampling_leaves_global_rng_alone():
    state = torch.get_rng_state()
    get_dataset("digits").sample_batch(32, torch.Generator().manual_seed(0))
    assert torch.equal(state, torch.get_rng_state())


def test_bad_dataset_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="unknown dataset 'mnist'"):
        get_dataset("mnist")
    with pytest.raises(ConfigError, match="channels must be 1 or 3"):
        get_dataset("digits", channels=2)
    with pytest.raises(ConfigError, match="needs the image directory"):
        get_dataset("folder")
