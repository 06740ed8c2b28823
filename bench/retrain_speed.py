"""Retraining speed at the paper's sizes: one-stage vs two-stage steps, and the time for 50,000 G steps.

The paper's retrain recipe: AutoGAN-top1 at ch 256 / df 128, 32x32 RGB, D batch 64, G batch 128,
n_critic 5.  One G step is ``n_critic`` D batches, the last of which also trains G:

- two-stage (the paper): 4 D-only steps, then a D step followed by a G step on 128 fresh latents;
- one-stage (OSGAN): 4 D-only steps, then one merged step that trains G on the D batch's 64 fakes.

D-only steps are identical in both, so they are timed once and shared; each kind of step is timed on its own and a G step is
``(n_critic - 1) * t(D-only) + t(last step)``; the ratio of the two modes is measured in the same
run.  images/s counts real images through D per second (n_critic * 64 per G step).

    python bench/retrain_speed.py                  # CPU, a handful of steps (a few minutes)
    python bench/retrain_speed.py --device cuda --bf16 --repeats 20
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search_spaces import AUTOGAN_TOP1  # noqa: E402

from autogan.nn import Discriminator, Generator  # noqa: E402
from autogan.train import StepOptions, get_loss, one_stage_step, two_stage_step  # noqa: E402

PAPER_G_STEPS = 50_000


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(kind: str, args, device: torch.device, shared: dict) -> dict:
    """Seconds per D-only step and per last (G-training) step for ``kind`` = one_stage | two_stage."""
    G = Generator(AUTOGAN_TOP1, args.ch, args.latent, 4, 3, seed=1).to(device)
    D = Discriminator(args.df, 3, 3, seed=2).to(device)
    betas = (0.0, 0.9)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=betas)
    options = StepOptions(bf16=args.bf16)
    loss = get_loss("hinge")
    stream = torch.Generator().manual_seed(0)
    real = (torch.rand(args.d_batch, 3, 32, 32, generator=stream) * 2 - 1).to(device)  # (B, 3, 32, 32)
    z = torch.randn(args.d_batch, args.latent, generator=stream).to(device)
    g_z = torch.randn(args.g_batch, args.latent, generator=stream).to(device)

    def d_only() -> None:
        step = one_stage_step if kind == "one_stage" else two_stage_step
        step(G, D, opt_g, opt_d, real, z, None, loss, update_g=False, options=options)

    def last() -> None:
        if kind == "one_stage":
            one_stage_step(G, D, opt_g, opt_d, real, z, None, loss, update_g=True, options=options)
        else:
            two_stage_step(G, D, opt_g, opt_d, real, z, None, loss, update_g=True, g_z=g_z, options=options)

    timings = {}
    for name, fn in (("d_only", d_only), ("last", last)):
        if name == "d_only" and shared.get("d_only") is not None:
            timings[name] = shared["d_only"]  # the same computation in both modes: time it once
            continue
        for _ in range(args.warmup):
            fn()
        _sync(device)
        started = time.perf_counter()
        for _ in range(args.repeats):
            fn()
        _sync(device)
        timings[name] = (time.perf_counter() - started) / args.repeats
    shared.setdefault("d_only", timings["d_only"])
    g_step = (args.n_critic - 1) * timings["d_only"] + timings["last"]
    return {
        "step": kind,
        "g_batch": args.d_batch if kind == "one_stage" else args.g_batch,
        "seconds_d_only_step": timings["d_only"],
        "seconds_last_step": timings["last"],
        "seconds_per_g_step": g_step,
        "images_per_second": args.n_critic * args.d_batch / g_step,
        "hours_for_50k_g_steps": PAPER_G_STEPS * g_step / 3600,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--ch", type=int, default=256)
    parser.add_argument("--df", type=int, default=128)
    parser.add_argument("--latent", type=int, default=128)
    parser.add_argument("--d-batch", type=int, default=64)
    parser.add_argument("--g-batch", type=int, default=128)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="timed steps of each kind (CPU: keep it small)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 leaves the default")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA only)")
    parser.add_argument("--out", type=Path, help="JSON path (default bench/results/retrain_speed_<device>.json)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("retrain_speed: --device cuda but no CUDA device is visible; run with --device cpu", file=sys.stderr)
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = []
    shared: dict = {}
    for kind in ("two_stage", "one_stage"):
        print(f"timing {kind} steps on {device} ...", file=sys.stderr, flush=True)
        rows.append(time_steps(kind, args, device, shared))
    two, one = rows
    speedup = two["seconds_per_g_step"] / one["seconds_per_g_step"]
    header = f"{'step':<10} {'G batch':>7} {'s/D-only':>9} {'s/last':>8} {'s/G step':>9} {'images/s':>9} {'50k G steps':>12}"
    print(f"retrain speed, AutoGAN-top1 ch {args.ch} / df {args.df}, D batch {args.d_batch}, n_critic {args.n_critic}, "
          f"{device}{' bf16' if args.bf16 else ''}, {torch.get_num_threads()} threads")
    print(header)
    for row in rows:
        print(
            f"{row['step']:<10} {row['g_batch']:>7} {row['seconds_d_only_step']:>9.3f} {row['seconds_last_step']:>8.3f} "
            f"{row['seconds_per_g_step']:>9.3f} {row['images_per_second']:>9.1f} {row['hours_for_50k_g_steps']:>10.1f} h"
        )
    print(f"one-stage speedup per G step: {speedup:.2f}x (the G step is 1 of {args.n_critic} D batches)")
    result = {
        "benchmark": "retrain_speed",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rows": rows,
        "one_stage_speedup": speedup,
    }
    out = args.out or ROOT / "bench" / "results" / f"retrain_speed_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
