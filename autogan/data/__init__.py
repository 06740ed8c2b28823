"""Datasets for GAN training: the built-in digits, CIFAR-10, STL-10 and image folders.

Every dataset is an :class:`ImageSource` of float images in [-1, 1]; small ones
live on the device as one tensor, large ones stream through DataLoader workers.
"""

from autogan.data._datasets import DATASET_NAMES, get_dataset
from autogan.data._sources import ImageSource

__all__ = [
    "DATASET_NAMES",
    "ImageSource",
    "get_dataset",
]
