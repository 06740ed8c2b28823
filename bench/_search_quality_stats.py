"""The search-quality bench's statistics: the summary computed from its cached pieces.

Only reads: every number here is a function of ``bench/results/search_quality/``.
"""

from __future__ import annotations

import argparse
import math
import statistics
from typing import Any, Callable

from _pieces import read_json
from _search_quality_protocol import (CONTROLLERS, NORM_MODES, PIECES, PROXY_SOURCE, RETRAIN_EVAL, RETRAIN_PRESET,
                                      REWARDS, SEARCH_OVERRIDES, recipe_fingerprint, search_name)


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

