"""Datasets for GAN training: the built-in digits, CIFAR-10, STL-10 and image folders.

Every dataset is an :class:`ImageSource` of float images in [-1, 1]; small ones
live on the device as one tensor, large ones stream through DataLoader workers.
"""

from autogan.data._datasets import DATASET_NAMES, default_data_root, get_dataset
from autogan.data._digits import digits_labels, load_digits
from autogan.data._resize import resize_images
from autogan.data._sources import (
    ImageSource,
    LoaderImageSource,
    TensorImageSource,
    convert_channels,
    float_to_uint8,
    uint8_to_float,
)

__all__ = [
    "DATASET_NAMES",
    "ImageSource",
    "LoaderImageSource",
    "TensorImageSource",
    "convert_channels",
    "default_data_root",
    "digits_labels",
    "float_to_uint8",
    "get_dataset",
    "load_digits",
    "resize_images",
    "uint8_to_float",
]
