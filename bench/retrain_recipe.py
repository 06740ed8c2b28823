"""How much of a retrained FID is the architecture's: the digits retrain recipe's noise, measured.

The ground truth that a search's choice is judged by is a retrained FID, and at the 600-step
recipe that number is mostly retrain-seed noise (intraclass correlation 0.42 over 28
architectures).  This bench measures where the noise comes from and picks a recipe whose
seeds agree enough to rank good architectures against better ones.

Pieces, each cached as JSON in ``bench/results/retrain_recipe/`` (run directories in
``~/.cache/autogan/bench/retrain_recipe/`` or ``$AUTOGAN_BENCH_CACHE``, outside the checkout):

- a **trajectory** ``(architecture, seed, steps)``: ``autogan retrain`` with the digits preset
  (EMA weights, the preset's G batch of 64 honoured) for ``steps`` G steps, scored every
  ``EVERY`` steps on the same 1,000 latents (so the evaluations of one run are paired).  The
  preset has no learning-rate decay, so the evaluation at step ``s`` of a longer run is exactly
  the final score of an ``s``-step run: one trajectory measures every shorter recipe.
- at its last step, the final EMA generator **re-sampled** with ``RESAMPLE_SEEDS`` other latent
  sets: FID and KID (unbiased at this sample size; torch-fidelity's) on the same samples.

``--report`` decomposes the variance (evaluation sampling, checkpoint, retrain seed,
architecture), shows whether FID has levelled off, and for each candidate recipe (length,
averaging of the last evaluations) gives the between-architecture spread against the
within-architecture spread of a 3-seed mean, per CPU minute.  Architectures are the upper half
of those ``bench/search_quality.py`` retrained (each a search's top-1 or from the upper part of
a supernet's reward range), ranked by their 600-step FID; the spread-out ones run first, so a
stopped run already spans the range.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _pieces import CACHE_ROOT, ROOT, Scheduler, publish, run_plan, read_json, retrain_command, run_logged, spread_order, write_json

RESULTS = ROOT / "bench" / "results"
PIECES = RESULTS / "retrain_recipe"
CACHE = CACHE_ROOT / "retrain_recipe"
SUMMARY = RESULTS / "retrain_recipe.json"
LEGACY_RETRAINS = RESULTS / "search_quality" / "retrains"

PRESET = "digits"
EVERY = 150  # G steps between evaluations: every candidate length is a multiple
SAMPLES = 1000  # per evaluation, as the preset
RESAMPLE_SEEDS = (101, 102, 103, 104)  # latent sets of the final checkpoint's extra evaluations
LONG_STEPS = 1800
POOL = 14  # the upper half of the 28 architectures retrained at 600 steps
SEEDS = 3
LATE_WINDOWS = (1, 3)  # evaluations averaged at the end of a run: the last one, or the last three
OVERRIDES = [
    "run.threads=1",
    f"eval.every={EVERY}",
    f"eval.samples={SAMPLES}",
    f"eval.checkpoint_every={EVERY}",
    "eval.at_start=false",
    "eval.score_raw=false",
]


def recipe_fingerprint() -> str:
    preset = (ROOT / "configs" / f"retrain_{PRESET}.toml").read_text()
    return hashlib.sha1((preset + "\n".join(OVERRIDES)).encode()).hexdigest()[:10]


def architecture_pool() -> list[str]:
    """The ``POOL`` best of the legacy retrains by mean 600-step FID, best first."""
    fids: dict[str, list[float]] = {}
    for path in sorted(LEGACY_RETRAINS.glob("*.json")):
        piece = read_json(path)
        fids.setdefault(piece["arch"], []).append(piece["fid"])
    ranked = sorted(fids, key=lambda arch: (statistics.mean(fids[arch]), arch))
    return ranked[:POOL]


# --------------------------------------------------------------------------- pieces


def piece_key(arch: str, seed: int, steps: int) -> str:
    return hashlib.sha1(f"{arch}|{recipe_fingerprint()}|{seed}|{steps}".encode()).hexdigest()[:12]


def trajectory_piece(arch: str, seed: int, steps: int) -> dict[str, Any]:
    key = piece_key(arch, seed, steps)
    path = PIECES / f"{key}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    out = CACHE / key
    # A resumed run is timed only over the steps this process trains.
    timed_from = _checkpointed_step(out)
    started = time.time()
    command = retrain_command(out, arch, PRESET, seed, [f"train.g_steps={steps}", *OVERRIDES])
    run_logged(command, CACHE / "logs" / f"retrain-{key}.log", nice=5)
    train_minutes = (time.time() - started) / 60
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    trajectory = [{"g_step": r["g_step"], "fid": r["fid"], "is": r["is_mean"]} for r in rows if r["weights"] == "ema"]
    piece = {
        "arch": arch,
        "seed": seed,
        "steps": steps,
        "recipe": recipe_fingerprint(),
        "trajectory": trajectory,
        "resampled": resample(out / "checkpoints" / "latest.pt"),
        "train_minutes": train_minutes,
        "timed_from_step": timed_from,
    }
    write_json(path, piece)
    return piece


def _checkpointed_step(out: Path) -> int:
    latest = out / "checkpoints" / "latest.pt"
    if not latest.exists():
        return 0
    from autogan.retrain import load_retrain_checkpoint

    return int(load_retrain_checkpoint(latest)["step"])


def resample(checkpoint: Path) -> list[dict[str, Any]]:
    """The final EMA generator's FID and KID on other latent sets: the evaluation's own noise."""
    import torch
    from torch_fidelity.metric_kid import kid_features_to_metric

    from autogan.data import get_dataset
    from autogan.config import RetrainConfig
    from autogan.metrics._evaluate import extract_features
    from autogan.retrain import generator_from_checkpoint, load_retrain_checkpoint
    from autogan.retrain._scoring import GeneratorScorer

    torch.set_num_threads(1)
    state = load_retrain_checkpoint(checkpoint)
    config = RetrainConfig.from_dict(state["config"])
    generator = generator_from_checkpoint(state, weights="ema", device=torch.device("cpu"))
    real = get_dataset(config.data.dataset, size=generator.output_size, channels=config.data.channels)
    rows = []
    for seed in RESAMPLE_SEEDS:
        scorer = GeneratorScorer(config, generator.output_size, torch.device("cpu"), seed)
        if not rows:
            real_features, _ = extract_features(real.iter_batches(500, size=generator.output_size), scorer.extractor)
        images: list[torch.Tensor] = []
        with torch.no_grad():
            is_mean, _, fid = scorer.score(generator, samples=SAMPLES, keep_images=images)
            fake_features, _ = extract_features(iter(torch.cat(images).split(500)), scorer.extractor)
        kid = kid_features_to_metric(fake_features, real_features, kid_subset_size=SAMPLES, verbose=False)
        rows.append({"seed": seed, "fid": fid, "is": is_mean, "kid": kid["kernel_inception_distance_mean"],
                     "kid_std": kid["kernel_inception_distance_std"]})
    return rows


# --------------------------------------------------------------------------- plan


def plan(scheduler: Scheduler, args: argparse.Namespace) -> None:
    pool = architecture_pool()
    # Spread-out architectures first, each with all its seeds, so that an early stop already
    # has seed spreads across the pool's range.
    for rank, index in enumerate(spread_order(len(pool))[: args.archs]):
        steps = LONG_STEPS if rank < args.long_archs else args.steps
        for seed in range(SEEDS):
            scheduler.add(rank, f"retrain #{index + 1} seed {seed} ({steps} steps)",
                          lambda a=pool[index], s=seed, n=steps: trajectory_piece(a, s, n))


# --------------------------------------------------------------------------- report


def cached_pieces() -> list[dict[str, Any]]:
    recipe = recipe_fingerprint()
    pieces = [read_json(p) for p in sorted(PIECES.glob("*.json"))]
    return [p for p in pieces if p["recipe"] == recipe]


def fid_at(piece: dict[str, Any], steps: int, window: int) -> float | None:
    """The mean FID of the ``window`` evaluations ending at ``steps``: that recipe's result."""
    by_step = {row["g_step"]: row["fid"] for row in piece["trajectory"]}
    wanted = [steps - EVERY * k for k in range(window)]
    if not all(s in by_step and by_step[s] is not None for s in wanted):
        return None
    return statistics.mean(by_step[s] for s in wanted)


def components(values: dict[str, list[float]]) -> dict[str, Any] | None:
    """One-way random effects: the between-architecture and within (seed) variance, balanced or not."""
    groups = [v for v in values.values() if len(v) >= 2]
    if len(groups) < 2:
        return None
    within = statistics.mean(statistics.variance(v) for v in groups)
    seeds = statistics.mean(len(v) for v in groups)
    means = [statistics.mean(v) for v in groups]
    between = max(0.0, statistics.variance(means) - within / seeds)
    return {
        "architectures": len(groups),
        "seeds_per_architecture": seeds,
        "between_std": math.sqrt(between),
        "seed_std": math.sqrt(within),
        "icc": between / (between + within) if between + within > 0 else None,
        # The criterion: spread between architectures against the noise of a 3-seed mean.
        "ratio_3_seed_mean": math.sqrt(between) / math.sqrt(within / 3) if within > 0 else None,
    }


def summarise() -> dict[str, Any]:
    pieces = cached_pieces()
    minutes_per_step = [p["train_minutes"] / (p["steps"] - p.get("timed_from_step", 0)) for p in pieces
                        if p["steps"] > p.get("timed_from_step", 0)]
    per_step = statistics.median(minutes_per_step) if minutes_per_step else None
    recipes = []
    for steps in range(EVERY * 2, LONG_STEPS + 1, EVERY):
        for window in LATE_WINDOWS:
            by_arch: dict[str, list[float]] = {}
            for piece in pieces:
                value = fid_at(piece, steps, window)
                if value is not None:
                    by_arch.setdefault(piece["arch"], []).append(value)
            if not by_arch:
                continue
            means = {a: statistics.mean(v) for a, v in by_arch.items()}
            better = sorted(means, key=means.get)[: max(2, len(means) // 2)]
            overall, top = components(by_arch), components({a: by_arch[a] for a in better})
            minutes = per_step * steps * SEEDS if per_step else None
            recipes.append({
                "steps": steps, "late_window": window, "mean_fid": statistics.mean(means.values()),
                "overall": overall, "better_half": top, "wall_minutes_3_seeds": minutes,
                "better_half_ratio_per_wall_minute": (top["ratio_3_seed_mean"] / minutes
                                                     if top and top["ratio_3_seed_mean"] and minutes else None),
            })
    return {
        "protocol": {"preset": PRESET, "overrides": OVERRIDES, "fingerprint": recipe_fingerprint(),
                     "pool": architecture_pool(), "resample_seeds": list(RESAMPLE_SEEDS), "samples": SAMPLES},
        "machine": "2-core CPU, one thread per retrain, two retrains at a time (nice 5), beside other jobs: minutes are wall time under that load",
        "pieces": len(pieces),
        "wall_minutes_per_1000_g_steps": per_step * 1000 if per_step else None,
        "decomposition": decomposition(pieces),
        "levelling": levelling(pieces),
        "recipes": recipes,
    }


def decomposition(pieces: list[dict[str, Any]]) -> dict[str, Any] | None:
    """At the longest recipe: the std of FID from each source, each estimated on its own."""
    long = [p for p in pieces if p["steps"] == LONG_STEPS]
    if not long:
        return None
    # Evaluation sampling: the same final checkpoint, other latents.
    sampling = [statistics.stdev([r["fid"] for r in p["resampled"]]) for p in long]
    kid_sampling = [statistics.stdev([r["kid"] for r in p["resampled"]]) for p in long]
    # Checkpoint: the last three evaluations of one run, on the same latents, about their mean.
    late = [statistics.stdev([fid_at(p, LONG_STEPS - EVERY * k, 1) for k in range(3)]) for p in long]
    by_arch: dict[str, list[float]] = {}
    kid_by_arch: dict[str, list[float]] = {}
    for p in long:
        by_arch.setdefault(p["arch"], []).append(statistics.mean(r["fid"] for r in p["resampled"]))
        kid_by_arch.setdefault(p["arch"], []).append(statistics.mean(r["kid"] for r in p["resampled"]))
    return {
        "steps": LONG_STEPS,
        "runs": len(long),
        "sampling_std": statistics.mean(sampling),
        "checkpoint_std": statistics.mean(late),
        "fid": components(by_arch),
        "kid_sampling_std": statistics.mean(kid_sampling),
        "kid": components(kid_by_arch),
    }


def levelling(pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean FID over the long runs at each evaluation, and its fall over the last 300 steps."""
    long = [p for p in pieces if p["steps"] == LONG_STEPS]
    rows = []
    for steps in range(EVERY, LONG_STEPS + 1, EVERY):
        values = [fid_at(p, steps, 1) for p in long]
        values = [v for v in values if v is not None]
        if values:
            rows.append({"g_step": steps, "mean_fid": statistics.mean(values), "runs": len(values)})
    return rows


def table(summary: dict[str, Any]) -> str:
    lines = [f"retrain recipe: {summary['pieces']} runs cached; "
             f"{summary['wall_minutes_per_1000_g_steps'] or float('nan'):.1f} wall minutes per 1,000 G steps of a one-thread retrain ({summary['machine']})"]
    d = summary["decomposition"]
    if d:
        lines.append(f"at {d['steps']} G steps ({d['runs']} runs): FID std from evaluation sampling {d['sampling_std']:.3f}, "
                     f"checkpoint {d['checkpoint_std']:.3f}, retrain seed {d['fid']['seed_std'] if d['fid'] else float('nan'):.3f}, "
                     f"architecture {d['fid']['between_std'] if d['fid'] else float('nan'):.3f}")
    lines.append("| steps | late evals | mean FID | seed std | between std (all) | ratio (all) | ratio (better half) | minutes (3 seeds) |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for r in summary["recipes"]:
        o, t = r["overall"] or {}, r["better_half"] or {}

        def f(x: Any) -> str:
            return "-" if x is None else f"{x:.2f}"

        lines.append(f"| {r['steps']} | {r['late_window']} | {r['mean_fid']:.2f} | {f(o.get('seed_std'))} | {f(o.get('between_std'))} "
                     f"| {f(o.get('ratio_3_seed_mean'))} | {f(t.get('ratio_3_seed_mean'))} | {f(r['wall_minutes_3_seeds'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="retrains at once, one core each")
    parser.add_argument("--archs", type=int, default=POOL, help="architectures of the pool to retrain")
    parser.add_argument("--long-archs", type=int, default=4, help="of those, how many run the full trajectory")
    parser.add_argument("--steps", type=int, default=LONG_STEPS, help="G steps of the other architectures' runs")
    parser.add_argument("--hours", type=float, default=None, help="start no new piece after this long")
    parser.add_argument("--report", action="store_true", help="only aggregate what is cached")
    args = parser.parse_args(argv)
    if args.steps % EVERY:
        parser.error(f"--steps must be a multiple of {EVERY}, e.g. {args.steps // EVERY * EVERY or EVERY}")
    if not args.report:
        run_plan(plan, args)
    publish(summarise(), SUMMARY, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
