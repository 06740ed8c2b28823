"""SLOW (about a minute on 2 CPU cores): a short real GAN training run on handwritten digits.

The distance is FID in the features of a fixed, seeded random conv net (the built-in
digits classifier is the intended extractor once it exists).  The generator is the
derived AutoGAN-top1 network at a small width; it is scored through its EMA copy,
which smooths the step-to-step noise of a 60-step run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autogan.nn import Discriminator, Generator
from autogan.train import EMA, one_stage_step, two_stage_step
from search_spaces import AUTOGAN_TOP1

pytestmark = pytest.mark.slow

STEPS = 60
BATCH = 32
LATENT = 32


def _digits() -> torch.Tensor:
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    images = torch.tensor(sklearn_datasets.load_digits().images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=32, mode="bilinear", align_corners=False)  # (1797, 1, 32, 32)
    return images * 2 - 1


def random_features(images: torch.Tensor) -> np.ndarray:
    """128 features from a fixed random conv net (seeded, never trained)."""
    generator = torch.Generator().manual_seed(1234)
    w1 = torch.randn(32, 1, 4, 4, generator=generator) / 4
    w2 = torch.randn(64, 32, 4, 4, generator=generator) / (32 * 16) ** 0.5
    w3 = torch.randn(128, 64, 4, 4, generator=generator) / (64 * 16) ** 0.5
    with torch.no_grad():
        h = F.relu(F.conv2d(images, w1, stride=2, padding=1))  # (N, 32, 16, 16)
        h = F.relu(F.conv2d(h, w2, stride=2, padding=1))  # (N, 64, 8, 8)
        h = F.relu(F.conv2d(h, w3, stride=2, padding=1))  # (N, 128, 4, 4)
        return h.mean(dim=(2, 3)).double().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between feature sets; tr sqrt(S1 S2) through symmetric eigendecompositions (stable in float64)."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3))
    b = rng.normal(size=(20000, 3)) * 2 + 1
    # Means differ by 1 per dim (3), covariances I vs 4I: 3 * (1 + 4 - 2 * 2) = 3.
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def _train(step, images: torch.Tensor, real_features: np.ndarray) -> tuple[float, float]:
    G = Generator(AUTOGAN_TOP1, ch=16, latent_dim=LATENT, out_channels=1, seed=0)
    D = Discriminator(df=16, in_channels=1, seed=0)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    ema = EMA(G, decay=0.9)
    generator = torch.Generator().manual_seed(0)
    z_eval = torch.randn(1000, LATENT, generator=generator)

    def score() -> float:
        with torch.no_grad():
            return frechet_distance(random_features(ema.model(z_eval)), real_features)

    start = score()
    for index in range(STEPS):
        batch = images[torch.randint(0, len(images), (BATCH,), generator=generator)]
        z = torch.randn(BATCH, LATENT, generator=generator)
        step(G, D, opt_g, opt_d, batch, z, None, "hinge")
        ema.update(G, index)
    return start, score()


def test_one_stage_training_lowers_fid_like_two_stage():
    images = _digits()
    real_features = random_features(images)
    start, one_stage = _train(one_stage_step, images, real_features)
    start_two, two_stage = _train(two_stage_step, images, real_features)
    assert start == pytest.approx(start_two)
    assert one_stage < 0.15 * start, f"one-stage FID {start:.3f} -> {one_stage:.3f}"
    assert two_stage < 0.15 * start, f"two-stage FID {start:.3f} -> {two_stage:.3f}"
    assert max(one_stage, two_stage) / min(one_stage, two_stage) < 4.0, (one_stage, two_stage)
