"""FID reference statistics: computed once per (dataset, resolution, extractor), cached on disk."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from autogan.data import ImageSource, get_dataset
from autogan.log import logger
from autogan.files import atomic_write
from autogan.metrics._cache import resolve_cache_dir
from autogan.metrics._evaluate import DEFAULT_BATCH_SIZE, extract_features
from autogan.metrics._extractors import FeatureExtractor
from autogan.metrics._scores import FeatureStats, compute_statistics

REFERENCE_FORMAT = 1


def reference_key(
    dataset_name: str,
    resolution: int,
    extractor: FeatureExtractor,
    root: str | os.PathLike | None = None,
    *,
    loaded_at: int | None = None,
) -> str:
    """The cache key: dataset (an image folder by its resolved path), resolution, and the extractor's exact weights.

    ``loaded_at``: the resolution the images were loaded at before being resized to
    ``resolution`` (a search's early stages); resizing twice gives other pixels than loading
    once, so the key names both.
    """
    name = dataset_name
    if dataset_name == "folder" and root is not None:
        name = f"folder-{hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:12]}"
    pipeline = f"{resolution}px" if loaded_at in (None, resolution) else f"{loaded_at}px-to-{resolution}px"
    return f"{name}-{pipeline}-{extractor.identity}"


def _stats_checksum(key: str, mu: np.ndarray, sigma: np.ndarray, n: int) -> str:
    digest = hashlib.sha256(f"{REFERENCE_FORMAT}|{key}|{n}|{mu.shape}|".encode())
    digest.update(np.ascontiguousarray(mu, np.float64).tobytes())
    digest.update(np.ascontiguousarray(sigma, np.float64).tobytes())
    return digest.hexdigest()


def _read(path: Path, key: str) -> FeatureStats:
    with np.load(path, allow_pickle=False) as stored:
        mu, sigma, n = stored["mu"], stored["sigma"], int(stored["n"])
        if str(stored["key"]) != key:
            raise ValueError(f"written for {stored['key']}")
        if str(stored["checksum"]) != _stats_checksum(key, mu, sigma, n):
            raise ValueError("checksum mismatch")
    return FeatureStats(mu=mu, sigma=sigma, n=n)


def reference_statistics(
    dataset_name: str,
    resolution: int,
    extractor: FeatureExtractor,
    *,
    cache_dir: str | os.PathLike | None = None,
    source: ImageSource | None = None,
    root: str | os.PathLike | None = None,
    download: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    loaded_at: int | None = None,
) -> FeatureStats:
    """Feature mean and covariance of every image of ``dataset_name`` at ``resolution`` px.

    Read from ``<cache>/reference/<key>.npz`` when present and intact; otherwise
    computed from ``source`` (default: ``get_dataset(dataset_name, root=, size=loaded_at or
    resolution)``, each batch resized to ``resolution`` as a search's trainer resizes its
    batches) and written atomically.  A cache file that is unreadable, written for another
    key, or fails its checksum is reported and rebuilt.
    """
    if source is not None:
        loaded_at = source.resolution
    key = reference_key(dataset_name, resolution, extractor, root, loaded_at=loaded_at)
    path = resolve_cache_dir(cache_dir) / "reference" / f"{key}.npz"
    if path.is_file():
        try:
            return _read(path, key)
        except Exception as exc:  # any unreadable or mismatched file is rebuilt, whatever broke it
            logger.warning("reference statistics %s are stale or corrupt (%s); recomputing", path, exc)
    if source is None:
        source = get_dataset(dataset_name, root=root, download=download, size=loaded_at or resolution)
    logger.info("computing reference statistics %s from %d images", key, source.num_images)
    features, _ = extract_features(source.iter_batches(batch_size, size=resolution), extractor)
    stats = compute_statistics(features)
    checksum = _stats_checksum(key, stats.mu, stats.sigma, stats.n)
    atomic_write(
        path,
        lambda handle: np.savez(handle, mu=stats.mu, sigma=stats.sigma, n=stats.n, key=key, checksum=checksum),
    )
    return stats
