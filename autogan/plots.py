"""Line charts drawn with matplotlib and returned as SVG text, to inline into self-contained HTML pages.

The SVG is deterministic (fixed element ids, no date) so that a page rewritten with the same data is
byte-identical, and a watcher re-rendering it does not churn.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Sequence

# Colour-blind-safe and distinct in grey scale (Okabe and Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


@dataclass
class Series:
    """One line: ``points`` are ``(x, y)``; a ``None`` y breaks the line."""

    label: str
    points: Sequence[tuple[float, float | None]]
    color: str | None = None
    dashed: bool = False
    scatter: bool = False  # dots, not a line: e.g. each architecture's reward
    linestyle: str | None = None  # overrides ``dashed``: e.g. ":" so that equal lines stay told apart
    marker: str | None = None  # drawn at about ``MARKS_PER_LINE`` points, offset per series


@dataclass(frozen=True)
class Marker:
    """A vertical line at ``x``; ``kind`` names its style and its SVG id (``reset-0``, ``stage-1``, ...)."""

    x: float
    kind: str
    text: str = ""
    legend: bool = False  # ``text`` in the legend, e.g. a budget line


@dataclass(frozen=True)
class Span:
    """A shaded x range with a label: e.g. the evaluations before any full architecture was scored."""

    start: float
    end: float
    text: str = ""


MARKS_PER_LINE = 8

MARKER_STYLES = {"reset": {"color": "#e53e3e", "linestyle": "--", "linewidth": 1.2},
                 "stage": {"color": "#a0aec0", "linestyle": "-", "linewidth": 0.9},
                 "budget": {"color": "#2d3748", "linestyle": ":", "linewidth": 1.4}}


@dataclass
class Chart:
    title: str
    xlabel: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    markers: Sequence[Marker] = ()
    step: bool = False  # best-so-far curves are steps, not slopes
    spans: Sequence[Span] = ()
    note: str = ""  # a line inside the axes, e.g. that some series coincide


def chart_svg(chart: Chart, *, width: float = 6.4, height: float = 3.2) -> str:
    """``chart`` as an ``<svg>`` element; a chart with no finite point says so in its body."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": "autogan", "svg.fonttype": "none", "font.size": 9}):
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.add_subplot()
        drawn = 0
        for index, series in enumerate(chart.series):
            color = series.color or PALETTE[index % len(PALETTE)]
            if series.scatter:
                finite = [(x, y) for x, y in series.points if y is not None and math.isfinite(y)]
                if finite:
                    xs, ys = zip(*finite)
                    # A marked scatter is the few points a reader looks for among the many faint dots.
                    style = dict(s=22, alpha=0.9, marker=series.marker) if series.marker else dict(s=6, alpha=0.35)
                    axes.scatter(xs, ys, color=color, label=series.label, gid=f"series-{index}", **style)
                    drawn += len(finite)
                continue
            for number, segment in enumerate(_segments(series.points)):
                xs, ys = zip(*segment)
                plot = axes.step if chart.step else axes.plot
                kwargs = {"where": "post"} if chart.step else {}
                if series.marker:
                    # Offset per series, so the marks of two equal lines fall at different points.
                    every = max(1, len(segment) // MARKS_PER_LINE)
                    kwargs["markevery"] = (index * every // max(1, len(chart.series)) % every, every)
                # A lone point would be invisible as a line.
                (line,) = plot(xs, ys, color=color, linestyle=series.linestyle or ("--" if series.dashed else "-"),
                               linewidth=1.6, marker=series.marker or ("o" if len(segment) == 1 else None),
                               markersize=4 if series.marker else 3, markerfacecolor="none" if series.marker else None,
                               label=series.label if number == 0 else None, **kwargs)
                line.set_gid(f"series-{index}-{number}")
                drawn += len(segment)
        counts: dict[str, int] = {}
        for marker in chart.markers:
            number = counts.get(marker.kind, 0)
            counts[marker.kind] = number + 1
            axes.axvline(marker.x, gid=f"{marker.kind}-{number}", label=marker.text if marker.legend else None,
                         **MARKER_STYLES.get(marker.kind, {"color": "#718096"}))
            if marker.text and not marker.legend:  # a legend entry says it once
                axes.annotate(marker.text, (marker.x, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -9),
                              textcoords="offset points", fontsize=7, color=MARKER_STYLES.get(marker.kind, {}).get("color"))
        for number, span in enumerate(chart.spans):
            axes.axvspan(span.start, span.end, color="#edf2f7", zorder=0, gid=f"span-{number}")
            if span.text:
                axes.annotate(span.text, ((span.start + span.end) / 2, 0.5), xycoords=("data", "axes fraction"),
                              ha="center", va="center", rotation=90, fontsize=7, color="#4a5568")
        if chart.spans:
            axes.set_xlim(left=min(span.start for span in chart.spans))
        if chart.note:
            axes.text(0.99, 0.02, chart.note, ha="right", va="bottom", transform=axes.transAxes, fontsize=7,
                      color="#4a5568", gid="note")
        if not drawn:
            axes.text(0.5, 0.5, "no finite values yet", ha="center", va="center", transform=axes.transAxes, color="#666666")
        axes.set_title(chart.title, loc="left", fontsize=10)
        axes.set_xlabel(chart.xlabel)
        axes.set_ylabel(chart.ylabel)
        axes.grid(True, color="#e6e6e6", linewidth=0.6)
        axes.spines[["top", "right"]].set_visible(False)
        if any(series.label for series in chart.series) and drawn:
            axes.legend(frameon=False, fontsize=8)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive finite points."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None or not math.isfinite(y):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x, y))
    return [run for run in runs if run]
