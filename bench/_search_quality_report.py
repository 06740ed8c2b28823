"""The search-quality bench's report: the markdown table and the best-so-far charts of its summary."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from _search_quality_protocol import CONTROLLERS, NORM_MODES, RESULTS, REWARDS
from _search_quality_stats import _controller_key


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

