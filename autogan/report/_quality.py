"""Quality against size: every scored generator's reward over its parameters, with the Pareto front.

Sizes are counted for the derived generator at the retrain width (``autogan.retrain.architecture_size``), as
the size budget is.  Where a soft size term shaped the rewards, the chart plots the raw reward
(what the evaluator measured), so that the factor is not counted twice against a large generator.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from search_spaces import Architecture

from autogan.plots import PALETTE, Chart, Marker, Series, chart_svg


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The ``(size, quality)`` points that no other point matches or beats in both, smallest first.

    A point is dominated by one at most as large with at least its quality, better in one of the
    two; equal points are kept once.
    """
    front: list[tuple[float, float]] = []
    best = -math.inf
    # Smallest first, and at one size the best first: a point is on the front iff it beats every smaller one.
    for size, quality in sorted(set(points), key=lambda p: (p[0], -p[1])):
        if quality > best:
            front.append((size, quality))
            best = quality
    return front


def quality_points(evaluations: Sequence[dict[str, Any]], num_cells: int, width: Any, *,
                   rescored: bool = False) -> list[tuple[float, float]]:
    """One ``(params, mean reward)`` per full architecture scored during the search, or re-scored at its end.

    During the search, every one it scored, by the mean of its during-run rewards (the provisional
    ranking's basis): the final re-scoring covers only the top candidates, and a front drawn from
    those alone would hide what the rest of the space cost.  With ``rescored``, the final
    candidates by their re-scores on the final supernet, the final ranking's values: those are
    higher than their during-run means, which averaged over a supernet still training.
    """
    from autogan.retrain import architecture_size

    rewards: dict[str, list[float]] = {}
    for row in evaluations:
        if (row.get("kind") == "rescore") != rescored:
            continue
        reward = row.get("raw_reward", row.get("reward"))
        if reward is None or not math.isfinite(reward):
            continue
        arch = Architecture.parse(row["arch"])
        if len(arch.cells) == num_cells:
            rewards.setdefault(row["arch"], []).append(float(reward))
    points = []
    for text, values in sorted(rewards.items()):
        size = architecture_size(Architecture.parse(text), width)
        points.append((float(size["params"]), sum(values) / len(values)))
    return points


def quality_size_chart(runs: Sequence[tuple[str, Sequence[tuple[float, float]]]], budgets: Sequence[float],
                       ylabel: str, width_text: str, rescored: Sequence[tuple[float, float]] = ()) -> Chart:
    """Each run's architectures as dots and its Pareto front as a line, in one colour per run; a budget is a dotted line.

    ``rescored``, for one run: its final candidates' re-scores, drawn as larger marks beside the dots.
    """
    series = []
    for index, (label, points) in enumerate(runs):
        color = PALETTE[index % len(PALETTE)]
        prefix = f"{label}: " if len(runs) > 1 else ""
        series.append(Series(f"{prefix}each architecture", list(points), color=color, scatter=True))
        series.append(Series(f"{prefix}Pareto front", pareto_front(points), color=color, marker="o"))
    if rescored:
        series.append(Series("re-scored on the final supernet", list(rescored), color=PALETTE[1], scatter=True,
                             marker="D"))
    markers = [Marker(float(b), "budget", f"budget {b:,.0f} params", legend=True) for b in sorted(set(budgets))]
    # A step after each front point: the best quality reachable at that size or more.
    return Chart("Quality against size", f"parameters of the derived generator {width_text}", ylabel, series, markers,
                 step=True)


def quality_size_figure(summary: Any) -> str:
    """The report's chart, as a ``<figure class="chart">``."""
    from autogan.retrain import retrain_width

    config = summary.config
    width = retrain_width(config)
    points = quality_points(summary.evaluations, summary.num_cells, width)
    rescored = quality_points(summary.evaluations, summary.num_cells, width, rescored=True)
    budgets = [config.search.max_params] if config.search.max_params > 0 else []
    chart = quality_size_chart([("run", points)], budgets, reward_label(config), _width_text(width), rescored)
    return f'<figure class="chart" id="quality-size">{chart_svg(chart, width=7.0, height=3.6)}</figure>'


def reward_label(config: Any) -> str:
    from autogan.config import REWARD_SYMBOLS

    symbol = REWARD_SYMBOLS[config.search.reward]
    soft = config.search.size_target_params > 0 or config.search.size_target_gmacs > 0
    return f"{symbol} (raw, before the size factor)" if soft else symbol


def _width_text(width: Any) -> str:
    return f"(ch {width.ch}, preset {width.preset!r})"
