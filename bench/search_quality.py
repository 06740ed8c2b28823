"""Search quality end to end, on the digits protocol: does the search find better generators?

Two measurements, both on the default (digits) preset and CPU:

- **Proxy fidelity.** On the final supernet of one default search, architectures that
  span the supernet's reward range are each scored with several reward seeds under
  every ``search.reward_norm`` (``running``: shared BatchNorm statistics, the old
  behaviour; ``recalibrate`` and ``batch``: per-architecture statistics), then
  retrained stand-alone with the digits retrain preset and several retrain seeds.
  Kendall's tau (scipy) between the supernet reward and the retrained FID says how
  well the reward ranks what retraining gives.
- **Controllers.** Full default searches with ``rnn``, ``random`` and ``tpe`` at the
  same evaluation budget (the preset's schedule), several search seeds each, with each
  ``search.reward`` (the Inception Score, and minus the supernet's FID); each
  search's top-1 (the final re-scored ranking) is retrained with the same recipe and
  several retrain seeds.  FID and IS mean +- std per controller, Welch's t-test against
  random search on per-search FIDs (the search is the unit, not the retrain), a paired
  comparison by search seed, and best-so-far reward against evaluations (an SVG per reward).

Everything runs through the CLI as a user would (``autogan search``, ``autogan
retrain``), one torch thread per job and ``--jobs`` jobs at a time (the in-process
backend, so a search is one process on one core).  Each finished piece is cached as a
small JSON file under ``bench/results/search_quality/`` (committed) keyed by what
determines it -- (controller, seed) for a search, (architecture, recipe, seed) for a
retrain -- so a re-run does only what is missing and can be stopped at any time.  Run
directories go to ``~/.cache/autogan/bench/`` (or ``$AUTOGAN_BENCH_CACHE``).  ``--report`` only aggregates.

The summary goes to ``bench/results/search_quality.json`` and a table to stdout.
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
from typing import Any, Callable

from _pieces import CACHE_ROOT, ROOT, Scheduler, run_plan, cli, log, retrain_command, read_json, run_logged, spread_order, write_json

RESULTS = ROOT / "bench" / "results"
PIECES = RESULTS / "search_quality"
CACHE = CACHE_ROOT / "search_quality"
SUMMARY = RESULTS / "search_quality.json"

CONTROLLERS = ("rnn", "random", "tpe")
REWARDS = ("is", "fid")  # search.reward: the searches run with each
NORM_MODES = ("running", "recalibrate", "batch")
# Every search and retrain runs on one core; the in-process backend keeps a search in
# one process (a deterministic one, with a fixed thread count).
# The protocol is the digits preset as it stood when the first searches were cached (ch 32, 250 D
# steps an iteration, stages [4, 5, 6]); the preset has since been made cheaper, and every search
# compared here must run the same protocol.
SEARCH_PROTOCOL = ["model.ch=32", "model.df=32", "train.d_steps_per_iteration=250", "search.stage_iterations=[4,5,6]"]
SEARCH_OVERRIDES = ["run.backend='inprocess'", "run.threads=1", "run.overlap=false", *SEARCH_PROTOCOL]
RETRAIN_PRESET = "digits"
# What the retrain's evaluations do does not change its training: only the final
# checkpoint is scored, on more images, so FID's own noise is small against the spread.
RETRAIN_EVAL = ["run.threads=1", "eval.at_start=false", "eval.score_raw=false", "eval.samples=2000"]
# Every retrain cached here ran before one-stage retraining honoured train.g_batch_size: G trained
# on the merged step's 32 fakes, not the preset's 64.  Pinning 32 reproduces those runs exactly
# (the same stream of draws), so it stays out of the fingerprint that keys them.
LEGACY_G_BATCH = "train.g_batch_size=32"
PROXY_SOURCE = ("rnn", 0)
PROXY_POOL = 60  # random architectures scored once to find the reward range
FIDELITY_SAMPLES = (500, 2000)  # the preset's reward_samples, and four times as many


def recipe_fingerprint() -> str:
    """The retrain preset's text plus the bench's overrides: a changed recipe is a new cache key."""
    preset = (ROOT / "configs" / f"retrain_{RETRAIN_PRESET}.toml").read_text()
    return hashlib.sha1((preset + "\n".join(RETRAIN_EVAL)).encode()).hexdigest()[:10]


# --------------------------------------------------------------------------- pieces


def search_name(controller: str, seed: int, reward: str = "is") -> str:
    """The cache name of a search; the Inception Score searches keep the names they were cached under."""
    return f"{controller}-s{seed}" if reward == "is" else f"{controller}-{reward}-s{seed}"


def search_piece(controller: str, seed: int, reward: str = "is") -> dict[str, Any]:
    """One full default search, summarised: final top-5, best-so-far curve, entropy per stage."""
    name = search_name(controller, seed, reward)
    path = PIECES / "searches" / f"{name}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    from autogan.compare import best_so_far
    from autogan.record import RunRecord

    run_dir = CACHE / "runs" / name
    started = time.time()
    command = cli("search", "--out", str(run_dir), "--json", f"search.controller='{controller}'", f"run.seed={seed}",
                  f"search.reward='{reward}'", *SEARCH_OVERRIDES)
    if (run_dir / "config.toml").exists():
        command = cli("search", "--resume", str(run_dir), "--json")
    output = json.loads(run_logged(command, CACHE / "logs" / f"search-{name}.log"))
    record = RunRecord.open(run_dir)
    evaluations = [r for r in record.evaluations() if r["kind"] != "rescore"]
    iterations = [r for r in record.iterations() if r.get("phase") == "policy"]
    curve = best_so_far(evaluations, record.config().search.num_cells)
    piece = {
        "controller": controller,
        "seed": seed,
        "reward": reward,
        "top": output["top"],
        "evaluations": len(evaluations),
        "rescored": len(record.evaluations()) - len(evaluations),
        "best_so_far": curve,
        "stages": _stage_summary(iterations),
        "minutes": (time.time() - started) / 60,
    }
    write_json(path, piece)
    return piece


def _stage_summary(iterations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stages = sorted({int(r["stage"]) for r in iterations})
    summary = []
    for stage in stages:
        rows = [r for r in iterations if int(r["stage"]) == stage]
        first, last = rows[0], rows[-1]
        summary.append(
            {
                "stage": stage,
                "entropy": [first["entropy"], last["entropy"]],
                "reward_mean": [first["reward_mean"], last["reward_mean"]],
            }
        )
    return summary


def retrain_piece(arch: str, seed: int) -> dict[str, Any]:
    """One stand-alone retrain of ``arch`` with the digits recipe and retrain seed ``seed``."""
    recipe = recipe_fingerprint()
    key = hashlib.sha1(f"{arch}|{recipe}|{seed}".encode()).hexdigest()[:12]
    path = PIECES / "retrains" / f"{key}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    out = CACHE / "retrains" / key
    started = time.time()
    command = retrain_command(out, arch, RETRAIN_PRESET, seed, [*RETRAIN_EVAL, LEGACY_G_BATCH])
    result = json.loads(run_logged(command, CACHE / "logs" / f"retrain-{key}.log"))
    final = result["final"]
    piece = {
        "arch": arch,
        "recipe": recipe,
        "seed": seed,
        "fid": final["fid"],
        "is": final["is_mean"],
        "minutes": (time.time() - started) / 60,
    }
    write_json(path, piece)
    return piece


def proxy_scores_piece(source: dict[str, Any], reward_seeds: int, count: int) -> dict[str, Any]:
    """Architectures spanning the final supernet's reward range, each scored under every norm mode."""
    path = PIECES / "proxy" / f"{source['controller']}-s{source['seed']}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    import torch

    from search_spaces import Architecture, SearchSpace

    from autogan.record import RunRecord
    from autogan.roles import RewardEvaluator
    from autogan.seeding import derived_seed

    record, space, score = final_supernet_scorer(source)

    # A random pool plus the search's own top, scored once, gives the reward range; the
    # chosen architectures sit at evenly spaced ranks of it, so they span that range.
    pool = [space.sample(1000 + i) for i in range(PROXY_POOL)] + [Architecture.parse(t["arch"]) for t in source["top"]]
    pool = list(dict.fromkeys(pool))
    screened = sorted(pool, key=lambda arch: score("recalibrate", arch, 0))
    picks = [screened[round(i * (len(screened) - 1) / (count - 1))] for i in range(count)]
    rows = []
    for arch in picks:
        row = {"arch": str(arch)}
        for mode in NORM_MODES:
            row[mode] = [score(mode, arch, 1 + s) for s in range(reward_seeds)]
        rows.append(row)
        log(f"proxy {arch}: " + ", ".join(f"{m} {statistics.mean(row[m]):.3f}" for m in NORM_MODES))
    # Where the controller has to choose: the run's own final candidates, each with every seed.
    rescored = list(dict.fromkeys(r["arch"] for r in record.evaluations() if r["kind"] == "rescore"))
    top_rows = []
    for text in rescored[:10]:
        arch = Architecture.parse(text)
        top_rows.append({"arch": text, **{m: [score(m, arch, 1 + s) for s in range(reward_seeds)] for m in NORM_MODES}})
    piece = {"source": [source["controller"], source["seed"]], "reward_seeds": reward_seeds, "architectures": rows,
             "top_candidates": top_rows}
    write_json(path, piece)
    return piece


def final_supernet_scorer(source: dict[str, Any]):
    """``(record, space, score(mode, arch, seed))`` on the final supernet of a cached search."""
    import torch

    from search_spaces import SearchSpace

    from autogan.record import RunRecord
    from autogan.roles import RewardEvaluator
    from autogan.seeding import derived_seed

    torch.set_num_threads(1)
    record = RunRecord.open(CACHE / "runs" / f"{source['controller']}-s{source['seed']}")
    weights = record.load_checkpoint()["trainer"]["generator"]
    config = record.config()
    space = SearchSpace(num_cells=config.search.num_cells)
    evaluators = {
        mode: RewardEvaluator(config.replace(search=_replace(config.search, reward_norm=mode)).to_dict())
        for mode in NORM_MODES
    }
    box = {"version": 0, "ref": weights}

    def score(mode: str, arch: Any, seed: int) -> float:
        item = {"key": [0], "arch": str(arch), "seed": derived_seed(7, seed, space.index(arch))}
        return evaluators[mode].score(item, box)["reward"]

    return record, space, score


def pinned_piece(source: dict[str, Any], count: int = PROXY_POOL) -> dict[str, Any]:
    """Random architectures on the final supernet under every norm mode: how many sit at IS ~ 1?"""
    path = PIECES / "proxy" / f"{source['controller']}-s{source['seed']}-random.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    _, space, score = final_supernet_scorer(source)
    rows = [{"arch": str(arch), **{m: score(m, arch, 0) for m in NORM_MODES}}
            for arch in (space.sample(1000 + i) for i in range(count))]
    piece = {"source": [source["controller"], source["seed"]], "architectures": rows}
    write_json(path, piece)
    return piece


def fidelity_piece(source: dict[str, Any], reward_seeds: int, sample_counts: tuple[int, ...]) -> dict[str, Any]:
    """Every retrained architecture re-scored on one common supernet, with IS and FID as candidate rewards.

    The proxy piece scored its architectures with IS only, and each search's top-1 was scored
    on its own search's supernet.  Here all of them meet on the same final supernet (the
    recalibrated ``reward_norm``), each with ``reward_seeds`` seeds and each sample count,
    and the supernet's IS and FID (classifier features, against the dataset) are both kept:
    which of the two ranks like retraining is the question.
    """
    path = PIECES / "proxy" / f"{source['controller']}-s{source['seed']}-fidelity.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    from search_spaces import Architecture

    from autogan.metrics import evaluate_generator, reference_statistics
    from autogan.roles import RewardEvaluator
    from autogan.seeding import derived_seed

    torch = __import__("torch")
    torch.set_num_threads(1)
    run_dir = CACHE / "runs" / f"{source['controller']}-s{source['seed']}"
    from autogan.record import RunRecord

    record = RunRecord.open(run_dir)
    config = record.config()
    evaluator = RewardEvaluator(config.replace(search=_replace(config.search, reward_norm="recalibrate")).to_dict())
    evaluator._load({"version": 0, "ref": record.load_checkpoint()["trainer"]["generator"]})
    size = config.model.bottom_width * 2**config.search.num_cells
    reference = reference_statistics(config.data.dataset, size, evaluator.extractor)
    archs = sorted({arch for (arch, _seed) in _cached_retrains()})
    rows = []
    for text in archs:
        arch = Architecture.parse(text)
        row: dict[str, Any] = {"arch": text}
        for samples in sample_counts:
            values = {"is": [], "fid": []}
            for s in range(reward_seeds):
                seed = derived_seed(11, s, evaluator.space.index(arch))
                z_source = torch.Generator().manual_seed(seed)

                def generate(n: int) -> Any:
                    return evaluator.generator(torch.randn(n, config.model.latent_dim, generator=z_source), arch)

                with evaluator._normalised_for(arch, seed):
                    result = evaluate_generator(generate, samples, evaluator.extractor, reference=reference,
                                                splits=config.search.reward_splits)
                values["is"].append(result.is_mean)
                values["fid"].append(result.fid)
            row[str(samples)] = values
        rows.append(row)
        log("fidelity " + text + ": " + ", ".join(
            f"{n}: IS {statistics.mean(row[str(n)]['is']):.3f} FID {statistics.mean(row[str(n)]['fid']):.2f}"
            for n in sample_counts))
    piece = {"source": [source["controller"], source["seed"]], "reward_norm": "recalibrate",
             "reward_seeds": reward_seeds, "sample_counts": list(sample_counts), "architectures": rows}
    write_json(path, piece)
    return piece


def _replace(section: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(section, **changes)


# --------------------------------------------------------------------------- scheduling


def plan(scheduler: Scheduler, args: argparse.Namespace) -> None:
    def retrain_all(arch: str, priority: int) -> None:
        for seed in range(args.retrain_seeds):
            scheduler.add(priority, f"retrain {arch} seed {seed}", lambda a=arch, s=seed: retrain_piece(a, s))

    def after_search(piece: dict[str, Any]) -> None:
        if (piece["controller"], piece["seed"]) == PROXY_SOURCE and piece.get("reward", "is") == "is" and "proxy" in args.parts:
            scheduler.add(0, "proxy scores", lambda: proxy_scores_piece(piece, args.reward_seeds, args.proxy_archs), after_proxy)
        if "controllers" in args.parts and piece["top"]:
            # Before the proxy's retrains: each finished search then has its answer retrained.
            retrain_all(piece["top"][0]["arch"], 0)

    def after_proxy(piece: dict[str, Any]) -> None:
        # Extremes first, then the gaps between them, so that a run stopped early still
        # has retrained architectures from across the whole reward range.
        rows = piece["architectures"]
        for index in spread_order(len(rows)):
            retrain_all(rows[index]["arch"], 1)

    if "fidelity" in args.parts:
        for controller, seed in args.fidelity_supernets:
            source = {"controller": controller, "seed": seed}
            scheduler.add(0, f"retrained architectures on the {controller} seed-{seed} supernet",
                          lambda s=source: fidelity_piece(s, args.reward_seeds, FIDELITY_SAMPLES))
        return
    if "pinned" in args.parts:
        source = {"controller": PROXY_SOURCE[0], "seed": PROXY_SOURCE[1]}
        scheduler.add(0, "random architectures on the final supernet", lambda: pinned_piece(source))
        return
    searches = [(*PROXY_SOURCE, "is")] if "proxy" in args.parts else []
    if "controllers" in args.parts:
        # Seed by seed, so that an interrupted run has every controller at the same seeds.
        searches += [(c, s, r) for s in range(args.seeds) for r in args.rewards for c in args.controllers
                     if (c, s, r) != (*PROXY_SOURCE, "is")]
    for controller, seed, reward in searches:
        # Seed 0 of every controller first: a run stopped early can already compare all three.
        scheduler.add(0 if seed == 0 else 3, f"search {search_name(controller, seed, reward)}",
                      lambda c=controller, s=seed, r=reward: search_piece(c, s, r), after_search)


# --------------------------------------------------------------------------- report


def _mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f} (n = 1)"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} (n = {len(values)})"


def _entropy_drops(runs: list[list[dict[str, Any]]]) -> str:
    """Mean fall of the policy's entropy from the first to the last iteration, per stage."""
    drops = []
    for stage in range(len(runs[0])):
        values = [1 - r[stage]["entropy"][1] / r[stage]["entropy"][0] for r in runs
                  if len(r) > stage and None not in r[stage]["entropy"] and r[stage]["entropy"][0] > 0]
        drops.append(f"{100 * statistics.mean(values):.0f}%" if values else "-")
    return " / ".join(drops)


def _cached_retrains() -> dict[tuple[str, int], dict[str, Any]]:
    recipe = recipe_fingerprint()
    pieces = [read_json(p) for p in sorted((PIECES / "retrains").glob("*.json"))]
    return {(p["arch"], p["seed"]): p for p in pieces if p["recipe"] == recipe}


def summarise(args: argparse.Namespace) -> dict[str, Any]:
    from scipy import stats

    retrains = _cached_retrains()

    def retrained(arch: str) -> list[dict[str, Any]]:
        return [retrains[(arch, s)] for s in range(args.retrain_seeds) if (arch, s) in retrains]

    summary: dict[str, Any] = {"recipe": {"preset": RETRAIN_PRESET, "overrides": RETRAIN_EVAL, "fingerprint": recipe_fingerprint()},
                               "search_overrides": SEARCH_OVERRIDES}
    proxy = read_json(PIECES / "proxy" / f"{PROXY_SOURCE[0]}-s{PROXY_SOURCE[1]}.json")
    if proxy is not None:
        rows = []
        for row in proxy["architectures"]:
            runs = retrained(row["arch"])
            rows.append({**{m: statistics.mean(row[m]) for m in NORM_MODES},
                         "reward_std": {m: statistics.pstdev(row[m]) for m in NORM_MODES},
                         "arch": row["arch"], "fids": [r["fid"] for r in runs]})
        complete = [r for r in rows if len(r["fids"]) >= min(2, args.retrain_seeds)]
        fidelity = {}
        for mode in NORM_MODES:
            if len(complete) >= 3:
                # Higher reward should mean lower FID: tau against -FID is positive when it ranks well.
                tau = stats.kendalltau([r[mode] for r in complete], [-statistics.mean(r["fids"]) for r in complete])
                fidelity[mode] = {"tau": float(tau.statistic), "p": float(tau.pvalue), "n": len(complete)}
        seed_spread = [statistics.stdev(r["fids"]) for r in complete if len(r["fids"]) >= 2]
        arch_spread = statistics.stdev([statistics.mean(r["fids"]) for r in complete]) if len(complete) >= 2 else None
        snr = {}
        for mode in NORM_MODES:
            top = proxy.get("top_candidates", [])
            if len(top) >= 2:
                between = statistics.stdev([statistics.mean(r[mode]) for r in top])
                within = statistics.mean([statistics.stdev(r[mode]) for r in top])
                snr[mode] = {"std_across_top": between, "std_across_seeds": within,
                             "ratio": between / within if within > 0 else None, "n": len(top)}
        summary["proxy"] = {
            "top_candidates_snr": snr,
            "architectures": rows,
            "kendall_tau_reward_vs_minus_fid": fidelity,
            "retrain_fid_std_across_archs": arch_spread,
            "retrain_fid_std_across_seeds_mean": statistics.mean(seed_spread) if seed_spread else None,
            "pinned_near_1": {m: sum(r[m] < 1.1 for r in rows) for m in NORM_MODES},
        }
    pinned = read_json(PIECES / "proxy" / f"{PROXY_SOURCE[0]}-s{PROXY_SOURCE[1]}-random.json")
    if pinned is not None:
        rows = pinned["architectures"]
        summary["random_architectures"] = {
            m: {"n": len(rows), "is_below_1.1": sum(r[m] < 1.1 for r in rows),
                "median": statistics.median(r[m] for r in rows), "max": max(r[m] for r in rows)}
            for m in NORM_MODES
        }
    common = {}
    for path in sorted((PIECES / "proxy").glob("*-fidelity.json")):
        piece = read_json(path)
        common["{}-s{}".format(*piece["source"])] = _common_supernet_fidelity(piece, retrained, stats)
    if common:
        summary["common_supernet"] = common
    controllers = {}
    for reward in REWARDS:
        for controller in CONTROLLERS:
            pattern = search_name(controller, 0, reward).removesuffix("0") + "*.json"
            runs = [read_json(p) for p in sorted((PIECES / "searches").glob(pattern))]
            if runs:
                controllers[_controller_key(controller, reward)] = {
                    "controller": controller, "reward": reward, **_controller_summary(runs, retrained)}
    for entry in controllers.values():
        baseline = controllers.get(_controller_key("random", entry["reward"]))
        if baseline is not None and entry["controller"] != "random":
            entry["welch_vs_random_same_reward"] = _welch(entry["fid_per_search"], baseline["fid_per_search"], stats)
    summary["controllers"] = controllers
    summary["retrain_variance"] = _retrain_variance(retrains, stats)
    # Does changing the reward move the retrained FID?  Each other reward against the IS, over the
    # controllers searched with both, the search as the unit.
    rewards = {}
    for reward in [r for r in REWARDS if r != "is"]:
        both = [c for c in CONTROLLERS if _controller_key(c, reward) in controllers and c in controllers]
        ours = [f for c in both for f in controllers[_controller_key(c, reward)]["fid_per_search"]]
        theirs = [f for c in both for f in controllers[c]["fid_per_search"]]
        test = _welch(ours, theirs, stats)
        if test is not None:
            rewards[reward] = {"controllers": both, "fid_per_search": ours, "is_reward_fid_per_search": theirs, "welch_vs_is": test,
                               "mann_whitney_p": float(stats.mannwhitneyu(ours, theirs).pvalue)}
    summary["reward_vs_is_reward"] = rewards
    paired = {}
    for controller in [c for c in CONTROLLERS if c != "random"]:
        strata = []
        for reward in REWARDS:
            ours, random = controllers.get(_controller_key(controller, reward)), controllers.get(_controller_key("random", reward))
            if ours and random:
                strata.append((reward, ours["tops"], random["tops"]))
        if strata:
            paired[controller] = _paired_by_search_seed(strata, stats)
    summary["paired_vs_random_by_search_seed"] = paired
    return summary


def _retrain_variance(retrains: dict[tuple[str, int], dict[str, Any]], stats: Any) -> dict[str, Any] | None:
    """How much of the retrained FID is the architecture's, and how much the retrain seed's.

    A one-way random-effects split over every architecture retrained with at least two seeds:
    the within-architecture variance is the seed's, the between-architecture component what a
    reward could predict; the intraclass correlation is the latter's share.
    """
    by_arch: dict[str, list[float]] = {}
    for (arch, _seed), piece in retrains.items():
        by_arch.setdefault(arch, []).append(piece["fid"])
    groups = [fids for fids in by_arch.values() if len(fids) >= 2]
    if len(groups) < 3:
        return None
    within = statistics.mean(statistics.variance(g) for g in groups)
    per_arch = statistics.mean(len(g) for g in groups)
    between = max(0.0, statistics.variance([statistics.mean(g) for g in groups]) - within / per_arch)
    anova = stats.f_oneway(*groups)
    return {"architectures": len(groups), "retrains": sum(map(len, groups)), "seed_std": math.sqrt(within),
            "architecture_std": math.sqrt(between), "intraclass_correlation": between / (between + within),
            "anova_f": float(anova.statistic), "anova_p": float(anova.pvalue)}


def _controller_key(controller: str, reward: str) -> str:
    """The summary's key of a controller's searches with a reward (the IS ones keep their old keys)."""
    return controller if reward == "is" else f"{controller}/{reward}"


def _controller_summary(runs: list[dict[str, Any]], retrained: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
    tops = []
    for run in runs:
        arch = run["top"][0]["arch"]
        got = retrained(arch)
        tops.append({"seed": run["seed"], "arch": arch, "reward": run["top"][0]["mean_reward"],
                     "fid": [r["fid"] for r in got], "is": [r["is"] for r in got]})
    return {
        "searches": len(runs),
        "evaluations": runs[0]["evaluations"] + runs[0]["rescored"],
        "tops": tops,
        "fid_all": [f for t in tops for f in t["fid"]],
        "is_all": [v for t in tops for v in t["is"]],
        "fid_per_search": [statistics.mean(t["fid"]) for t in tops if t["fid"]],
        "best_so_far": [run["best_so_far"] for run in runs],
        "stages": [run["stages"] for run in runs],
        "minutes": [run["minutes"] for run in runs],
    }


def _welch(a: list[float], b: list[float], stats: Any) -> dict[str, Any] | None:
    """Welch's t-test of two controllers' per-search retrained FIDs (a negative t favours ``a``).

    The unit is the search: the retrain seeds of one top-1 share its architecture, so counting
    them as separate samples would overstate the evidence.
    """
    if len(a) < 2 or len(b) < 2:
        return None
    test = stats.ttest_ind(a, b, equal_var=False)
    return {"t": float(test.statistic), "p": float(test.pvalue), "n": [len(a), len(b)]}


def _paired_by_search_seed(strata: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]], stats: Any) -> dict[str, Any] | None:
    """``ours - random`` in per-search retrained FID, paired by (reward, search seed).

    A seed fixes the supernet's initialisation and data order under every controller.  The
    pairing was chosen after the IS searches' per-search FIDs turned out to line up by seed, so
    it is reported as exploratory, beside the unpaired test.  ``strata`` holds ``(reward, our
    tops, random search's tops)``; the sign-flip test enumerates every flip (exact at these sizes).
    """
    import numpy as np

    differences = []
    for reward, tops, baseline in strata:
        theirs = {t["seed"]: statistics.mean(t["fid"]) for t in baseline if t["fid"]}
        differences += [{"reward": reward, "seed": t["seed"], "difference": statistics.mean(t["fid"]) - theirs[t["seed"]]}
                        for t in tops if t["fid"] and t["seed"] in theirs]
    if len(differences) < 3:
        return None
    values = np.array([d["difference"] for d in differences])
    t_test = stats.ttest_1samp(values, 0.0)
    interval = t_test.confidence_interval(0.95)
    flips = stats.permutation_test((values,), np.mean, permutation_type="samples", n_resamples=np.inf)
    return {"pairs": differences, "mean": float(values.mean()), "std": float(values.std(ddof=1)),
            "ci95": [float(interval.low), float(interval.high)], "t_p": float(t_test.pvalue), "sign_flip_p": float(flips.pvalue)}


def _common_supernet_fidelity(piece: dict[str, Any], retrained: Callable[[str], list[dict[str, Any]]], stats: Any) -> dict[str, Any]:
    """Kendall tau of each candidate reward against the retrained FID, over all and over the better half.

    The better half (by the supernet's IS, as the search would rank them) is where a
    controller's choice is made: a reward can rank well overall by separating collapsed
    architectures from working ones and still not rank the working ones.
    """
    rows = []
    for row in piece["architectures"]:
        runs = retrained(row["arch"])
        if len(runs) < 2:
            continue
        entry = {"arch": row["arch"], "retrained_fid": statistics.mean(r["fid"] for r in runs),
                 "retrained_is": statistics.mean(r["is"] for r in runs)}
        for n in piece["sample_counts"]:
            values = row[str(n)]
            entry[f"is_{n}"] = statistics.mean(values["is"])
            entry[f"fid_{n}"] = statistics.mean(values["fid"])
            entry[f"is_{n}_seed_std"] = statistics.stdev(values["is"])
            entry[f"fid_{n}_seed_std"] = statistics.stdev(values["fid"])
        rows.append(entry)
    first = piece["sample_counts"][0]
    ranked = sorted(rows, key=lambda r: -r[f"is_{first}"])
    groups = {"all": rows, "better_half": ranked[: len(ranked) // 2]}
    taus: dict[str, Any] = {}
    for group, members in groups.items():
        target = [-r["retrained_fid"] for r in members]
        for n in piece["sample_counts"]:
            for reward, sign in (("is", 1), ("fid", -1)):
                tau = stats.kendalltau([sign * r[f"{reward}_{n}"] for r in members], target)
                taus[f"{group}/{reward}_{n}"] = {"tau": float(tau.statistic), "p": float(tau.pvalue), "n": len(members)}
    return {"reward_seeds": piece["reward_seeds"], "architectures": rows, "kendall_tau_vs_minus_retrained_fid": taus}


def table(summary: dict[str, Any]) -> str:
    lines = []
    proxy = summary.get("proxy")
    if proxy:
        lines += ["### Proxy fidelity (final supernet of the rnn seed-0 search)", "",
                  "| reward_norm | Kendall tau (reward vs -FID) | p | architectures | pinned at IS < 1.1 |", "|---|---|---|---|---|"]
        for mode in NORM_MODES:
            f = proxy["kendall_tau_reward_vs_minus_fid"].get(mode)
            cells = [f"{f['tau']:.2f}", f"{f['p']:.3f}", str(f["n"])] if f else ["-", "-", "0"]
            lines.append(f"| {mode} | " + " | ".join(cells) + f" | {proxy['pinned_near_1'][mode]} of {len(proxy['architectures'])} |")
        snr = proxy["top_candidates_snr"]
        if snr:
            lines += ["", "| reward_norm | std across the top candidates | std across reward seeds | ratio |", "|---|---|---|---|"]
            for mode, v in snr.items():
                ratio = "-" if v["ratio"] is None else f"{v['ratio']:.1f}"
                lines.append(f"| {mode} | {v['std_across_top']:.3f} | {v['std_across_seeds']:.3f} | {ratio} |")
        spread, seeds = proxy["retrain_fid_std_across_archs"], proxy["retrain_fid_std_across_seeds_mean"]
        if spread is not None and seeds is not None:
            lines += ["", f"Retrained FID: std across architectures {spread:.2f}, mean std across retrain seeds {seeds:.2f}."]
        lines.append("")
    randoms = summary.get("random_architectures")
    if randoms:
        n = next(iter(randoms.values()))["n"]
        lines += [f"### {n} random architectures on the same final supernet", "",
                  "| reward_norm | IS < 1.1 | median IS | max IS |", "|---|---|---|---|"]
        for mode, v in randoms.items():
            lines.append(f"| {mode} | {v['is_below_1.1']} of {v['n']} | {v['median']:.2f} | {v['max']:.2f} |")
        lines.append("")
    for name, common in summary.get("common_supernet", {}).items():
        n = len(common["architectures"])
        lines += [f"### {n} retrained architectures re-scored on the {name} final supernet", "",
                  "| reward | samples | tau, all | p | tau, better half by IS | p |", "|---|---|---|---|---|---|"]
        taus = common["kendall_tau_vs_minus_retrained_fid"]
        counts = sorted({int(k.split("_")[-1]) for k in taus})
        for reward in ("is", "fid"):
            for count in counts:
                a, b = taus[f"all/{reward}_{count}"], taus[f"better_half/{reward}_{count}"]
                lines.append(f"| supernet {reward.upper()} | {count} | {a['tau']:.2f} | {a['p']:.3f} | {b['tau']:.2f} | {b['p']:.3f} |")
        lines.append("")
    if summary["controllers"]:
        lines += ["### Controllers at equal budget (default search, top-1 retrained)", "",
                  "| controller | reward | searches | evaluations each | best full-architecture reward seen | top-1 re-scored reward "
                  "| top-1 retrained FID | vs random, same reward (Welch p) | top-1 retrained IS | entropy drop per stage |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for c in summary["controllers"].values():
            seen = [curve[-1] for curve in c["best_so_far"] if curve and curve[-1] is not None]
            welch = c.get("welch_vs_random_same_reward")
            welch_p = "-" if welch is None else f"{welch['p']:.2f}"
            lines.append(f"| {c['controller']} | {c['reward'].upper()} | {c['searches']} | {c['evaluations']} | {_mean_std(seen)} | "
                         f"{_mean_std([t['reward'] for t in c['tops']])} | {_mean_std(c['fid_all'])} | "
                         f"{welch_p} | "
                         f"{_mean_std(c['is_all'])} | {_entropy_drops(c['stages'])} |")
    variance = summary.get("retrain_variance")
    if variance:
        lines += ["", f"Retrained FID over all {variance['architectures']} architectures retrained ({variance['retrains']} retrains): "
                  f"std {variance['architecture_std']:.2f} between architectures, {variance['seed_std']:.2f} between retrain seeds "
                  f"(intraclass correlation {variance['intraclass_correlation']:.2f}; one-way ANOVA F = {variance['anova_f']:.2f}, "
                  f"p = {variance['anova_p']:.3f})."]
    for reward, v in summary.get("reward_vs_is_reward", {}).items():
        lines += ["", f"Searched with the {reward.upper()} reward instead of the IS ({', '.join(v['controllers'])}, the search as the unit): "
                  f"top-1 retrained FID {_mean_std(v['fid_per_search'])} against {_mean_std(v['is_reward_fid_per_search'])} "
                  f"(Welch p = {v['welch_vs_is']['p']:.3f}, Mann-Whitney p = {v['mann_whitney_p']:.3f})."]
    paired = {c: v for c, v in summary.get("paired_vs_random_by_search_seed", {}).items() if v}
    if paired:
        lines += ["", "### Paired by search seed (exploratory): top-1 retrained FID minus random search's", "",
                  "| controller | pairs (reward, seed: difference) | mean ± std | 95% CI | t-test p | sign-flip p |",
                  "|---|---|---|---|---|---|"]
        for controller, v in paired.items():
            pairs = ", ".join(f"{p['reward'].upper()} s{p['seed']}: {p['difference']:+.2f}" for p in v["pairs"])
            lines.append(f"| {controller} | {pairs} | {v['mean']:+.2f} ± {v['std']:.2f} | [{v['ci95'][0]:+.2f}, {v['ci95'][1]:+.2f}] "
                         f"| {v['t_p']:.2f} | {v['sign_flip_p']:.2f} |")
    return "\n".join(lines)


def write_best_so_far_charts(summary: dict[str, Any]) -> list[Path]:
    """One SVG per reward: every search's best full-architecture reward against evaluations.

    Each search is on its own supernet, so the curves say how fast a controller finds what its
    own reward likes, not which generator is better (the retrained FIDs say that).
    """
    from autogan.config import REWARD_SYMBOLS
    from autogan.files import atomic_write_bytes
    from autogan.plots import PALETTE, Chart, Series, chart_svg

    written = []
    for reward in REWARDS:
        series = []
        for index, controller in enumerate(CONTROLLERS):
            entry = summary["controllers"].get(_controller_key(controller, reward))
            curves = entry["best_so_far"] if entry else []
            for number, curve in enumerate(curves):
                series.append(Series(controller if number == 0 else "", [(i + 1, v) for i, v in enumerate(curve)],
                                     color=PALETTE[index], dashed=controller == "random"))
        if not series:
            continue
        symbol = REWARD_SYMBOLS[reward]
        chart = Chart(title=f"Best full-architecture reward ({symbol}) found so far, one line per search",
                      xlabel="architectures evaluated", ylabel=f"supernet {symbol}", series=series, step=True)
        path = RESULTS / f"search_quality_best_so_far_{reward}.svg"
        atomic_write_bytes(path, chart_svg(chart).encode())
        written.append(path)
    return written


def _search_id(text: str) -> tuple[str, int]:
    controller, _, seed = text.partition(":")
    if controller not in CONTROLLERS or not seed.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected CONTROLLER:SEED with CONTROLLER one of {', '.join(CONTROLLERS)}")
    return controller, int(seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="pieces at once, one core each")
    parser.add_argument("--seeds", type=int, default=3, help="search seeds per controller")
    parser.add_argument("--retrain-seeds", type=int, default=2)
    parser.add_argument("--reward-seeds", type=int, default=5, help="reward seeds per architecture (proxy fidelity)")
    parser.add_argument("--proxy-archs", type=int, default=12)
    parser.add_argument("--controllers", nargs="+", default=list(CONTROLLERS), choices=CONTROLLERS)
    parser.add_argument("--rewards", nargs="+", default=list(REWARDS), choices=REWARDS, help="search.reward of the searches")
    parser.add_argument("--parts", nargs="+", default=["proxy", "controllers"], choices=["proxy", "controllers", "pinned", "fidelity"],
                        help="pinned: random architectures on the rnn seed-0 final supernet under every reward_norm")
    parser.add_argument("--fidelity-supernets", nargs="+", type=_search_id, default=[PROXY_SOURCE, ("random", 0)],
                        metavar="CONTROLLER:SEED", help="final supernets that re-score every retrained architecture")
    parser.add_argument("--hours", type=float, default=None, help="start no new piece after this long")
    parser.add_argument("--report", action="store_true", help="only aggregate what is cached")
    args = parser.parse_args(argv)

    if not args.report:
        run_plan(plan, args)
    summary = summarise(args)
    write_json(SUMMARY, summary)
    for path in write_best_so_far_charts(summary):
        log(f"wrote {path}")
    print(table(summary))
    log(f"wrote {SUMMARY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
