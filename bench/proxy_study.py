"""Which cheap estimate ranks good generators against better ones: proxies against retrained ground truth.

The ground truth is ``bench/retrain_recipe.py``'s: the pool's architectures retrained from scratch,
3 seeds each, mean FID at the chosen length.  Each proxy scores the same architectures, on the final
supernet of one search run with the current code at the protocol of ``bench/search_quality.py``
(ch 32, 250 D steps an iteration, stages [4, 5, 6]: the retrain recipe's widths, so weights can be
inherited):

- ``supernet-is`` / ``supernet-fid``: the search's own reward on the final supernet (per-architecture
  BatchNorm recalibration, common random numbers), the mean of ``REWARD_SEEDS`` replicates;
- ``inherit-K``: the architecture copied out of that supernet with its discriminator
  (``train.init_from``) and trained on with the retrain recipe; the EMA FID after ``K`` G steps.  One
  run to ``max(K)`` scores every ``K``, and a successive-halving selection over them (keep the better
  half at each rung) is replayed from those trajectories, since a candidate's run does not depend on
  which others go on;
- ``scratch-K``: the ground truth's own runs after only ``K`` steps (Li and Talwalkar's early-stopped
  training, the baseline a multi-fidelity selection must beat), at no extra cost.

``--report`` gives Kendall's tau (scipy) and top-3 precision of each proxy against the ground truth,
over the whole pool and in its better half, and the CPU minutes each proxy costs per architecture.
Pieces are cached as JSON in ``bench/results/proxy_study/``; ``--smoke`` runs every kind of piece at
tiny sizes into a temporary directory, to check that each starts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _pieces import CACHE_ROOT, ROOT, Scheduler, publish, cli, log, read_json, retrain_command, run_logged, write_json

import retrain_recipe

RESULTS = ROOT / "bench" / "results"
PIECES = RESULTS / "proxy_study"
CACHE = CACHE_ROOT / "proxy_study"
SUMMARY = RESULTS / "proxy_study.json"

SEARCH_PROTOCOL = ["model.ch=32", "model.df=32", "train.d_steps_per_iteration=250", "search.stage_iterations=[4,5,6]",
                   "run.backend='inprocess'", "run.threads=1", "run.overlap=false"]
SOURCE = ("rnn", 0)  # the search whose final supernet the proxies use
REWARD_SEEDS = 3
INHERIT_STEPS = (150, 300, 600)  # the successive-halving rungs: each twice the last
INHERIT_EVAL = ["run.threads=1", "eval.every=150", "eval.samples=1000", "eval.checkpoint_every=150",
                "eval.at_start=true", "eval.score_raw=false"]
SMOKE_SEARCH = ["model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.d_steps_per_iteration=6",
                "search.reward_samples=40", "search.reward_splits=2", "search.archs_per_iteration=3",
                "search.beam_candidates=3", "search.beam_width=2", "search.calibration_samples=16", "search.top_k=2",
                "search.rescore_seeds=1", "search.stage_iterations=[1,1,1]", "run.backend='inprocess'", "run.threads=1"]


class Plan:
    """What the pieces run: the real protocol, or ``--smoke``'s tiny one in a scratch directory."""

    def __init__(self, smoke: bool):
        self.smoke = smoke
        base = Path(tempfile.mkdtemp(prefix="proxy-smoke-")) if smoke else None
        self.pieces = base / "pieces" if base else PIECES
        self.cache = base / "cache" if base else CACHE
        self.search = SMOKE_SEARCH if smoke else SEARCH_PROTOCOL
        self.steps = (2, 4) if smoke else INHERIT_STEPS
        widths = ["model.ch=8", "model.df=8", "model.latent_dim=16"] if smoke else []
        self.inherit_eval = [*widths, "run.threads=1", f"eval.every={self.steps[0]}", f"eval.checkpoint_every={self.steps[0]}",
                             "eval.samples=100" if smoke else "eval.samples=1000", "eval.at_start=true", "eval.score_raw=false"]
        self.reward_seeds = 1 if smoke else REWARD_SEEDS


# --------------------------------------------------------------------------- pieces


def search_piece(plan: Plan) -> dict[str, Any]:
    controller, seed = SOURCE
    path = plan.pieces / "search.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    run_dir = plan.cache / "runs" / f"{controller}-s{seed}"
    started = time.time()
    command = (cli("search", "--resume", str(run_dir), "--json") if (run_dir / "config.toml").exists() else
               cli("search", "--out", str(run_dir), "--json", f"search.controller='{controller}'", f"run.seed={seed}",
                   *plan.search))
    output = json.loads(run_logged(command, plan.cache / "logs" / "search.log", nice=5))
    piece = {"controller": controller, "seed": seed, "run_dir": str(run_dir), "top": output["top"],
             "protocol": plan.search, "minutes": (time.time() - started) / 60}
    write_json(path, piece)
    return piece


def reward_piece(plan: Plan, search: dict[str, Any], archs: list[str]) -> dict[str, Any]:
    """The search's own reward for every architecture on the final supernet: IS and FID, common latents per seed."""
    path = plan.pieces / "rewards.json"
    cached = read_json(path)
    if cached is not None and set(cached["archs"]) >= set(archs):
        return cached
    import torch

    from autogan.search import RewardEvaluator, RunDirectory

    torch.set_num_threads(1)
    started = time.time()
    record = RunDirectory.open(search["run_dir"])
    config = record.config()
    evaluator = RewardEvaluator(config.replace(search=_with(config.search, reward="fid")).to_dict())
    box = {"version": 0, "ref": record.load_checkpoint()["trainer"]["generator"]}
    rows = {}
    for arch in archs:
        scored = [evaluator.score({"key": [0], "arch": arch, "seed": 1000 + seed}, box) for seed in range(plan.reward_seeds)]
        rows[arch] = {"is": statistics.mean(r["is_mean"] for r in scored), "fid": statistics.mean(r["fid"] for r in scored)}
    piece = {"archs": archs, "rewards": rows, "seeds": plan.reward_seeds, "minutes": (time.time() - started) / 60}
    write_json(path, piece)
    return piece


def inherit_piece(plan: Plan, search: dict[str, Any], arch: str) -> dict[str, Any]:
    """``arch`` trained on from the final supernet's weights, scored at every rung."""
    key = hashlib.sha1(f"{arch}|{search['run_dir']}|{plan.inherit_eval}|{max(plan.steps)}".encode()).hexdigest()[:12]
    path = plan.pieces / "inherit" / f"{key}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    out = plan.cache / "inherit" / key
    started = time.time()
    overrides = [f"train.init_from='{search['run_dir']}'", f"train.g_steps={max(plan.steps)}", *plan.inherit_eval]
    run_logged(retrain_command(out, arch, retrain_recipe.PRESET, 0, overrides), plan.cache / "logs" / f"inherit-{key}.log", nice=5)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    piece = {"arch": arch, "trajectory": [{"g_step": r["g_step"], "fid": r["fid"]} for r in rows if r["weights"] == "ema"],
             "minutes": (time.time() - started) / 60}
    write_json(path, piece)
    return piece


def _with(section: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(section, **changes)


# --------------------------------------------------------------------------- report


def ground_truth(steps: int) -> dict[str, float]:
    """The retrained FID of each pool architecture at ``steps``: the mean over its cached seeds."""
    by_arch: dict[str, list[float]] = {}
    for piece in retrain_recipe.cached_pieces():
        value = retrain_recipe.fid_at(piece, steps, 1)
        if value is not None:
            by_arch.setdefault(piece["arch"], []).append(value)
    return {arch: statistics.mean(v) for arch, v in by_arch.items() if len(v) >= 2}


def successive_halving(trajectories: dict[str, dict[int, float]], rungs: tuple[int, ...]) -> list[str]:
    """The ranking a successive-halving selection ends with: the better half goes on at each rung.

    The survivors of the last rung come first by their last FID, then each earlier rung's losers by
    the FID they were dropped at.
    """
    alive, dropped = sorted(trajectories), []
    for index, rung in enumerate(rungs):
        alive.sort(key=lambda arch: trajectories[arch][rung])
        if index == len(rungs) - 1:
            break
        keep = max(1, len(alive) // 2)
        dropped = alive[keep:] + dropped
        alive = alive[:keep]
    return alive + dropped


def agreement(proxy: dict[str, float], truth: dict[str, float], lower_is_better: bool) -> dict[str, Any] | None:
    """Kendall's tau of ``proxy`` against ``truth`` (both oriented so that larger is better), and top-3 precision."""
    from scipy import stats

    common = sorted(set(proxy) & set(truth))
    if len(common) < 4:
        return None
    sign = -1 if lower_is_better else 1
    p = [sign * proxy[a] for a in common]
    t = [-truth[a] for a in common]
    tau, p_value = stats.kendalltau(p, t)
    top_truth = set(sorted(common, key=lambda a: truth[a])[:3])
    top_proxy = set(sorted(common, key=lambda a: -sign * proxy[a])[:3])
    return {"n": len(common), "tau": float(tau), "p": float(p_value), "top3_precision": len(top_truth & top_proxy) / 3}


def summarise(truth_steps: int) -> dict[str, Any]:
    truth = ground_truth(truth_steps)
    better = set(sorted(truth, key=truth.get)[: max(4, len(truth) // 2)])
    proxies: dict[str, tuple[dict[str, float], bool]] = {}
    rewards = read_json(PIECES / "rewards.json")
    if rewards:
        proxies["supernet-is"] = ({a: r["is"] for a, r in rewards["rewards"].items()}, False)
        proxies["supernet-fid"] = ({a: r["fid"] for a, r in rewards["rewards"].items()}, True)
    trajectories = {}
    for path in sorted((PIECES / "inherit").glob("*.json")):
        piece = read_json(path)
        trajectories[piece["arch"]] = {row["g_step"]: row["fid"] for row in piece["trajectory"]}
    for steps in INHERIT_STEPS:
        proxies[f"inherit-{steps}"] = ({a: t[steps] for a, t in trajectories.items() if steps in t}, True)
    for steps in INHERIT_STEPS:
        proxies[f"scratch-{steps}"] = (ground_truth(steps), True)
    if trajectories:
        order = successive_halving(trajectories, INHERIT_STEPS)
        proxies["inherit-halving"] = ({a: rank for rank, a in enumerate(order)}, True)
    rows = []
    for name, (scores, lower) in proxies.items():
        rows.append({"proxy": name, "all": agreement(scores, truth, lower),
                     "better_half": agreement({a: s for a, s in scores.items() if a in better}, truth, lower)})
    return {"ground_truth": {"steps": truth_steps, "architectures": len(truth), "fid": truth},
            "source": {"controller": SOURCE[0], "seed": SOURCE[1], "protocol": SEARCH_PROTOCOL},
            "machine": "2-core CPU, one thread per job", "proxies": rows}


def table(summary: dict[str, Any]) -> str:
    def cell(a: dict[str, Any] | None) -> str:
        return "-" if a is None else f"{a['tau']:+.2f} (p {a['p']:.2f}), top-3 {a['top3_precision']:.2f}, n={a['n']}"

    lines = [f"ground truth: {summary['ground_truth']['architectures']} architectures retrained at "
             f"{summary['ground_truth']['steps']} G steps", "| proxy | all | better half |", "|---|---|---|"]
    lines += [f"| {r['proxy']} | {cell(r['all'])} | {cell(r['better_half'])} |" for r in summary["proxies"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="pieces at once, one core each")
    parser.add_argument("--archs", type=int, default=retrain_recipe.POOL, help="architectures of the pool to score")
    parser.add_argument("--truth-steps", type=int, default=retrain_recipe.LONG_STEPS, help="the ground truth's recipe length")
    parser.add_argument("--report", action="store_true", help="only aggregate what is cached")
    parser.add_argument("--smoke", action="store_true", help="every kind of piece at tiny sizes, in a scratch directory")
    args = parser.parse_args(argv)
    if not args.report:
        plan = Plan(args.smoke)
        pool = retrain_recipe.architecture_pool()[: 2 if args.smoke else args.archs]
        search = search_piece(plan)
        if args.smoke:
            # The pool is 3-cell; the smoke search's supernet is too.
            pool = [str(search["top"][0]["arch"])] + pool[:1]
        scheduler = Scheduler(args.jobs)
        scheduler.add(0, "supernet rewards", lambda: reward_piece(plan, search, pool))
        for arch in pool:
            scheduler.add(1, f"inherit {arch}", lambda a=arch: inherit_piece(plan, search, a))
        scheduler.run(None)
        for failure in scheduler.failures:
            log(f"failed: {failure}")
        if args.smoke:
            log(f"smoke: every piece ran ({len(pool)} architectures) in {plan.pieces}" if not scheduler.failures else "smoke: FAILED")
            return 1 if scheduler.failures else 0
    publish(summarise(args.truth_steps), SUMMARY, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
