"""Scoring a generator: ``generate -> batches -> features -> statistics -> metric``, all in memory."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

import torch

from autogan.log import logger
from autogan.metrics._extractors import FeatureExtractor
from autogan.metrics._scores import FeatureStats, MetricError, compute_statistics, fid_from_statistics, inception_score

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class MetricResult:
    """IS (mean, std over splits), FID against the reference (``None`` without one), and the sample count.

    A generator that produced non-finite images scores ``nan``: a failure to record,
    never a reward to learn from.
    """

    is_mean: float
    is_std: float
    fid: float | None
    num_samples: int

    @property
    def ok(self) -> bool:
        values = [self.is_mean] + ([self.fid] if self.fid is not None else [])
        return all(math.isfinite(v) for v in values)

    def to_dict(self) -> dict:
        return asdict(self)


def generated_batches(generate: Callable[[int], torch.Tensor], num_samples: int, batch_size: int) -> Iterator[torch.Tensor]:
    """Call ``generate(n)`` for consecutive batches until ``num_samples`` images have been produced."""
    if num_samples <= 0 or batch_size <= 0:
        raise ValueError(f"num_samples and batch_size must be positive, got {num_samples} and {batch_size}")
    for start in range(0, num_samples, batch_size):
        n = min(batch_size, num_samples - start)
        images = generate(n)
        if images.shape[0] != n:
            raise ValueError(f"generate({n}) returned {images.shape[0]} images")
        yield images


def extract_features(batches: Iterable[torch.Tensor], extractor: FeatureExtractor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run every batch through ``extractor`` under ``torch.no_grad()``; returns CPU ``(features, logits)``.

    Raises :class:`MetricError` if any float image is nan or inf (checked once at
    the end, so the GPU is not synchronized per batch).
    """
    features, logits = [], []
    finite = torch.ones((), dtype=torch.bool, device=extractor.device)
    with torch.no_grad():
        for images in batches:
            if images.is_floating_point():
                finite &= torch.isfinite(images).all().to(finite.device)
            f, l = extractor(images)
            features.append(f)
            logits.append(l)
    if not features:
        raise ValueError("extract_features: no images")
    if not bool(finite):
        raise MetricError("the images contain nan or inf")
    return torch.cat(features).cpu(), torch.cat(logits).cpu()


def evaluate_generator(
    generate: Callable[[int], torch.Tensor],
    num_samples: int,
    extractor: FeatureExtractor,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    reference: FeatureStats | None = None,
    splits: int = 10,
) -> MetricResult:
    """IS of ``num_samples`` images from ``generate(n) -> (n, C, H, W)`` in [-1, 1], and FID if ``reference`` is given.

    Images go from the generator straight to the extractor in batches of
    ``batch_size``, never to disk.  Put the generator in eval mode first; this
    function only disables autograd.
    """
    try:
        features, logits = extract_features(generated_batches(generate, num_samples, batch_size), extractor)
    except MetricError as exc:
        logger.warning("evaluate_generator: %s; scoring as nan", exc)
        return MetricResult(math.nan, math.nan, math.nan if reference is not None else None, num_samples)
    is_mean, is_std = inception_score(logits, splits)
    fid = None
    if reference is not None:
        try:
            # The matrix square root on the extractor's device: on a GPU evaluator, not the host's CPU.
            fid = fid_from_statistics(compute_statistics(features), reference, device=getattr(extractor, "device", None))
        except MetricError as exc:
            logger.warning("evaluate_generator: FID failed (%s); scoring as nan", exc)
            fid = math.nan
    return MetricResult(is_mean, is_std, fid, num_samples)
