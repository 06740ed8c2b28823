"""Images per second for the search's reward (IS) and for IS+FID, with each feature extractor.

Run: .venv/bin/python bench/metric_speed.py [--device cuda] [--out results.json]

Generation is excluded: the "generator" hands out slices of a pre-made batch of
images in [-1, 1], so the numbers measure the metric pipeline alone
(quantization, resizing, the extractor, IS, FID statistics and sqrtm).  Without
the real Inception weights, inception-v3 runs with seeded random weights in the
real architecture, which costs the same.  From the IS-only rate it estimates the
reward time of AutoGAN's search schedule: 1,980 evaluations of 5,000 images.
On CUDA it also measures bf16 autocast against float32 on the same images.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from autogan.metrics import (
    INCEPTION_SHA256_PREFIX,
    compute_statistics,
    evaluate_generator,
    get_extractor,
    inception_score,
    random_inception_state_dict,
    resolve_inception_weights,
)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--digits-images", type=int, default=5000)
    parser.add_argument("--inception-images", type=int, help="default: 5000 on CUDA, 100 on CPU")
    parser.add_argument("--batch-size", type=int, help="default: 500 on CUDA, 50 on CPU for Inception")
    parser.add_argument("--out", type=Path, help="write the results as JSON here too")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args()
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
