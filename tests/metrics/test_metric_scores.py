"""IS and FID numerics against independent numpy/scipy computations and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from autogan.metrics import FeatureStats, MetricError, compute_statistics, frechet_distance, inception_score


def numpy_inception_score(logits: np.ndarray, splits: int) -> tuple[float, float]:
    """The TF/OpenAI formula written independently: per split, exp(mean KL(p(y|x) || p(y)))."""
    log_p = logits - logsumexp(logits, axis=1, keepdims=True)
    p = np.exp(log_p)
    n = len(logits)
    scores = []
    for i in range(splits):
        part_p, part_log_p = p[i * n // splits : (i + 1) * n // splits], log_p[i * n // splits : (i + 1) * n // splits]
        py = part_p.mean(axis=0)
        scores.append(np.exp(np.mean(np.sum(part_p * (part_log_p - np.log(py)), axis=1))))
    return float(np.mean(scores)), float(np.std(scores))


def eigen_fid(mu1, sigma1, mu2, sigma2) -> float:
    """FID through the eigenvalues of sigma1 @ sigma2 (torch-fidelity's route), not through sqrtm."""
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2).astype(np.complex128)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(eigenvalues).real.sum())


@pytest.mark.parametrize("splits", [1, 3, 10])
def test_inception_score_matches_numpy(splits):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(1003, 17))  # N not divisible by splits on purpose
    expected = numpy_inception_score(logits, splits)
    got = inception_score(torch.from_numpy(logits).float().double(), splits)
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_inception_score_from_probabilities_matches_logits():
    rng = np.random.default_rng(1)
    logits = torch.from_numpy(rng.normal(size=(500, 10)))
    from_probs = inception_score(logits.softmax(dim=1), 10, probabilities=True)
    assert from_probs == pytest.approx(inception_score(logits, 10), rel=1e-9)


def test_inception_score_matches_torch_fidelity_formula():
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = torch.from_numpy(np.random.default_rng(2).normal(scale=2.0, size=(1000, 1008))).float()
    theirs = isc_features_to_metric(logits, splits=10, shuffle=False)
    ours = inception_score(logits, 10)
    assert ours[0] == pytest.approx(theirs["inception_score_mean"], rel=1e-6)
    assert ours[1] == pytest.approx(theirs["inception_score_std"], rel=1e-6)


def test_inception_score_extremes():
    collapsed = torch.tensor([[5.0, 1.0, -2.0]]).expand(100, 3)
    assert inception_score(collapsed, 10) == pytest.approx((1.0, 0.0), abs=1e-12)
    confident = torch.full((120, 4), -1e4)
    confident[torch.arange(120), torch.arange(120) % 4] = 1e4  # each split holds every class 3 times, each certain
    assert inception_score(confident, 10)[0] == pytest.approx(4.0, rel=1e-9)


def test_inception_score_non_finite_is_nan():
    logits = torch.zeros(20, 3)
    logits[3, 1] = float("nan")
    assert all(math.isnan(v) for v in inception_score(logits, 2))


def test_compute_statistics_matches_numpy():
    x = np.random.default_rng(3).normal(size=(300, 7))
    stats = compute_statistics(torch.from_numpy(x).float())
    x32 = x.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(stats.mu, x32.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.sigma, np.cov(x32, rowvar=False), rtol=1e-12)
    assert stats.n == 300


def test_frechet_distance_matches_eigenvalue_route_on_random_features():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(400, 32))
    b = rng.normal(loc=0.3, size=(400, 32)) @ rng.normal(scale=0.4, size=(32, 32))
    sa, sb = compute_statistics(a), compute_statistics(b)
    expected = eigen_fid(sa.mu, sa.sigma, sb.mu, sb.sigma)
    assert frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(5)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    var1, var2 = rng.uniform(0.1, 3.0, size=6), rng.uniform(0.1, 3.0, size=6)
    closed_form = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    got = frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    assert got == pytest.approx(closed_form, rel=1e-10)


def test_frechet_distance_closed_form_for_commuting_full_covariances():
    # S1 = Q D1 Q^T and S2 = Q D2 Q^T share eigenvectors, so tr sqrt(S1 S2) = sum sqrt(d1 d2).
    rng = np.random.default_rng(6)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    d1, d2 = rng.uniform(0.5, 2.0, size=5), rng.uniform(0.5, 2.0, size=5)
    s1, s2 = q @ np.diag(d1) @ q.T, q @ np.diag(d2) @ q.T
    mu = np.zeros(5)
    expected = np.sum(d1 + d2 - 2 * np.sqrt(d1 * d2))
    assert frechet_distance(mu, s1, mu, s2) == pytest.approx(expected, rel=1e-8, abs=1e-10)


def test_frechet_distance_identical_is_zero_and_symmetric():
    stats = compute_statistics(np.random.default_rng(7).normal(size=(200, 10)))
    other = compute_statistics(np.random.default_rng(8).normal(size=(200, 10)) * 1.5)
    assert frechet_distance(stats.mu, stats.sigma, stats.mu, stats.sigma) == pytest.approx(0.0, abs=1e-8)
    ab = frechet_distance(stats.mu, stats.sigma, other.mu, other.sigma)
    ba = frechet_distance(other.mu, other.sigma, stats.mu, stats.sigma)
    assert ab == pytest.approx(ba, rel=1e-8)


def test_frechet_distance_singular_covariance_stays_finite():
    # Fewer samples than dimensions: rank-deficient covariances, as with few generated images.
    rng = np.random.default_rng(9)
    a, b = compute_statistics(rng.normal(size=(10, 40))), compute_statistics(rng.normal(size=(10, 40)))
    fid = frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
    assert math.isfinite(fid) and fid > 0


def test_frechet_distance_rejects_non_finite_and_mismatched_inputs():
    mu, sigma = np.zeros(3), np.eye(3)
    with pytest.raises(MetricError, match="sigma2 holds nan"):
        frechet_distance(mu, sigma, mu, np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="shapes disagree"):
        frechet_distance(mu, sigma, np.zeros(4), np.eye(4))
    with pytest.raises(ValueError):
        FeatureStats(mu=np.zeros(3), sigma=np.eye(2), n=5)
