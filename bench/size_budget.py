"""What a hard size budget costs in quality: budgeted RNN search against unconstrained RNN and budgeted random search.

The protocol, for the digits preset (sizes at its retrain width, ch 32, latent 64):

1. **unconstrained** RNN searches, seeds ``0..n-1`` (the preset as it stands, in-process, one core);
2. the **budget**: the midpoint between the space's smallest generator (89,121 params) and the
   median parameters of those searches' top-1s, rounded down.  Fixed once the unconstrained
   searches exist, before any budgeted search runs, and written into the summary;
3. **rnn-budget** and **random-budget** searches under ``search.max_params=<budget>``, the same seeds;
4. each search's top-1 **retrained** with the digits retrain recipe (retrain seed = search seed),
   its final EMA FID (and IS) in the built-in digits classifier's features, 2,000 samples.

Reported per arm: retrained FID mean ± std over seeds, the top-1s' parameters, whether every
top-1 (and every evaluated architecture) is within the budget, and the fraction of the space
within it (counted exactly).  The decision the numbers inform (is the budgeted RNN's top-1 as good
as random search's under the same budget, and how much FID the budget costs against the
unconstrained top-1) is read off the table; with 3 seeds it is exploratory, not confirmatory.

Pieces are cached as JSON in ``bench/results/size_budget/`` (run directories under
``~/.cache/autogan/bench/size_budget/`` or ``$AUTOGAN_BENCH_CACHE``), so the bench stops anywhere
and continues where it stopped.  ``--smoke`` runs the same plumbing at toy sizes (one iteration a stage, a few
D steps, a 20-step retrain) into ``bench/results/size_budget_smoke/``: it proves the pipeline, and
its numbers mean nothing.

    python bench/size_budget.py --seeds 3 --jobs 2       # hours of CPU
    python bench/size_budget.py --smoke --seeds 2 --jobs 2
    python bench/size_budget.py --report                 # only aggregate what is cached
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _pieces import CACHE_ROOT, ROOT, Scheduler, cli, publish, read_json, retrain_command, run_logged, run_plan, write_json

PRESET = "digits"
RETRAIN_PRESET = "digits"
ARMS = ("unconstrained", "rnn-budget", "random-budget")
CONTROLLER = {"unconstrained": "rnn", "rnn-budget": "rnn", "random-budget": "random"}
SEARCH_OVERRIDES = ["run.backend='inprocess'", "run.threads=1", "run.overlap=false"]
RETRAIN_EVAL = ["run.threads=1", "eval.at_start=false", "eval.score_raw=false", "eval.samples=2000"]
# Toy sizes for --smoke: the real code path in about a minute a piece.
SMOKE_SEARCH = ["model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.n_critic=2",
                "train.d_steps_per_iteration=6", "search.reward_samples=40", "search.reward_splits=2",
                "search.archs_per_iteration=3", "search.beam_candidates=3", "search.beam_width=2",
                "search.calibration_samples=16", "search.top_k=2", "search.rescore_seeds=2",
                "search.stage_iterations=[1,1,1]"]
SMOKE_RETRAIN = ["train.g_steps=20", "eval.every=20", "eval.samples=200", "eval.splits=2"]


class Layout:
    """Where a flavour (the real protocol or the smoke run) keeps its pieces, and what it runs."""

    def __init__(self, smoke: bool):
        name = "size_budget_smoke" if smoke else "size_budget"
        self.smoke = smoke
        self.pieces = ROOT / "bench" / "results" / name
        self.cache = CACHE_ROOT / name
        self.summary = ROOT / "bench" / "results" / f"{name}.json"
        self.markdown = ROOT / "bench" / "results" / f"{name}.md"
        self.search = SEARCH_OVERRIDES + (SMOKE_SEARCH if smoke else [])
        self.retrain = RETRAIN_EVAL + (SMOKE_RETRAIN if smoke else [])

    def fingerprint(self) -> str:
        """The resolved search and retrain configs: a changed protocol is a new cache key.

        Resolved rather than the presets' text, so that a comment edited in a preset keeps hours
        of cached pieces; the seed is a piece's own key, so it is left out.
        """
        from autogan.config import load_config, load_retrain_config

        search = load_config(PRESET, [*self.search, "run.seed=0"]).to_toml()
        retrain = load_retrain_config(RETRAIN_PRESET, [*self.retrain, "run.seed=0"]).to_toml()
        return hashlib.sha1(f"{search}\n{retrain}".encode()).hexdigest()[:10]


# --------------------------------------------------------------------------- sizes


def space_sizes(layout: Layout) -> dict[str, Any]:
    """The space's smallest and largest generator at the retrain width, and the width."""
    from controllers import SizeBudget
    from search_spaces import SearchSpace

    from autogan.config import load_config
    from autogan.search._size import METRICS, size_costs

    config = load_config(PRESET, layout.search)
    space = SearchSpace(num_cells=config.search.num_cells)
    width, costs = size_costs(config, space)
    unbounded = SizeBudget(space, METRICS, costs.base, costs.cells, (float("inf"), float("inf")))
    return {"floor_params": int(unbounded.floor()[0]), "ceiling_params": int(unbounded.ceiling()[0]),
            "width": {"preset": width.preset, "ch": width.ch, "latent_dim": width.latent_dim}}


def feasible_fraction(layout: Layout, budget: int) -> float:
    from search_spaces import SearchSpace

    from autogan.config import load_config
    from autogan.search import size_budget

    config = load_config(PRESET, [*layout.search, f"search.max_params={budget}"])
    return size_budget(config, SearchSpace(num_cells=config.search.num_cells)).feasible_fraction()


def budget_from(layout: Layout, unconstrained: list[dict[str, Any]]) -> int:
    """The midpoint between the space's floor and the median unconstrained top-1, rounded down."""
    floor = space_sizes(layout)["floor_params"]
    median = statistics.median(piece["top1_params"] for piece in unconstrained)
    return int((floor + median) // 2)


# --------------------------------------------------------------------------- pieces


def search_piece(layout: Layout, arm: str, seed: int, budget: int | None) -> dict[str, Any]:
    """One search of ``arm``, summarised: its top-1, that top-1's size, and its evaluations' sizes."""
    name = f"{arm}-s{seed}" + (f"-b{budget}" if budget else "")
    path = layout.pieces / "searches" / f"{name}-{layout.fingerprint()}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    from search_spaces import Architecture

    from autogan.search import RunDirectory
    from autogan.retrain import architecture_size, retrain_width

    run_dir = layout.cache / "runs" / f"{name}-{layout.fingerprint()}"
    started = time.time()
    overrides = [f"search.controller='{CONTROLLER[arm]}'", f"run.seed={seed}", *layout.search]
    if budget:
        overrides.append(f"search.max_params={budget}")
    command = cli("search", "--out", str(run_dir), "--json", *overrides)
    if (run_dir / "config.toml").exists():
        command = cli("search", "--resume", str(run_dir), "--json")
    output = json.loads(run_logged(command, layout.cache / "logs" / f"search-{name}.log", nice=5))
    record = RunDirectory.open(run_dir)
    config = record.config()
    width = retrain_width(config)
    cells = config.search.num_cells
    full = {r["arch"] for r in record.evaluations() if r["kind"] != "rescore"
            and len(Architecture.parse(r["arch"]).cells) == cells}
    sizes = [architecture_size(Architecture.parse(a), width)["params"] for a in sorted(full)]
    top1 = output["top"][0]
    piece = {
        "arm": arm,
        "seed": seed,
        "budget": budget,
        "top1": top1["arch"],
        "top1_reward": top1["mean_reward"],
        "top1_params": top1["size"]["params"],
        "top1_gmacs": top1["size"]["gmacs"],
        "evaluated_full_architectures": len(sizes),
        "evaluated_params": sizes,
        "minutes": (time.time() - started) / 60,
    }
    write_json(path, piece)
    return piece


def retrain_piece(layout: Layout, arch: str, seed: int) -> dict[str, Any]:
    """``arch`` retrained from scratch with the digits recipe and retrain seed ``seed``."""
    key = hashlib.sha1(f"{arch}|{layout.fingerprint()}|{seed}".encode()).hexdigest()[:12]
    path = layout.pieces / "retrains" / f"{key}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    out = layout.cache / "retrains" / key
    started = time.time()
    command = retrain_command(out, arch, RETRAIN_PRESET, seed, layout.retrain)
    final = json.loads(run_logged(command, layout.cache / "logs" / f"retrain-{key}.log", nice=5))["final"]
    piece = {"arch": arch, "seed": seed, "fid": final["fid"], "is": final["is_mean"],
             "minutes": (time.time() - started) / 60}
    write_json(path, piece)
    return piece


def plan(scheduler: Scheduler, args: argparse.Namespace) -> None:
    """Unconstrained searches first; once all are in, the budget is fixed and the budgeted arms start."""
    layout = Layout(args.smoke)
    seeds = list(range(args.seeds))
    unconstrained: dict[int, dict[str, Any]] = {}

    def retrain(piece: dict[str, Any]) -> None:
        scheduler.add(2, f"retrain {piece['arm']} s{piece['seed']}",
                      lambda: retrain_piece(layout, piece["top1"], piece["seed"]))

    def budgeted(budget: int) -> None:
        for seed in seeds:
            for arm in ("rnn-budget", "random-budget"):
                scheduler.add(1, f"search {arm} s{seed} (max_params={budget})",
                              lambda arm=arm, seed=seed: search_piece(layout, arm, seed, budget), retrain)

    def collected(piece: dict[str, Any]) -> None:
        unconstrained[piece["seed"]] = piece
        retrain(piece)
        if len(unconstrained) == len(seeds):
            budget = budget_from(layout, [unconstrained[s] for s in seeds])
            write_json(layout.pieces / f"budget-{layout.fingerprint()}.json",
                       {"budget": budget, "from_seeds": seeds, **space_sizes(layout)})
            budgeted(budget)

    for seed in seeds:
        scheduler.add(0, f"search unconstrained s{seed}",
                      lambda seed=seed: search_piece(layout, "unconstrained", seed, None), collected)


# --------------------------------------------------------------------------- summary


def _mean_std(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values)}


def summarise(layout: Layout) -> dict[str, Any]:
    fingerprint = layout.fingerprint()
    fixed = read_json(layout.pieces / f"budget-{fingerprint}.json")
    budget = fixed["budget"] if fixed else None
    searches = [read_json(p) for p in sorted((layout.pieces / "searches").glob(f"*-{fingerprint}.json"))]
    retrains = {(p["arch"], p["seed"]): p for p in map(read_json, sorted((layout.pieces / "retrains").glob("*.json")))}
    arms = []
    for arm in ARMS:
        pieces = sorted((s for s in searches if s["arm"] == arm and (arm == "unconstrained" or s["budget"] == budget)),
                        key=lambda s: s["seed"])
        rows = []
        for piece in pieces:
            retrained = retrains.get((piece["top1"], piece["seed"]))
            rows.append({
                "seed": piece["seed"],
                "top1": piece["top1"],
                "top1_params": piece["top1_params"],
                "top1_within_budget": None if budget is None else piece["top1_params"] <= budget,
                "evaluated_within_budget": None if budget is None else (
                    sum(p <= budget for p in piece["evaluated_params"]) / max(1, len(piece["evaluated_params"]))),
                "retrained_fid": retrained["fid"] if retrained else None,
                "retrained_is": retrained["is"] if retrained else None,
                "search_minutes": piece["minutes"],
            })
        arms.append({
            "arm": arm,
            "controller": CONTROLLER[arm],
            "budget": None if arm == "unconstrained" else budget,
            "seeds": rows,
            "retrained_fid": _mean_std([r["retrained_fid"] for r in rows if r["retrained_fid"] is not None]),
            "top1_params": _mean_std([float(r["top1_params"]) for r in rows]),
            "all_top1_within_budget": None if budget is None or not rows else all(r["top1_within_budget"] for r in rows),
        })
    return {
        "protocol": "smoke (toy sizes; the numbers mean nothing)" if layout.smoke else f"preset {PRESET!r}",
        "fingerprint": fingerprint,
        "budget": budget,
        "feasible_fraction": feasible_fraction(layout, budget) if budget else None,
        "space": fixed and {k: fixed[k] for k in ("floor_params", "ceiling_params", "width")},
        "features": "the built-in digits classifier's (not comparable with Inception numbers), 2,000 samples"
                    if not layout.smoke else "the built-in digits classifier's, 200 samples",
        "arms": arms,
    }


def table(summary: dict[str, Any]) -> str:
    def number(stat: dict[str, Any], digits: int = 2) -> str:
        if stat["mean"] is None:
            return "-"
        spread = f" ± {stat['std']:.{digits}f}" if stat["std"] is not None else ""
        return f"{stat['mean']:.{digits}f}{spread} (n={stat['n']})"

    space = summary["space"] or {}
    lines = [f"## Size budget ({summary['protocol']})", ""]
    if summary["budget"]:
        lines.append(f"Budget: search.max_params={summary['budget']:,}, the midpoint of the space's smallest generator "
                     f"({space.get('floor_params', 0):,} params) and the median unconstrained top-1; "
                     f"{summary['feasible_fraction']:.1%} of the space is within it (largest: "
                     f"{space.get('ceiling_params', 0):,}). Retrained FID in {summary['features']}.")
    else:
        lines.append("Budget: not fixed yet (the unconstrained searches are still running).")
    lines += ["", "| arm | retrained FID | top-1 params | every top-1 within budget | evaluated within budget (per seed) |",
              "|---|---|---|---|---|"]
    for arm in summary["arms"]:
        within = arm["all_top1_within_budget"]
        evaluated = " ".join("-" if r["evaluated_within_budget"] is None else f"{r['evaluated_within_budget']:.0%}"
                             for r in arm["seeds"]) or "-"
        lines.append(f"| {arm['arm']} | {number(arm['retrained_fid'])} | {number(arm['top1_params'], 0)} | "
                     f"{'-' if within is None else ('yes' if within else 'no')} | {evaluated} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="search seeds per arm (at least 3 for a spread)")
    parser.add_argument("--jobs", type=int, default=2, help="pieces at once, one core each")
    parser.add_argument("--hours", type=float, default=None, help="start no new piece after this long")
    parser.add_argument("--smoke", action="store_true", help="toy sizes, to prove the plumbing; separate cache")
    parser.add_argument("--report", action="store_true", help="only aggregate what is cached")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: must be at least 1 (3 or more for a spread)")
    layout = Layout(args.smoke)
    if not args.report:
        run_plan(plan, args)
    summary = summarise(layout)
    publish(summary, layout.summary, table)
    layout.markdown.write_text(table(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
