"""The search curves: line charts as inline SVG, with dynamic resets and stage starts marked."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from autogan.report.run import RunSummary, finite_or_none
from autogan.report.svg import esc, label

_SERIES_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280")


@dataclass(frozen=True)
class Series:
    """One line of a chart; ``None`` y values leave a gap (a failed or missing value)."""

    name: str
    points: list[tuple[float, float | None]]
    dots_only: bool = False


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(k * step, 10) for k in range(first, last + 1)]


def line_chart_svg(
    title: str,
    series: Sequence[Series],
    *,
    resets: Sequence[float] = (),
    stage_starts: Sequence[tuple[float, int]] = (),
    x_label: str = "search iteration",
    width: int = 560,
    height: int = 250,
) -> str:
    """A line chart as inline SVG, with resets as red dashed verticals and stage starts as grey ones."""
    left, right, top, bottom = 56, 16, 46, 42
    xs = [x for s in series for x, y in s.points if y is not None] + list(resets)
    ys = [y for s in series for _, y in s.points if y is not None and math.isfinite(y)]
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        label(left, 18, title, size=13, weight="bold"),
    ]
    if not ys:
        out.append(label(width / 2, height / 2, "no data yet", size=12, anchor="middle", fill="#718096"))
        out.append("</svg>")
        return "".join(out)
    x_lo, x_hi = min(xs), max(xs)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    y_ticks = nice_ticks(min(ys), max(ys))
    y_lo, y_hi = y_ticks[0], y_ticks[-1]
    if y_hi == y_lo:
        y_hi = y_lo + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y_lo) / (y_hi - y_lo)) * plot_h

    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fcfcfd" stroke="#cbd5e0"/>')
    for tick in y_ticks:
        out.append(f'<line x1="{left}" y1="{py(tick):.1f}" x2="{left + plot_w}" y2="{py(tick):.1f}" stroke="#edf2f7"/>')
        out.append(label(left - 6, py(tick) + 4, _tick_label(tick), size=10, anchor="end", fill="#4a5568"))
    for tick in nice_ticks(x_lo, x_hi, count=6):
        if x_lo <= tick <= x_hi:
            out.append(label(px(tick), top + plot_h + 16, _tick_label(tick), size=10, anchor="middle", fill="#4a5568"))
    out.append(label(left + plot_w / 2, height - 8, x_label, size=11, anchor="middle", fill="#4a5568"))
    for x, stage in stage_starts:
        out.append(
            f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + plot_h}" stroke="#a0aec0" stroke-width="1"/>'
        )
        out.append(label(px(x) + 3, top + 11, f"stage {stage}", size=9, fill="#718096"))
    for x in resets:
        out.append(
            f'<line class="reset" x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + plot_h}" stroke="#e53e3e" '
            'stroke-width="1.5" stroke-dasharray="4 3"><title>dynamic reset</title></line>'
        )
        out.append(label(px(x) + 3, top + plot_h - 5, "reset", size=9, fill="#e53e3e"))
    legend_x = left
    for index, s in enumerate(series):
        colour = _SERIES_COLOURS[index % len(_SERIES_COLOURS)]
        if s.dots_only:
            for x, y in s.points:
                if y is not None and math.isfinite(y):
                    out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.2" fill="{colour}" fill-opacity="0.35"/>')
        else:
            for run in _runs(s.points):
                path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
                out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
                if len(s.points) <= 60:
                    out.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in run)
        # The legend sits between the title and the plot, so it never hides data.
        out.append(f'<rect x="{legend_x}" y="{top - 17}" width="10" height="10" fill="{colour}"/>')
        out.append(label(legend_x + 14, top - 8, s.name, size=10))
        legend_x += 22 + 6.2 * len(s.name)
    out.append("</svg>")
    return "".join(out)


def _runs(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Split a series at missing values so that a gap is drawn as a gap."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None or not math.isfinite(y):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x, y))
    return [r for r in runs if r]


def _tick_label(value: float) -> str:
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def search_charts(summary: RunSummary) -> list[str]:
    """Reward, controller entropy and loss curves over the search, with resets and stage starts marked."""
    rows = summary.policy_rows
    resets = summary.resets
    stage_starts: list[tuple[float, int]] = []
    seen: set[int] = set()
    for row in rows:
        stage = int(row["stage"])
        if stage not in seen:
            seen.add(stage)
            if stage > 1:
                stage_starts.append((float(row["global_iteration"]), stage))
    position = {(int(r["stage"]), int(r["iteration"])): int(r["global_iteration"]) for r in rows}
    evaluated = [
        (float(position[(int(e["stage"]), int(e["iteration"]))]), e.get("reward"))
        for e in summary.evaluations
        if e.get("kind") == "policy" and (int(e["stage"]), int(e["iteration"])) in position
    ]

    def column(name: str) -> list[tuple[float, float | None]]:
        return [(float(r["global_iteration"]), finite_or_none(r.get(name))) for r in rows]

    marks = {"resets": resets, "stage_starts": stage_starts}
    return [
        line_chart_svg(
            "Reward (Inception Score)",
            [
                Series("mean", column("reward_mean")),
                Series("max", column("reward_max")),
                Series("baseline", column("baseline")),
                Series("each architecture", evaluated, dots_only=True),
            ],
            **marks,
        ),
        line_chart_svg("Controller entropy", [Series("entropy", column("entropy"))], **marks),
        line_chart_svg("Supernet losses (mean over the iteration)", [Series("loss D", column("loss_d")), Series("loss G", column("loss_g"))], **marks),
    ]
