"""SLOW (about a minute on 2 CPU cores): a short real GAN training run on handwritten digits.

The distance is FID in the built-in digits classifier's features (the extractor the
digits search and retrain use).  The generator is the derived AutoGAN-top1 network at
a small width; it is scored through its EMA copy, which smooths the step-to-step noise
of a 300-step run.
"""

from __future__ import annotations

import pytest
import torch

from autogan.data._digits import load_digits
from autogan.metrics import compute_statistics, extract_features, fid_from_statistics, get_extractor
from autogan.metrics._scores import FeatureStats
from autogan.nn import Discriminator, Generator
from autogan.train import EMA, one_stage_step, two_stage_step
from search_spaces import AUTOGAN_TOP1

pytestmark = pytest.mark.slow

D_STEPS = 300
# Every second D step is a merged (one-stage) step.  At n_critic=1 the simultaneous update
# trains visibly worse than alternating steps on this pair (FID 53 vs 16 after 200 steps,
# seed 0, lr 1e-3); at n_critic=2 the two agree within noise, as OSGAN reports.
N_CRITIC = 2
BATCH = 32
LATENT = 32


def statistics(images: torch.Tensor, extractor) -> FeatureStats:
    features, _ = extract_features(images.split(500), extractor)
    return compute_statistics(features)


def _train(step, images: torch.Tensor, real: FeatureStats, extractor) -> tuple[float, float]:
    G = Generator(AUTOGAN_TOP1, ch=16, latent_dim=LATENT, out_channels=1, seed=0)
    D = Discriminator(df=16, in_channels=1, seed=0)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    ema = EMA(G, decay=0.9)
    generator = torch.Generator().manual_seed(0)
    z_eval = torch.randn(1000, LATENT, generator=generator)

    def score() -> float:
        with torch.no_grad():
            return fid_from_statistics(statistics(ema.model(z_eval), extractor), real)

    start = score()
    for index in range(D_STEPS):
        batch = images[torch.randint(0, len(images), (BATCH,), generator=generator)]
        z = torch.randn(BATCH, LATENT, generator=generator)
        merged = (index + 1) % N_CRITIC == 0
        step(G, D, opt_g, opt_d, batch, z, None, "hinge", update_g=merged)
        if merged:
            ema.update(G, index)
    return start, score()


def test_one_stage_training_lowers_fid_like_two_stage():
    images = load_digits(size=32)  # (1797, 1, 32, 32) in [-1, 1]
    extractor = get_extractor("digits-classifier")
    real = statistics(images, extractor)
    start, one_stage = _train(one_stage_step, images, real, extractor)
    start_two, two_stage = _train(two_stage_step, images, real, extractor)
    assert start == pytest.approx(start_two)
    print(f"FID {start:.1f} -> one-stage {one_stage:.1f}, two-stage {two_stage:.1f}")
    assert one_stage < 0.15 * start, f"one-stage FID {start:.3f} -> {one_stage:.3f}"
    assert two_stage < 0.15 * start, f"two-stage FID {start:.3f} -> {two_stage:.3f}"
    assert max(one_stage, two_stage) / min(one_stage, two_stage) < 2.0, (one_stage, two_stage)
