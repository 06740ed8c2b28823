"""IS and FID numerics against independent numpy/scipy computations and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from autogan.metrics import compute_statistics, frechet_distance, inception_score
from autogan.metrics._scores import FeatureStats, MetricError


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


# --- the FID's square root: eigenvalues in torch against scipy's sqrtm ------------------------------------------


def scipy_sqrtm_fid(mu1, sigma1, mu2, sigma2) -> float:
    """The reference: the TTUR/pytorch-fid formula with scipy's ``sqrtm`` of the non-symmetric product."""
    import warnings

    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean.real))


def blurred(images: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :] / 256).expand(images.shape[1], 1, 5, 5)
    return torch.nn.functional.conv2d(images, kernel, padding=2, groups=images.shape[1])


@pytest.mark.parametrize("degrade", ["noise", "blur"])
def test_fid_agrees_with_scipy_sqrtm_on_digits_classifier_features(metrics_digits_extractor, degrade):
    from autogan.data._digits import load_digits
    from autogan.metrics import extract_features

    real = load_digits(size=32)
    generator = torch.Generator().manual_seed(11)
    fake = (real + 0.4 * torch.randn(real.shape, generator=generator)).clamp(-1, 1) if degrade == "noise" else blurred(real)
    stats = [compute_statistics(extract_features(images.split(500), metrics_digits_extractor)[0]) for images in (real, fake)]
    (a, b) = stats
    expected = scipy_sqrtm_fid(a.mu, a.sigma, b.mu, b.sigma)
    assert expected > 1.0, "the degraded digits must be measurably far from the real ones for the check to mean anything"
    assert frechet_distance(a.mu, a.sigma, b.mu, b.sigma) == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow  # scipy's sqrtm at 2,048 dimensions: 15-20 s on one free core, minutes on a busy one
def test_fid_agrees_with_scipy_sqrtm_at_inceptions_2048_dimensions_with_fewer_samples_than_dimensions():
    # Like Inception statistics of 1,500 images: rank 1,499 < 2,048, so both covariances are singular and
    # the product's eigenvalues include rounding-level negatives that must be read as zeros.
    rng = np.random.default_rng(12)
    dim, samples = 2048, 1500
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    a = np.maximum(rng.normal(size=(samples, dim)) @ mixing, 0.0)  # ReLU-like, as pool features are
    b = np.maximum((rng.normal(size=(samples, dim)) + 0.2) @ (mixing * 1.1), 0.0)
    sa, sb = compute_statistics(a), compute_statistics(b)
    expected = scipy_sqrtm_fid(sa.mu, sa.sigma, sb.mu, sb.sigma)
    assert frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma) == pytest.approx(expected, rel=1e-6)


def test_fid_square_root_runs_in_torch_float64_on_the_requested_device_not_in_scipy(monkeypatch):
    import scipy.linalg
    from torch.overrides import TorchFunctionMode

    def host_sqrtm(*args, **kwargs):
        raise AssertionError("the FID's square root ran through scipy on the host")

    monkeypatch.setattr(scipy.linalg, "sqrtm", host_sqrtm)
    seen = []

    class RecordEigensolvers(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func in (torch.linalg.cholesky_ex, torch.linalg.eigh, torch.linalg.eigvalsh):
                seen.append((args[0].device, args[0].dtype))
            return func(*args, **(kwargs or {}))

    rng = np.random.default_rng(13)
    a, b = compute_statistics(rng.normal(size=(300, 16))), compute_statistics(rng.normal(size=(300, 16)) * 1.3)
    with RecordEigensolvers():
        fid = frechet_distance(a.mu, a.sigma, b.mu, b.sigma, device="cpu")
    assert fid == pytest.approx(eigen_fid(a.mu, a.sigma, b.mu, b.sigma), rel=1e-8)
    assert seen and all(where == (torch.device("cpu"), torch.float64) for where in seen), seen


@pytest.mark.parametrize("samples", [40, 400])
def test_fid_agrees_with_scipy_sqrtm_whether_sigma1_is_singular_or_not(samples):
    # 40 samples in 64 dimensions: sigma1 has no Cholesky factor and the eigendecomposition takes over.
    rng = np.random.default_rng(16)
    a = compute_statistics(rng.normal(size=(samples, 64)) @ rng.normal(scale=0.3, size=(64, 64)))
    b = compute_statistics(rng.normal(loc=0.2, size=(samples, 64)))
    decompositions = []
    from torch.overrides import TorchFunctionMode

    class RecordEigh(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is torch.linalg.eigh:
                decompositions.append(func)
            return func(*args, **(kwargs or {}))

    with RecordEigh():
        fid = frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
    assert bool(decompositions) == (samples <= 64)
    assert fid == pytest.approx(scipy_sqrtm_fid(a.mu, a.sigma, b.mu, b.sigma), rel=1e-6)


def test_fid_of_tensor_statistics_matches_numpy_statistics():
    rng = np.random.default_rng(14)
    a, b = compute_statistics(rng.normal(size=(200, 12))), compute_statistics(rng.normal(loc=0.5, size=(200, 12)))
    from_numpy = frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
    tensors = [torch.from_numpy(x) for x in (a.mu, a.sigma, b.mu, b.sigma)]
    assert frechet_distance(*tensors) == pytest.approx(from_numpy, rel=1e-12)


def test_fid_rejects_a_covariance_with_clearly_negative_eigenvalues():
    mu = np.zeros(4)
    not_a_covariance = np.diag([1.0, 1.0, 1.0, -0.5])
    with pytest.raises(MetricError, match="negative eigenvalue"):
        frechet_distance(mu, np.eye(4), mu, not_a_covariance)
    with pytest.raises(MetricError, match="sigma1 has a negative eigenvalue"):
        frechet_distance(mu, not_a_covariance, mu, np.eye(4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fid_on_cuda_matches_the_cpu_and_is_the_default_once_this_process_uses_cuda():
    rng = np.random.default_rng(15)
    a, b = compute_statistics(rng.normal(size=(600, 256))), compute_statistics(rng.normal(loc=0.1, size=(600, 256)) * 1.2)
    on_cpu = frechet_distance(a.mu, a.sigma, b.mu, b.sigma, device="cpu")
    torch.zeros(1, device="cuda")  # an evaluator that extracted features on the GPU has a context
    seen = []
    from torch.overrides import TorchFunctionMode

    class RecordEigensolvers(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func in (torch.linalg.cholesky_ex, torch.linalg.eigh, torch.linalg.eigvalsh):
                seen.append(args[0].device.type)
            return func(*args, **(kwargs or {}))

    with RecordEigensolvers():
        by_default = frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
    assert seen and set(seen) == {"cuda"}
    assert by_default == pytest.approx(on_cpu, rel=1e-10)
