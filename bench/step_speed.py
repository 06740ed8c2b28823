"""One-stage vs two-stage GAN steps: time per iteration (one G update and n_critic D updates).

Variants, all on the same supernet, discriminator, initial weights and architecture sequence:

- ``one-stage``: exact one-stage steps (``autogan.train.one_stage_step``);
- ``fresh-z``: OSGAN's baseline: D step then G step, the G step drawing a fresh z at the
  D batch's size (the fair "alternating" comparison, and the table's headline ratio);
- ``best-two-stage``: D step then G step, G reusing the D batch's fakes;
- ``autogan``: AutoGAN's schedule: the G step draws a fresh z, G batch twice the D batch.

With ``n_critic`` > 1 every variant runs ``n_critic - 1`` D-only steps per iteration.
Variants are interleaved round by round so that machine noise hits them alike; the
table reports medians and the ratios two-stage / one-stage (above 1: one-stage faster).

It also measures the exact-hinge extra pass (D forward + input-only backward on the
inactive fakes) at 25/50/100 % inactive, and the G and D shares of a step, which bound
what any one-stage scheme can save against the best two-stage schedule.

    python bench/step_speed.py                 # CPU, small and paper widths
    python bench/step_speed.py --quick         # small width only, fewer rounds
    python bench/step_speed.py --device cuda --bf16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from autogan.nn import Discriminator, SupernetGenerator
from autogan.train import (
    LOSSES,
    StepOptions,
    get_loss,
    inactive_input_gradient,
    one_stage_step,
    to_channels_last,
    two_stage_step,
)
from search_spaces import SearchSpace

VARIANTS = ("one-stage", "fresh-z", "best-two-stage", "autogan")
# Hinge only: what exactness costs, against the same one-stage step with other inactive handling.
HINGE_VARIANTS = ("one-stage/extra-pass", "one-stage/inexact")
_INACTIVE = {"one-stage": "auto", "one-stage/extra-pass": "extra-pass", "one-stage/inexact": "ignore"}


@dataclass(frozen=True)
class Size:
    name: str
    ch: int
    df: int
    batch: int  # D batch; AutoGAN's G batch is twice this
    latent: int = 128


SIZES = {
    "small": Size("small", ch=32, df=32, batch=32),
    "paper": Size("paper", ch=128, df=64, batch=64),  # AutoGAN's search width
}


CLOCK = "wall"


def _now() -> float:
    """Seconds on the chosen clock: wall time, or this process's CPU time (robust to other
    processes sharing the cores when the benchmark runs single-threaded)."""
    return time.process_time() if CLOCK == "cpu" else time.perf_counter()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Runner:
    """Owns one size's networks, their initial state and the shared input sequence."""

    def __init__(self, size: Size, device: torch.device, options: StepOptions, archs: int, seed: int) -> None:
        self.size = size
        self.device = device
        self.options = options
        space = SearchSpace()
        self.G = SupernetGenerator(space, ch=size.ch, latent_dim=size.latent, seed=seed).to(device)
        self.D = Discriminator(df=size.df, seed=seed + 1).to(device)
        if options.channels_last:
            to_channels_last(self.G, self.D)
        self.initial = [{k: v.clone() for k, v in m.state_dict().items()} for m in (self.G, self.D)]
        rng = random.Random(seed)
        self.archs = [space.sample(rng) for _ in range(archs)]
        generator = torch.Generator().manual_seed(seed)
        self.real = (torch.rand(size.batch, 3, 32, 32, generator=generator) * 2 - 1).to(device)
        self.z = [torch.randn(size.batch, size.latent, generator=generator).to(device) for _ in range(archs)]
        self.g_z = [torch.randn(2 * size.batch, size.latent, generator=generator).to(device) for _ in range(archs)]
        self.fresh_z = [torch.randn(size.batch, size.latent, generator=generator).to(device) for _ in range(archs)]

    def reset(self):
        for module, state in zip((self.G, self.D), self.initial):
            module.load_state_dict(state)
        make = lambda m: torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.0, 0.9))  # noqa: E731
        return make(self.G), make(self.D)

    def iteration(self, variant: str, loss: str, n_critic: int, index: int, opt_g, opt_d) -> int:
        """One G update and n_critic D updates; returns the inactive fakes of the merged step."""
        arch = self.archs[index % len(self.archs)]
        z = self.z[index % len(self.z)]
        one_stage = variant in _INACTIVE
        options = replace(self.options, inactive=_INACTIVE[variant]) if one_stage else self.options
        common = dict(stage=3, options=options)
        for _ in range(n_critic - 1):
            step = one_stage_step if one_stage else two_stage_step
            step(self.G, self.D, opt_g, opt_d, self.real, z, arch, loss, update_g=False, **common)
        if one_stage:
            return one_stage_step(self.G, self.D, opt_g, opt_d, self.real, z, arch, loss, **common).inactive
        fresh = {"autogan": self.g_z, "fresh-z": self.fresh_z}.get(variant)
        g_z = None if fresh is None else fresh[index % len(fresh)]
        two_stage_step(self.G, self.D, opt_g, opt_d, self.real, z, arch, loss, g_z=g_z, **common)
        return 0

    def time_block(self, variant: str, loss: str, n_critic: int, warmup: int, iters: int) -> tuple[float, int]:
        opt_g, opt_d = self.reset()
        for index in range(warmup):
            self.iteration(variant, loss, n_critic, index, opt_g, opt_d)
        _sync(self.device)
        inactive = 0
        start = _now()
        for index in range(warmup, warmup + iters):
            inactive += self.iteration(variant, loss, n_critic, index, opt_g, opt_d)
        _sync(self.device)
        return _now() - start, inactive

    def components(self, rounds: int) -> dict:
        """Seconds for G forward+backward (batch B) and D forward+backward (batch 2B, as a D step)."""
        arch = self.archs[0]
        timings = {"g_fb": [], "d_fb_2b": [], "one_stage_step": []}
        opt_g, opt_d = self.reset()
        for _ in range(rounds + 1):
            _sync(self.device)
            start = _now()
            self.G(self.z[0], arch).sum().backward()
            _sync(self.device)
            g_time = _now() - start
            x = torch.cat([self.real, self.real])
            start = _now()
            self.D(x, 3).sum().backward()
            _sync(self.device)
            d_time = _now() - start
            start = _now()
            one_stage_step(self.G, self.D, opt_g, opt_d, self.real, self.z[0], arch, "wasserstein", options=self.options)
            _sync(self.device)
            step_time = _now() - start
            for key, value in zip(timings, (g_time, d_time, step_time)):
                timings[key].append(value)
        return {key: statistics.median(values[1:]) for key, values in timings.items()}

    def extra_pass(self, fractions, rounds: int, step_seconds: float) -> list[dict]:
        """The exact-hinge extra pass alone, at given inactive fractions of the fake batch."""
        fake = self.G(self.z[0], self.archs[0]).detach()
        cotangent = torch.full((self.size.batch,), -1.0 / self.size.batch, device=self.device)
        rows = []
        for fraction in fractions:
            count = max(1, round(fraction * self.size.batch))
            index = torch.arange(count, device=self.device)
            samples = []
            for _ in range(rounds + 1):
                _sync(self.device)
                start = _now()
                inactive_input_gradient(self.D, fake, index, cotangent, 3, self.options)
                _sync(self.device)
                samples.append(_now() - start)
            seconds = statistics.median(samples[1:])
            rows.append({"inactive_fraction": fraction, "seconds": seconds, "share_of_one_stage_step": seconds / step_seconds})
        return rows


def run(args) -> dict:
    device = torch.device(args.device)
    options = StepOptions(bf16=args.bf16, channels_last=args.channels_last)
    results, extras, components = [], [], []
    for size_name in args.sizes:
        size = SIZES[size_name]
        runner = Runner(size, device, options, archs=16, seed=args.seed)
        rounds = args.rounds if size_name == "small" else max(1, args.rounds - 1)
        iters = args.iters if size_name == "small" else max(1, args.iters - 1)
        parts = runner.components(rounds)
        components.append({"size": size_name, **parts, "d_share_of_step": parts["d_fb_2b"] / parts["one_stage_step"]})
        print(f"[{size_name}] G fwd+bwd {parts['g_fb']:.3f}s, D fwd+bwd (2B) {parts['d_fb_2b']:.3f}s, "
              f"one-stage step {parts['one_stage_step']:.3f}s", file=sys.stderr, flush=True)
        for item in runner.extra_pass((0.25, 0.5, 1.0), rounds + 1, parts["one_stage_step"]):
            extras.append({"size": size_name, **item})
        for n_critic in args.n_critic:
            for loss in args.losses:
                variants = VARIANTS + (HINGE_VARIANTS if loss == "hinge" else ())
                samples = {variant: [] for variant in variants}
                inactive = 0
                for _ in range(rounds):
                    for variant in variants:
                        seconds, count = runner.time_block(variant, loss, n_critic, args.warmup, iters)
                        samples[variant].append(seconds / iters)
                        if variant == "one-stage":
                            inactive += count
                medians = {variant: statistics.median(values) for variant, values in samples.items()}
                row = {
                    "size": size_name, "ch": size.ch, "df": size.df, "batch": size.batch,
                    "loss": loss, "n_critic": n_critic,
                    "seconds_per_iteration": medians, "samples": samples,
                    "fresh_z_over_one_stage": medians["fresh-z"] / medians["one-stage"],
                    "best_two_stage_over_one_stage": medians["best-two-stage"] / medians["one-stage"],
                    "autogan_over_one_stage": medians["autogan"] / medians["one-stage"],
                    "hinge_inactive_fraction": inactive / (rounds * iters * size.batch) if loss == "hinge" else None,
                }
                results.append(row)
                print(_format_row(row), file=sys.stderr, flush=True)
    return {
        "benchmark": "step_speed",
        "device": _device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "clock": CLOCK,
        "python": platform.python_version(),
        "options": asdict(options),
        "rounds": args.rounds, "iters": args.iters, "warmup": args.warmup,
        "sizes": {name: asdict(SIZES[name]) for name in args.sizes},
        "components": components,
        "hinge_extra_pass": extras,
        "results": results,
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


HEADER = (
    f"{'size':<6} {'loss':<12} {'n_crit':>6} {'one-stage':>10} {'fresh-z':>10} {'best-2s':>10} {'autogan':>10} "
    f"{'fresh/one':>10} {'best/one':>9} {'autogan/one':>12} {'inactive':>9}"
)


def _format_row(row: dict) -> str:
    s = row["seconds_per_iteration"]
    inactive = "" if row["hinge_inactive_fraction"] is None else f"{100 * row['hinge_inactive_fraction']:.0f}%"
    return (
        f"{row['size']:<6} {row['loss']:<12} {row['n_critic']:>6} {s['one-stage']:>9.3f}s {s['fresh-z']:>9.3f}s "
        f"{s['best-two-stage']:>9.3f}s {s['autogan']:>9.3f}s {row['fresh_z_over_one_stage']:>9.2f}x "
        f"{row['best_two_stage_over_one_stage']:>8.2f}x {row['autogan_over_one_stage']:>11.2f}x {inactive:>9}"
    )


def _format_hinge(row: dict) -> str | None:
    s = row["seconds_per_iteration"]
    if "one-stage/inexact" not in s:
        return None
    return (
        f"{row['size']:<6} n_critic {row['n_critic']}: exact (scale) {s['one-stage']:.3f}s, "
        f"exact (extra pass) {s['one-stage/extra-pass']:.3f}s, inexact {s['one-stage/inexact']:.3f}s "
        f"-> exactness costs {100 * (s['one-stage'] / s['one-stage/inexact'] - 1):+.1f}% (scale), "
        f"{100 * (s['one-stage/extra-pass'] / s['one-stage/inexact'] - 1):+.1f}% (extra pass) "
        f"at {100 * row['hinge_inactive_fraction']:.0f}% inactive fakes"
    )


def print_report(report: dict) -> None:
    print(
        f"step speed on {report['device']}, torch {report['torch']}, {report['threads']} threads, "
        f"{report['clock']} clock, options {report['options']}"
    )
    print("seconds per iteration (1 G update + n_critic D updates); ratios > 1 mean one-stage is faster")
    print(HEADER)
    for row in report["results"]:
        print(_format_row(row))
    print()
    print("G/D shares (one-stage saves at most one D forward+backward at batch B per iteration):")
    for part in report["components"]:
        print(
            f"  {part['size']:<6} G fwd+bwd {part['g_fb']:.3f}s  D fwd+bwd at 2B {part['d_fb_2b']:.3f}s  "
            f"one-stage step {part['one_stage_step']:.3f}s  (D is {100 * part['d_share_of_step']:.0f}% of the step)"
        )
    print()
    print("exact hinge: one backward with weight-gradient scaling vs an extra pass vs inexact:")
    for row in report["results"]:
        line = _format_hinge(row)
        if line:
            print("  " + line)
    print()
    print("the extra pass alone (D forward + input-only backward on the inactive fakes):")
    for item in report["hinge_extra_pass"]:
        print(
            f"  {item['size']:<6} {100 * item['inactive_fraction']:>4.0f}% inactive: {item['seconds']:.4f}s "
            f"= {100 * item['share_of_one_stage_step']:.1f}% of a one-stage step"
        )


def write_json(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        json.dump(report, stream, indent=2)
    os.replace(temporary, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA only)")
    parser.add_argument("--channels-last", action="store_true", help="NHWC layout (CUDA only)")
    parser.add_argument("--quick", action="store_true", help="small width only, 2 rounds of 1 iteration")
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["small", "paper"])
    parser.add_argument("--losses", nargs="+", choices=sorted(LOSSES), default=list(LOSSES))
    parser.add_argument("--n-critic", nargs="+", type=int, default=[1, 5])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per variant (median taken)")
    parser.add_argument("--iters", type=int, default=3, help="timed iterations per round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed iterations per round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="JSON path (default bench/results/step_speed_<device>.json)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall",
        help="wall time, or process CPU time (use with --threads 1 on a shared machine; CPU only)",
    )
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = args.clock
    if args.clock == "cpu" and args.device.startswith("cuda"):
        parser.error("--clock cpu measures host CPU time; use --clock wall with --device cuda")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.sizes, args.rounds, args.iters = ["small"], 2, 1
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible; use --device cpu")
    if (args.bf16 or args.channels_last) and not args.device.startswith("cuda"):
        print("note: --bf16/--channels-last only act on CUDA; running plain float32", file=sys.stderr)
    for loss in args.losses:
        get_loss(loss)
    out = args.out or Path(__file__).parent / "results" / f"step_speed_{torch.device(args.device).type}{'_bf16' if args.bf16 else ''}.json"
    report = run(args)
    print_report(report)
    write_json(report, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
