"""IS and FID from features: the last two steps of ``features -> statistics -> metric``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

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


# How negative an eigenvalue may be, relative to the largest, and still count as rounding: float64
# eigensolvers leave about D * 1e-16 of the spectrum's scale; a covariance that is not positive
# semi-definite (a bug upstream, or mismatched statistics) goes far beyond this.
_NEGATIVE_TOLERANCE = 1e-8


def _default_device(*values: object) -> torch.device:
    """Where the square root runs when the caller does not say: the inputs' device, else this process's GPU.

    An evaluator that extracted its features on a GPU has a CUDA context already; a driver or a CPU
    worker has none, and must not open one just for the FID.
    """
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _spectrum(name: str, matrix: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the symmetric ``matrix`` (ascending), tiny negatives from rounding set to 0."""
    eigenvalues = torch.linalg.eigvalsh(matrix)
    _check_semidefinite(name, eigenvalues)
    return eigenvalues.clamp_min(0.0)


def _check_semidefinite(name: str, eigenvalues: torch.Tensor) -> None:
    # One host sync per check, on two scalars: the eigendecompositions dominate by far.
    lowest, highest = eigenvalues[0].item(), eigenvalues[-1].item()
    if not (math.isfinite(lowest) and math.isfinite(highest)):
        raise MetricError(f"frechet_distance: the eigenvalues of {name} are not finite; check the features")
    if lowest < -_NEGATIVE_TOLERANCE * max(highest, 0.0):
        raise MetricError(
            f"frechet_distance: {name} has a negative eigenvalue {lowest:.3g} (largest {highest:.3g}), so it is not "
            "a covariance; compute both statistics with compute_statistics from the same extractor"
        )


def _covariance_factor(sigma: torch.Tensor) -> torch.Tensor:
    """A ``(D, D)`` matrix ``R`` with ``R R^T = sigma``, for a positive semi-definite ``sigma``.

    Cholesky's ``L`` when ``sigma`` is positive definite (the reward's 5,000 samples in 2,048
    dimensions): about half the time of an eigendecomposition on a CPU, far less on a GPU.  A
    singular ``sigma`` (fewer samples than dimensions, dead units) has none, and gets
    ``V diag(sqrt(w))`` from ``eigh`` instead, with rounding-level negative ``w`` read as zeros.
    """
    factor, info = torch.linalg.cholesky_ex(sigma)
    if info.item() == 0:
        return factor
    eigenvalues, eigenvectors = torch.linalg.eigh(sigma)
    _check_semidefinite("sigma1", eigenvalues)
    return eigenvectors * eigenvalues.clamp_min(0.0).sqrt()


def _trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """``tr((S1 S2)^(1/2))`` for positive semi-definite ``S1``, ``S2``, from a symmetric eigenproblem.

    With ``S1 = R R^T``, ``S1 S2 = R (R^T S2)`` has the eigenvalues of ``A = R^T S2 R``, which is
    symmetric and positive semi-definite, so the trace is the sum of the square roots of ``A``'s
    (real, non-negative) eigenvalues.  ``eigvalsh`` of ``A`` is stable where a general ``sqrtm``
    of the non-symmetric product is not, and all of it runs on whatever device the matrices are on.
    """
    factor = _covariance_factor(sigma1)
    product = factor.mT @ sigma2 @ factor
    product = (product + product.mT) / 2  # symmetric up to rounding; eigvalsh reads one triangle
    # A negative eigenvalue of A beyond rounding is one of sigma2 (on the span of sigma1).
    return _spectrum("sigma2", product).sqrt().sum()


def frechet_distance(
    mu1: np.ndarray | torch.Tensor,
    sigma1: np.ndarray | torch.Tensor,
    mu2: np.ndarray | torch.Tensor,
    sigma2: np.ndarray | torch.Tensor,
    eps: float = 1e-6,
    *,
    device: torch.device | str | None = None,
) -> float:
    """Fréchet distance ``|mu1-mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``, in float64 on ``device``.

    The trace of the square root comes from a Cholesky factor and eigenvalues (see
    ``_trace_sqrt_product``), in torch, so an evaluator computes it on its GPU.  ``device`` defaults to the inputs' device
    when they are tensors, else to this process's current GPU if it has already used CUDA,
    else the CPU.  When an eigensolver does not converge, ``eps`` is added to both diagonals,
    as the TTUR and pytorch-fid implementations do for their ``sqrtm``.  Non-finite inputs,
    and covariances with clearly negative eigenvalues, raise :class:`MetricError` instead of
    returning a meaningless number.
    """
    target = torch.device(device) if device is not None else _default_device(mu1, sigma1, mu2, sigma2)
    mu1_t, mu2_t, sigma1_t, sigma2_t = (
        torch.as_tensor(value).to(target, torch.float64) for value in (mu1, mu2, sigma1, sigma2)
    )
    mu1_t, mu2_t = torch.atleast_1d(mu1_t), torch.atleast_1d(mu2_t)
    sigma1_t, sigma2_t = torch.atleast_2d(sigma1_t), torch.atleast_2d(sigma2_t)
    if mu1_t.shape != mu2_t.shape or sigma1_t.shape != sigma2_t.shape or sigma1_t.shape != (mu1_t.shape[0],) * 2:
        raise ValueError(
            f"frechet_distance: shapes disagree: mu {tuple(mu1_t.shape)} vs {tuple(mu2_t.shape)}, "
            f"sigma {tuple(sigma1_t.shape)} vs {tuple(sigma2_t.shape)}"
        )
    inputs = {"mu1": mu1_t, "mu2": mu2_t, "sigma1": sigma1_t, "sigma2": sigma2_t}
    finite = torch.stack([torch.isfinite(value).all() for value in inputs.values()]).tolist()  # one host sync
    for (name, _), ok in zip(inputs.items(), finite):
        if not ok:
            raise MetricError(f"frechet_distance: {name} holds nan or inf; the features it came from are not finite")

    diff = mu1_t - mu2_t
    try:
        trace_sqrt = _trace_sqrt_product(sigma1_t, sigma2_t)
    except torch.linalg.LinAlgError:
        logger.warning("frechet_distance: an eigensolver did not converge; adding %g to the covariance diagonals", eps)
        offset = torch.eye(sigma1_t.shape[0], dtype=torch.float64, device=target) * eps
        try:
            trace_sqrt = _trace_sqrt_product(sigma1_t + offset, sigma2_t + offset)
        except torch.linalg.LinAlgError as exc:
            raise MetricError(f"frechet_distance: no eigendecomposition even after regularization ({exc}); check the features") from None
    return float(diff @ diff + sigma1_t.diagonal().sum() + sigma2_t.diagonal().sum() - 2.0 * trace_sqrt)


def fid_from_statistics(a: FeatureStats, b: FeatureStats, *, device: torch.device | str | None = None) -> float:
    """:func:`frechet_distance` between two :class:`FeatureStats`, on ``device`` (see there for the default)."""
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma, device=device)
