"""Images per second for the search's reward (IS) and for IS+FID, with each feature extractor.

Run: .venv/bin/python bench/metric_speed.py [--device cuda] [--out results.json]

Generation is excluded: the "generator" hands out slices of a pre-made batch of
images in [-1, 1], so the numbers measure the metric pipeline alone
(quantization, resizing, the extractor, IS, FID statistics and sqrtm).  Without
the real Inception weights, inception-v3 runs with seeded random weights in the
real architecture, which costs the same.  From the IS-only rate it estimates the
reward time of AutoGAN's search schedule: 1,980 evaluations of 5,000 images.
On CUDA it also measures bf16 autocast against float32 on the same images.

``--fid-sqrt`` times the FID alone at Inception's 2,048 dimensions on one CPU thread:
scipy's ``sqrtm`` route (the implementation before the eigenvalue route, kept here as
the reference) against ``frechet_distance``, with interleaved repeats so that a
neighbour's load hits both alike; it reports medians, their ratio, and the relative
agreement of the two values, on statistics of 5,000 samples (the reward's) and of
1,500 (rank below the dimension).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from autogan.metrics import (
    INCEPTION_SHA256_PREFIX,
    compute_statistics,
    evaluate_generator,
    frechet_distance,
    get_extractor,
    inception_score,
    resolve_inception_weights,
)
from autogan.metrics.testing import random_inception_state_dict
from autogan.errors import MissingFileError

PAPER_EVALUATIONS = 1980
PAPER_IMAGES = 5000


def pool_generator(pool: torch.Tensor):
    position = 0

    def generate(n: int) -> torch.Tensor:
        nonlocal position
        index = torch.arange(position, position + n) % len(pool)
        position += n
        return pool[index.to(pool.device)]

    return generate


def timed(fn, device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    value = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return value, time.perf_counter() - start


def weights_kind(extractor) -> str:
    if "sha256" not in extractor.info:
        return "trained"
    return "published" if extractor.info["sha256"].startswith(INCEPTION_SHA256_PREFIX) else "random"


def measure(extractor, images: int, batch_size: int, resolution: int, channels: int, device: torch.device) -> dict:
    generator = torch.Generator().manual_seed(0)
    pool = (torch.rand((min(images, 2000), channels, resolution, resolution), generator=generator) * 2 - 1).to(device)
    evaluate_generator(pool_generator(pool), min(images, 2 * batch_size), extractor, batch_size=batch_size, splits=2)  # warm-up
    is_only, t_is = timed(lambda: evaluate_generator(pool_generator(pool), images, extractor, batch_size=batch_size), device)
    reference = compute_statistics(torch.randn((max(extractor.feature_dim + 1, 512), extractor.feature_dim), generator=generator))
    with_fid, t_fid = timed(
        lambda: evaluate_generator(pool_generator(pool), images, extractor, batch_size=batch_size, reference=reference),
        device,
    )
    rate_is = images / t_is
    reward_hours = PAPER_EVALUATIONS * PAPER_IMAGES / rate_is / 3600
    return {
        "extractor": extractor.name,
        "weights": weights_kind(extractor),
        "device": str(device),
        "bf16": extractor.bf16,
        "images": images,
        "batch_size": batch_size,
        "resolution": resolution,
        "is_seconds": t_is,
        "is_images_per_second": rate_is,
        "is_fid_seconds": t_fid,
        "is_fid_images_per_second": images / t_fid,
        "fid_fixed_seconds": max(t_fid - t_is, 0.0),
        "is_mean": is_only.is_mean,
        "paper_reward_hours": reward_hours,
    }


def bf16_is_shift(extractor_fp32, extractor_bf16, images: torch.Tensor, batch_size: int) -> float:
    """Relative change of IS under bf16 autocast, on identical images."""
    scores = []
    for extractor in (extractor_fp32, extractor_bf16):
        logits = torch.cat([extractor(batch)[1] for batch in images.split(batch_size)])
        scores.append(inception_score(logits, 10)[0])
    return abs(scores[1] - scores[0]) / scores[0]


def inception_weights(scratch: Path) -> str:
    try:
        return str(resolve_inception_weights())
    except MissingFileError:
        path = scratch / "random-inception.pth"
        torch.save(random_inception_state_dict(seed=0), path)
        return str(path)


def scipy_frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """The FID as autogan computed it before the eigenvalue route: scipy's ``sqrtm`` of ``S1 S2``, on the host."""
    from scipy import linalg

    def sqrtm(matrix):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            return linalg.sqrtm(matrix)

    covmean = sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = sqrtm((sigma1 + offset) @ (sigma2 + offset))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean.real))


def inception_like_statistics(samples: int, dim: int, seed: int):
    """Two feature sets shaped like Inception pool features (non-negative, correlated), as FeatureStats."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    a = np.maximum(rng.normal(size=(samples, dim)) @ mixing, 0.0)
    b = np.maximum((rng.normal(size=(samples, dim)) + 0.2) @ (mixing * 1.1), 0.0)
    return compute_statistics(a), compute_statistics(b)


def fid_sqrt_timing(dim: int, repeats: int) -> dict:
    """Seconds per FID at ``dim`` dimensions on one thread, scipy's sqrtm route against frechet_distance."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    cases = []
    with threadpool_limits(limits=1):
        for samples in (5000, 1500):
            a, b = inception_like_statistics(samples, dim, seed=samples)
            routes = {
                "scipy_sqrtm": lambda: scipy_frechet_distance(a.mu, a.sigma, b.mu, b.sigma),
                "torch": lambda: frechet_distance(a.mu, a.sigma, b.mu, b.sigma, device="cpu"),
            }
            times = {name: [] for name in routes}
            values = {}
            # Interleaved, so that load from other processes falls on both routes alike; only the
            # reward-sized case is repeated, the rank-deficient one is there for the agreement.
            for _ in range(repeats if samples == 5000 else 1):
                for name, route in routes.items():
                    start = time.perf_counter()
                    values[name] = route()
                    times[name].append(time.perf_counter() - start)
            before, after = statistics.median(times["scipy_sqrtm"]), statistics.median(times["torch"])
            cases.append({
                "samples": samples,
                "rank": min(samples - 1, dim),
                "dim": dim,
                "repeats": len(times["torch"]),
                "scipy_sqrtm_seconds": times["scipy_sqrtm"],
                "torch_seconds": times["torch"],
                "scipy_sqrtm_median_s": before,
                "torch_median_s": after,
                "speedup": before / after,
                "fid_scipy": values["scipy_sqrtm"],
                "fid_torch": values["torch"],
                "relative_difference": abs(values["torch"] - values["scipy_sqrtm"]) / abs(values["scipy_sqrtm"]),
            })
    return {"threads": 1, "device": "cpu", "cases": cases}


def print_fid_sqrt(result: dict) -> None:
    print(f"{'samples':>7} {'rank':>5} {'dim':>5} {'repeats':>7} {'before s (sqrtm)':>16} {'after s (torch)':>15} {'ratio':>6} {'rel. agreement':>14}")
    for c in result["cases"]:
        print(
            f"{c['samples']:>7} {c['rank']:>5} {c['dim']:>5} {c['repeats']:>7} {c['scipy_sqrtm_median_s']:>16.2f} "
            f"{c['torch_median_s']:>15.2f} {c['speedup']:>6.1f} {c['relative_difference']:>14.1e}"
        )
    print("medians of interleaved repeats on one CPU thread; before = scipy sqrtm of S1 S2, after = frechet_distance (Cholesky or eigh, then eigvalsh)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--digits-images", type=int, default=5000)
    parser.add_argument("--inception-images", type=int, help="default: 5000 on CUDA, 100 on CPU")
    parser.add_argument("--batch-size", type=int, help="default: 500 on CUDA, 50 on CPU for Inception")
    parser.add_argument("--out", type=Path, help="write the results as JSON here too")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--fid-sqrt", action="store_true", help="time only the FID at --fid-dim dimensions, before and after")
    parser.add_argument("--fid-dim", type=int, default=2048)
    parser.add_argument("--fid-repeats", type=int, default=5)
    args = parser.parse_args()
    if args.fid_sqrt:
        result = fid_sqrt_timing(args.fid_dim, args.fid_repeats)
        result["torch"] = torch.__version__
        result["cpus"] = os.cpu_count()
        if args.out:
            args.out.write_text(json.dumps(result, indent=2))
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print_fid_sqrt(result)
        return 0
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    inception_images = args.inception_images or (5000 if cuda else 100)
    inception_batch = args.batch_size or (500 if cuda else 50)

    rows = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, device {device}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        digits = get_extractor("digits-classifier", device=device)
        rows.append(measure(digits, args.digits_images, args.batch_size or 500, 32, 1, device))
        weights = inception_weights(Path(scratch))
        inception = get_extractor("inception-v3", device=device, weights_path=weights)
        rows.append(measure(inception, inception_images, inception_batch, 32, 3, device))
        bf16_shift = None
        if cuda:
            inception_bf16 = get_extractor("inception-v3", device=device, weights_path=weights, bf16=True)
            rows.append(measure(inception_bf16, inception_images, inception_batch, 32, 3, device))
            images = torch.rand((5000, 3, 32, 32), generator=torch.Generator().manual_seed(1)).to(device) * 2 - 1
            bf16_shift = bf16_is_shift(inception, inception_bf16, images, inception_batch)

    result = {
        "rows": rows,
        "bf16_relative_is_shift": bf16_shift,
        "paper_schedule": {"evaluations": PAPER_EVALUATIONS, "images_per_evaluation": PAPER_IMAGES},
        "threads": torch.get_num_threads(),
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'extractor':<18} {'weights':<9} {'device':<6} {'bf16':<5} {'images':>6} {'IS img/s':>9} {'IS+FID img/s':>13} {'FID fixed s':>11} {'paper reward h':>14}")
    for r in rows:
        print(
            f"{r['extractor']:<18} {r['weights']:<9} {r['device']:<6} {str(r['bf16']):<5} {r['images']:>6} "
            f"{r['is_images_per_second']:>9.1f} {r['is_fid_images_per_second']:>13.1f} {r['fid_fixed_seconds']:>11.2f} "
            f"{r['paper_reward_hours']:>14.1f}"
        )
    print(f"paper reward = {PAPER_EVALUATIONS} x {PAPER_IMAGES} images at the IS-only rate")
    if bf16_shift is not None:
        print(f"bf16 relative IS shift on 5,000 images: {bf16_shift:.2e} (allowed: 5e-3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
