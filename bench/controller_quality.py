"""Controller quality at the presets' own schedules, on a reward with an Inception Score's noise.

No GAN is trained: the reward is ``controllers.testing.NoisyReward``, an IS-like value
that rises by ``span`` (2.0) from no decision to every decision matching a hidden
target architecture, plus Gaussian noise (std 0.3, about one architecture's IS spread
across reward seeds).  Each controller is driven through a preset's exact multi-level
schedule as ``autogan search`` drives it (``controllers.testing.run_schedule``): its
stages and iterations, ``archs_per_iteration``, the beam's K of M, and the controller
options the search builds from the preset (learning rate, update rule, entropy
weight, baseline decay).  Every controller gets the same number of evaluations.

Rows:
- ``rnn``: the preset's settings (one Adam step per reward);
- ``rnn-batch``: the same, with one step per batch (the search's rule before issue 11);
- ``random`` and ``tpe`` (Optuna): the baselines.

"final match" is the mean fraction of decisions that the last iteration's proposals
share with the target: what the policy proposes at the end.  Random search's policy
never changes, so its final match is what chance and its beam give.

The table goes to stdout, progress to stderr, JSON to bench/results/controller_quality.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import optuna
import torch

from controllers import get_controller
from controllers.testing import NoisyReward, run_schedule
from search_spaces import SearchSpace

from autogan.config import load_config
from autogan.files import atomic_write_bytes
from autogan.search import controller_options

PRESETS = ("digits", "cifar10")
CONTROLLERS = ("rnn", "rnn-batch", "random", "tpe")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "controller_quality.json"


def schedule_of(preset: str) -> dict:
    search = load_config(preset, []).search
    return {
        "stage_iterations": list(search.stage_iterations),
        "archs_per_iteration": search.archs_per_iteration,
        "beam_width": search.beam_width,
        "beam_candidates": search.beam_candidates,
    }


def build(preset: str, name: str, space: SearchSpace, seed: int):
    search = load_config(preset, []).search
    if name in ("rnn", "rnn-batch"):
        options = controller_options(dataclasses.replace(search, controller="rnn"))
        if name == "rnn-batch":
            options["update_rule"] = "batch"
        return get_controller("rnn", space, seed, **options), options
    return get_controller(name, space, seed), {}


def run_one(preset: str, name: str, seed: int, noise: float) -> dict:
    space = SearchSpace(num_cells=load_config(preset, []).search.num_cells)
    controller, options = build(preset, name, space, seed)
    reward = NoisyReward(space.sample(10_000 + seed), noise=noise)
    started = time.perf_counter()
    run = run_schedule(controller, reward, seed=seed, **schedule_of(preset))
    return {
        "final_match": run.final_match,
        "beam_match": run.beam_match,
        "evaluations": run.evaluations,
        "entropy": run.entropy,
        "options": options,
        "seconds": time.perf_counter() - started,
    }


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _entropy_drop(runs: list[dict]) -> str:
    stages = len(runs[0]["entropy"])
    drops = []
    for stage in range(stages):
        values = [1 - r["entropy"][stage][1] / r["entropy"][stage][0] for r in runs if r["entropy"][stage][0] == r["entropy"][stage][0]]
        drops.append(f"{100 * statistics.mean(values):.0f}%" if values else "-")
    return " / ".join(drops)


def table(preset: str, rows: dict[str, list[dict]]) -> str:
    schedule = schedule_of(preset)
    first = next(iter(rows.values()))
    lines = [
        f"### {preset}: stages {schedule['stage_iterations']} x {schedule['archs_per_iteration']}, "
        f"beam {schedule['beam_width']} of {schedule['beam_candidates']}, {first[0]['evaluations']} evaluations, "
        f"{len(first)} seeds ({len(rows['tpe'])} for tpe)" if "tpe" in rows else f"{len(first)} seeds",
        "",
        "| controller | final match | beam's best match | entropy drop per stage | vs random |",
        "|---|---|---|---|---|",
    ]
    random_final = statistics.mean(r["final_match"] for r in rows["random"]) if "random" in rows else None
    for name, runs in rows.items():
        final = [r["final_match"] for r in runs]
        gain = f"{statistics.mean(final) - random_final:+.3f}" if random_final is not None else "-"
        lines.append(
            f"| {name} | {_mean_std(final)} | {_mean_std([r['beam_match'] for r in runs])} | {_entropy_drop(runs)} | {gain} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--tpe-seeds", type=int, default=5, help="seeds for tpe, whose cost grows with its trial history (about 2,000 at cifar10)"
    )
    parser.add_argument("--noise", type=float, default=0.3, help="reward noise std (IS units)")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--controllers", nargs="+", default=list(CONTROLLERS), choices=CONTROLLERS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    # The controller's tensors are tiny: extra intra-op threads only add contention.
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results: dict[str, dict[str, list[dict]]] = {}
    for preset in args.presets:
        results[preset] = {}
        for name in args.controllers:
            runs = []
            for seed in range(min(args.seeds, args.tpe_seeds) if name == "tpe" else args.seeds):
                runs.append(run_one(preset, name, seed, args.noise))
                print(f"{preset} {name} seed {seed}: final match {runs[-1]['final_match']:.3f}", file=sys.stderr, flush=True)
            results[preset][name] = runs
        print(table(preset, results[preset]))
        print()
    config = {
        "seeds": args.seeds,
        "tpe_seeds": min(args.seeds, args.tpe_seeds),
        "noise": args.noise,
        "torch": torch.__version__,
        "optuna": optuna.__version__,
    }
    # A run of some presets keeps the others' results, when they were measured the same way.
    previous = json.loads(args.out.read_text()) if args.out.exists() else None
    kept = {}
    if previous is not None and all(previous["config"].get(k) == v for k, v in config.items() if k in ("seeds", "tpe_seeds", "noise")):
        kept = {p: r for p, r in previous["results"].items() if p not in results}
    payload = {
        "benchmark": "controller_quality",
        "reward": f"NoisyReward: 1.5 + 2.0 * match_fraction + N(0, {args.noise})",
        "config": {**config, "schedules": {preset: schedule_of(preset) for preset in [*kept, *results]}},
        "results": {**kept, **results},
    }
    atomic_write_bytes(args.out, (json.dumps(payload, indent=1) + "\n").encode())
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
