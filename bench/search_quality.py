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
import statistics
import sys
import time
from typing import Any

from _pieces import Scheduler, run_plan, cli, log, retrain_command, read_json, run_logged, spread_order, write_json
from _search_quality_protocol import (CACHE, CONTROLLERS, FIDELITY_SAMPLES, LEGACY_G_BATCH, NORM_MODES, PIECES, PROXY_POOL,
                                      PROXY_SOURCE, RETRAIN_EVAL, RETRAIN_PRESET, REWARDS, SEARCH_OVERRIDES, SUMMARY,
                                      recipe_fingerprint, search_name)
from _search_quality_report import table, write_best_so_far_charts
from _search_quality_stats import _cached_retrains, summarise


# --------------------------------------------------------------------------- pieces


def search_piece(controller: str, seed: int, reward: str = "is") -> dict[str, Any]:
    """One full default search, summarised: final top-5, best-so-far curve, entropy per stage."""
    name = search_name(controller, seed, reward)
    path = PIECES / "searches" / f"{name}.json"
    cached = read_json(path)
    if cached is not None:
        return cached
    from autogan.compare import best_so_far
    from autogan.search import RunDirectory

    run_dir = CACHE / "runs" / name
    started = time.time()
    command = cli("search", "--out", str(run_dir), "--json", f"search.controller='{controller}'", f"run.seed={seed}",
                  f"search.reward='{reward}'", *SEARCH_OVERRIDES)
    if (run_dir / "config.toml").exists():
        command = cli("search", "--resume", str(run_dir), "--json")
    output = json.loads(run_logged(command, CACHE / "logs" / f"search-{name}.log"))
    record = RunDirectory.open(run_dir)
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
    from search_spaces import Architecture

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

    from autogan.search import RewardEvaluator, RunDirectory
    from autogan.seeding import derived_seed

    torch.set_num_threads(1)
    record = RunDirectory.open(CACHE / "runs" / f"{source['controller']}-s{source['seed']}")
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
    from autogan.search import RewardEvaluator
    from autogan.seeding import derived_seed

    torch = __import__("torch")
    torch.set_num_threads(1)
    run_dir = CACHE / "runs" / f"{source['controller']}-s{source['seed']}"
    from autogan.search import RunDirectory

    record = RunDirectory.open(run_dir)
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


def _search_id(text: str) -> tuple[str, int]:
    controller, _, seed = text.partition(":")
    if controller not in CONTROLLERS or not seed.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected CONTROLLER:SEED with CONTROLLER one of {', '.join(CONTROLLERS)}")
    return controller, int(seed)


def run_preregistered(args: argparse.Namespace) -> int:
    """The pre-registered test's pieces, then its block of the summary (``preregistered``), kept beside the rest."""
    import _preregistered

    prereg = _preregistered.Plan(_preregistered.PROTOCOL, smoke=args.smoke)
    if not args.smoke and not prereg.protocol["committed_before_data"]:
        log("the pre-registered protocol is not fixed yet (PROTOCOL['committed_before_data'] in bench/_preregistered.py)")
        return 2
    if not args.report:
        scheduler = Scheduler(args.jobs)
        _preregistered.schedule(scheduler, prereg)
        scheduler.run(time.time() + args.hours * 3600 if args.hours else None)
        if scheduler.failures:
            for failure in scheduler.failures:
                log(f"failed: {failure}")
            if args.smoke:
                return 1
    block = _preregistered.summarise(prereg)
    print(_preregistered.table(block))
    if args.smoke:
        log(f"smoke: every piece ran, in {prereg.pieces}")
        return 0
    summary = read_json(SUMMARY) or {}
    write_json(SUMMARY, {**summary, "preregistered": block})
    log(f"wrote the preregistered block of {SUMMARY}")
    return 0


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
    parser.add_argument("--preregistered", action="store_true",
                        help="the pre-registered end-to-end test (bench/_preregistered.py) instead of the measurements above")
    parser.add_argument("--smoke", action="store_true", help="with --preregistered: every kind of piece at tiny sizes, "
                        "in a scratch directory")
    args = parser.parse_args(argv)
    if args.smoke and not args.preregistered:
        parser.error("--smoke goes with --preregistered")
    if args.preregistered:
        return run_preregistered(args)

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
