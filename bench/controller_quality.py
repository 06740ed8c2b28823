"""Controller quality on the synthetic reward: RNN, random and TPE at equal budgets.

The reward is the fraction of decisions that match a hidden target architecture
(``controllers.testing.match_fraction``), so no GAN is trained and a run takes seconds.
Two searches are measured, each over the same seeds and with the same number of
evaluations for every controller:

- single-level: all 14 decisions of AutoGAN's 3-cell space at once, 60 updates of 10
  proposals (600 evaluations; the budget of tests/controllers/test_controller_rnn.py);
- multi-level: AutoGAN's MLAS, one cell per stage, 20 updates of 10 per stage plus
  M = 10 beam candidates (630 evaluations), beam K = 5.

"rnn" uses the test's learning rate 3e-3, "rnn-paper" AutoGAN's 3.5e-4 (tuned for about
2,000 noisy Inception-Score rewards, so it is expected to be slower here).

The table goes to stdout, progress to stderr, and JSON to
bench/results/controller_quality.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch

from controllers import BeamSearch, get_controller
from controllers.testing import SyntheticRun, match_fraction, run_synthetic
from search_spaces import SearchSpace

CONTROLLERS = {
    "rnn": ("rnn", {"lr": 3e-3}),
    "rnn-paper": ("rnn", {}),
    "random": ("random", {}),
    "tpe": ("tpe", {}),
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "controller_quality.json"


def single_level(space: SearchSpace, name: str, seed: int, updates: int, batch: int) -> dict:
    registered, kwargs = CONTROLLERS[name]
    target = space.sample(10_000 + seed)
    controller = get_controller(registered, space, seed, **kwargs)
    start = time.perf_counter()
    run = run_synthetic(controller, target, updates=updates, batch_size=batch)
    return _summary(run, time.perf_counter() - start)


def multi_level(space: SearchSpace, name: str, seed: int, updates: int, batch: int) -> dict:
    registered, kwargs = CONTROLLERS[name]
    target = space.sample(10_000 + seed)
    controller = get_controller(registered, space, seed, **kwargs)
    beam = BeamSearch(space)
    evaluations = 0
    start = time.perf_counter()
    for stage in range(1, space.num_cells + 1):
        controller.set_stage(stage)
        prefix = beam if stage > 1 else None
        run = run_synthetic(controller, target, updates=updates, batch_size=batch, prefix=prefix)
        candidates = controller.sample(beam.num_candidates, prefix=prefix)
        scores = [match_fraction(space, c.arch, target) for c in candidates]
        controller.update(candidates, scores)
        beam.update(candidates, scores)
        evaluations += run.evaluations + len(candidates)
    return {
        # What multi-level search hands on is the beam; earlier stages score fewer cells,
        # so "best" counts only the last stage's (full-architecture) evaluations.
        "final": beam.best.score,
        "best": max(run.best, beam.best.score),
        "found": beam.best.arch == target,
        "evaluations": evaluations,
        "evaluations_to_0.9": None,
        "seconds": time.perf_counter() - start,
    }


def _summary(run: SyntheticRun, seconds: float) -> dict:
    return {
        "final": run.final(),
        "best": run.best,
        "found": run.best == 1.0,
        "evaluations": run.evaluations,
        "evaluations_to_0.9": _first_batch_at(run, 0.9),
        "seconds": seconds,
    }


def _first_batch_at(run: SyntheticRun, level: float) -> int | None:
    seen = 0
    for batch in run.batches:
        seen += len(batch)
        if sum(batch) / len(batch) >= level:
            return seen
    return None


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def table(title: str, final_label: str, rows: dict[str, list[dict]], *, show_reach: bool) -> str:
    columns = ["controller", final_label, "best reward", "found target"]
    # In multi-level search early batches are scored on fewer cells, so "reached 0.9"
    # would compare unlike rewards; it is shown for single-level search only.
    columns += ["evaluations to a batch mean >= 0.9"] if show_reach else []
    columns += ["s/run"]
    lines = [f"### {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name, runs in rows.items():
        cells = [
            name,
            _mean_std([r["final"] for r in runs]),
            _mean_std([r["best"] for r in runs]),
            f"{sum(r['found'] for r in runs)}/{len(runs)}",
        ]
        if show_reach:
            reached = [r["evaluations_to_0.9"] for r in runs if r["evaluations_to_0.9"] is not None]
            cells.append(f"{statistics.median(reached):.0f} (median of {len(reached)}/{len(runs)})" if reached else "never")
        cells.append(f"{statistics.mean(r['seconds'] for r in runs):.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle, indent=2)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--updates", type=int, default=60, help="single-level updates per run")
    parser.add_argument("--stage-updates", type=int, default=20, help="multi-level updates per stage")
    parser.add_argument("--batch", type=int, default=10, help="proposals per update")
    parser.add_argument("--controllers", nargs="+", default=list(CONTROLLERS), choices=list(CONTROLLERS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    # The controller's tensors are tiny: extra intra-op threads only add contention.
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = SearchSpace()
    results: dict[str, dict[str, list[dict]]] = {"single_level": {}, "multi_level": {}}
    for name in args.controllers:
        for scenario, run, updates in (
            ("single_level", single_level, args.updates),
            ("multi_level", multi_level, args.stage_updates),
        ):
            runs = []
            for seed in range(args.seeds):
                runs.append(run(space, name, seed, updates, args.batch))
                print(f"{scenario} {name} seed {seed}: final {runs[-1]['final']:.3f}", file=sys.stderr, flush=True)
            results[scenario][name] = runs

    single_evals = results["single_level"][args.controllers[0]][0]["evaluations"]
    multi_evals = results["multi_level"][args.controllers[0]][0]["evaluations"]
    print(
        table(
            f"Single-level: 14 decisions, {single_evals} evaluations, {args.seeds} seeds",
            "final mean reward (last 5 updates)",
            results["single_level"],
            show_reach=True,
        )
    )
    print()
    print(
        table(
            f"Multi-level (beam K=5 of M=10): {multi_evals} evaluations, {args.seeds} seeds",
            "beam's best after stage 3",
            results["multi_level"],
            show_reach=False,
        )
    )
    write_json(
        args.out,
        {
            "benchmark": "controller_quality",
            "reward": "fraction of decisions matching a hidden target (controllers.testing.match_fraction)",
            "config": {
                "seeds": args.seeds,
                "updates": args.updates,
                "stage_updates": args.stage_updates,
                "batch": args.batch,
                "controllers": {name: {"registered": CONTROLLERS[name][0], **CONTROLLERS[name][1]} for name in args.controllers},
                "torch": torch.__version__,
                "optuna": optuna.__version__,
            },
            "results": results,
        },
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
