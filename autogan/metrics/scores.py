"""IS and FID from features: the last two steps of ``features -> statistics -> metric``."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from scipy import linalg

from autogan.log import logger


class MetricError(ArithmeticError):
    """A metric that cannot be computed from its inputs (for example a FID whose square root is not real)."""


def inception_score(logits: torch.Tensor | np.ndarray, splits: int = 10, *, probabilities: bool = False) -> tuple[float, float]:
    """Inception Score ``exp(E_x KL(p(y|x) || p(y)))``: mean and std over ``splits`` consecutive chunks.

    ``logits`` is ``(N, K)``; pass ``probabilities=True`` when the rows are already
    softmax outputs.  Chunks are ``[i*N//splits, (i+1)*N//splits)``, in input order,
    as in the original TF implementation.  Computed in float64.  Non-finite input
    gives ``(nan, nan)``, so a diverged generator is scored as a failure rather than
    raising inside a search.
    """
    scores = torch.as_tensor(logits).detach().to("cpu", torch.float64)
    if scores.dim() != 2:
        raise ValueError(f"inception_score expects (N, K) logits, got shape {tuple(scores.shape)}")
    n = scores.shape[0]
    if not 1 <= splits <= n:
        raise ValueError(f"inception_score: splits must be in [1, N={n}], got {splits}")
    if not torch.isfinite(scores).all():
        logger.warning("inception_score: non-finite logits; scoring as nan")
        return float("nan"), float("nan")
    if probabilities:
        p = scores
        log_p = torch.where(p > 0, p.log(), torch.zeros_like(p))  # 0 * log 0 = 0
    else:
        log_p = scores.log_softmax(dim=1)
        p = log_p.exp()
    values = []
    for i in range(splits):
        chunk = slice(i * n // splits, (i + 1) * n // splits)
        p_chunk, log_p_chunk = p[chunk], log_p[chunk]
        log_q = p_chunk.mean(dim=0).log()  # (K,) log of the chunk's marginal
        kl = (p_chunk * (log_p_chunk - log_q)).sum(dim=1)  # (n_chunk,)
        values.append(kl.mean().exp().item())
    values_np = np.asarray(values)
    return float(values_np.mean()), float(values_np.std())


@dataclass(frozen=True, eq=False)
class FeatureStats:
    """Mean ``(D,)`` and covariance ``(D, D)`` of ``n`` feature vectors, in float64."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int

    def __post_init__(self) -> None:
        if self.mu.ndim != 1 or self.sigma.shape != (self.mu.shape[0],) * 2:
            raise ValueError(f"FeatureStats: mu (D,) and sigma (D, D) needed, got {self.mu.shape} and {self.sigma.shape}")


def compute_statistics(features: torch.Tensor | np.ndarray) -> FeatureStats:
    """Mean and unbiased covariance (``np.cov``, ddof 1) of ``(N, D)`` features, in float64."""
    x = torch.as_tensor(features).detach().to("cpu", torch.float64).numpy()
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"compute_statistics needs (N, D) features with N >= 2, got shape {x.shape}")
    return FeatureStats(mu=x.mean(axis=0), sigma=np.cov(x, rowvar=False), n=x.shape[0])


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    # Singular covariances (dead ReLU units, fewer samples than dimensions) are routine; scipy
    # warns about them, and the finiteness and imaginary-part checks below decide what matters.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(matrix)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance ``|mu1-mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` with scipy's ``sqrtm`` in float64.

    When the product is singular enough that ``sqrtm`` returns non-finite values,
    ``eps`` is added to both diagonals, as the TTUR and pytorch-fid implementations
    do.  A result whose square root keeps a material imaginary part (or is still not
    finite) raises :class:`MetricError` instead of returning a meaningless number.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.shape[0],) * 2:
        raise ValueError(
            f"frechet_distance: shapes disagree: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    for name, value in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.isfinite(value).all():
            raise MetricError(f"frechet_distance: {name} holds nan or inf; the features it came from are not finite")

    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        logger.warning("frechet_distance: singular product; adding %g to the covariance diagonals", eps)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if not np.isfinite(covmean).all():
        raise MetricError("frechet_distance: sqrtm is not finite even after regularization; check the features")
    if np.iscomplexobj(covmean):
        imaginary = np.max(np.abs(np.diagonal(covmean).imag))
        if imaginary > 1e-3:
            raise MetricError(f"frechet_distance: sqrtm has an imaginary component of {imaginary:.3g}; too few samples?")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_statistics(a: FeatureStats, b: FeatureStats) -> float:
    """:func:`frechet_distance` between two :class:`FeatureStats`."""
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
