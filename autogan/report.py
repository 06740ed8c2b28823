"""Inspect a search: the ranked table, and one self-contained HTML report.

The report is a single file that needs nothing else to render: CSS is inline,
images are base64 ``data:`` URIs, and the architecture diagrams and the charts
are SVG drawn here.  No JavaScript, no external URL, no Graphviz binary.

Everything is read from the run record, which a running search keeps
appending to; a line that the search is in the middle of writing is skipped.
A damaged line elsewhere is skipped too, and named in ``RunSummary.notes``:
every good row is still shown.
"""

from __future__ import annotations

import base64
import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from search_spaces import Architecture

from autogan.errors import DamagedRecordError, UserError, describe_os_error
from autogan.record import RunRecord
from autogan.search import RankedArchitecture, rank_architectures

_SAMPLE_NAME = re.compile(r"^stage(\d+)_iter(\d+)\.png$")


# --------------------------------------------------------------------------- reading a run


@dataclass
class RunSummary:
    """What a run directory holds right now (the search may still be writing it)."""

    path: Path
    config: Any
    evaluations: list[dict[str, Any]]
    iterations: list[dict[str, Any]]
    state: dict[str, Any] | None
    latest_grid: Path | None = None
    notes: list[str] = field(default_factory=list)  # what the reader had to skip or could not find
    has_checkpoint: bool = False
    state_damaged: bool = False

    @property
    def num_cells(self) -> int:
        return self.config.search.num_cells

    @property
    def policy_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.iterations if r.get("phase") == "policy"]

    @property
    def resets(self) -> list[int]:
        """Global iterations that ended in a dynamic reset."""
        return [int(r["global_iteration"]) for r in self.policy_rows if r.get("reset")]

    @property
    def state_missing(self) -> bool:
        """The search has checkpointed (so it wrote state.json), yet there is none."""
        return self.state is None and (self.has_checkpoint or bool(self.evaluations) or bool(self.iterations))

    @property
    def status(self) -> str:
        if self.state_damaged:
            return "unknown: state.json is damaged"
        if self.state_missing:
            return "unknown: state.json is missing"
        if self.state is None:
            return "started, no iteration finished yet"
        if self.state.get("phase") == "done":
            return "done"
        return (
            f"running (or stopped): stage {self.state.get('stage')}, iteration {self.state.get('iteration')}, "
            f"phase {self.state.get('phase')}"
        )


def load_run(path: Path | str) -> RunSummary:
    """Read a run directory; a missing or foreign directory is a ``MissingFileError``.

    Damaged lines of the record are skipped and described in ``notes``.
    """
    record = RunRecord.open(path)
    evaluations, damaged_evaluations = record.read_evaluations()
    iterations, damaged_iterations = record.read_iterations()
    notes = [f"{damage}; skipped, every other row is shown" for damage in (*damaged_evaluations, *damaged_iterations)]
    try:
        state = record.read_state()
        state_damaged = False
    except DamagedRecordError as exc:
        # The state only says where the search stands; the rows it summarises are still worth showing.
        state, state_damaged = None, True
        notes.append(str(exc))
    summary = RunSummary(
        path=record.path,
        config=record.config(),
        evaluations=evaluations,
        iterations=iterations,
        state=state,
        latest_grid=latest_sample_grid(record.samples_dir),
        has_checkpoint=record.checkpoint_path.is_file(),
        notes=notes,
        state_damaged=state_damaged,
    )
    if summary.state_missing and not state_damaged:
        summary.notes.append(
            f"{record.state_path}: missing, so where the search stands is unknown; the rows below are read from "
            f"the record; `autogan search --resume {record.path}` writes it again from the checkpoint"
        )
    return summary


def latest_sample_grid(samples_dir: Path) -> Path | None:
    """The grid of the latest iteration, ordered by (stage, iteration) numerically, not by name."""
    best: tuple[tuple[int, int], Path] | None = None
    if not samples_dir.is_dir():
        return None
    for candidate in samples_dir.glob("*.png"):
        match = _SAMPLE_NAME.match(candidate.name)
        if not match:
            continue
        key = (int(match.group(1)), int(match.group(2)))
        if best is None or key > best[0]:
            best = (key, candidate)
    return best[1] if best else None


def rank(summary: RunSummary, *, stage: int | None = None) -> tuple[list[RankedArchitecture], str]:
    """Ranked architectures and a phrase saying what was ranked.

    Without ``stage``: full architectures.  While the search has not reached
    its last stage there are none yet, so the deepest stage's prefixes are
    ranked instead, and the phrase says so.  With ``stage``: the ``stage``-cell
    architectures scored during that stage.
    """
    num_cells = summary.num_cells
    if stage is not None:
        if not 1 <= stage <= num_cells:
            raise UserError(f"--stage {stage}: this run has stages 1..{num_cells}; pass one of them")
        rows = [r for r in summary.evaluations if int(r["stage"]) == stage]
        return rank_architectures(rows, stage), f"{stage}-cell architectures scored in stage {stage}"
    ranking = rank_architectures(summary.evaluations, num_cells)
    if ranking or not summary.evaluations:
        return ranking, f"full {num_cells}-cell architectures"
    deepest = max(int(r["stage"]) for r in summary.evaluations)
    rows = [r for r in summary.evaluations if int(r["stage"]) == deepest]
    return (
        rank_architectures(rows, deepest),
        f"{deepest}-cell prefixes (the search has not reached stage {num_cells} yet)",
    )


def ranking_rows(ranking: Sequence[RankedArchitecture]) -> list[dict[str, Any]]:
    return [entry.to_dict() for entry in ranking]


# --------------------------------------------------------------------------- text table


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The ranked table as aligned text: rank, reward, evaluations, stage, vector, canonical string."""
    header = ("rank", "mean reward ± std", "evals", "stage", "AutoGAN vector", "architecture")
    body = [
        (
            str(r["rank"]),
            _reward_text(r),
            str(r["evaluations"]),
            str(r["stage"]),
            _vector_text(r["autogan_vector"]),
            r["arch"],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    right = {0, 1, 2, 3}

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), *(line(b) for b in body)])


def _vector_text(vector: Sequence[int] | None) -> str:
    return " ".join(map(str, vector)) if vector else "-"


# --------------------------------------------------------------------------- SVG: architecture


_CONV_COLOURS = {"pre": "#2b6cb0", "post": "#b7791f"}
_CELL_W, _CELL_GAP, _TOP, _CELL_H = 224, 46, 64, 170


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _conv_chain(cell: Any, first: bool) -> str:
    """The ops of one of the cell's two convs in execution order."""
    norm = [] if cell.norm == "none" else [cell.norm.upper()]
    up = [f"up:{cell.up}"] if first else []
    if cell.conv == "pre":
        ops = [*norm, "ReLU", *up, "conv3×3"]
    elif cell.conv == "post":
        ops = [*up, "conv3×3", *norm, "ReLU"]
    else:
        ops = [*up, f"{cell.conv} conv3×3", *norm]
    return " → ".join(ops)


def architecture_svg(arch: Architecture, *, bottom_width: int = 4, title: str = "") -> str:
    """An inline SVG diagram of ``arch``: one box per cell with its two convs, the shortcut
    as an arc over the cell, and skip-ins as curves from an earlier cell's first conv."""
    n = len(arch.cells)
    x0 = 110
    width = x0 + n * (_CELL_W + _CELL_GAP) + 90
    skip_rows = sum(len(c.skips) for c in arch.cells)
    height = _TOP + _CELL_H + 26 + 22 * skip_rows
    out: list[str] = [
        f'<svg class="arch" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{_esc(title or str(arch))}">',
        f"<title>{_esc(str(arch))}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a5568"/></marker></defs>',
    ]
    mid = _TOP + _CELL_H / 2
    # The fixed stem: latent -> linear -> bottom feature map.
    out.append(_box(8, mid - 26, 82, 52, "#edf2f7", "#4a5568"))
    out.append(_text(49, mid - 6, "z → Linear", size=11, anchor="middle"))
    out.append(_text(49, mid + 10, f"{bottom_width}×{bottom_width}", size=11, anchor="middle"))
    out.append(_arrow(90, mid, x0, mid))
    size = bottom_width
    first_conv_out: dict[int, tuple[float, float]] = {}
    for number, cell in enumerate(arch.cells, start=1):
        left = x0 + (number - 1) * (_CELL_W + _CELL_GAP)
        colour = _CONV_COLOURS.get(cell.conv, "#4a5568")
        out.append(_box(left, _TOP, _CELL_W, _CELL_H, "#ffffff", colour, stroke_width=2, rounded=8))
        out.append(_text(left + 10, _TOP + 18, f"cell {number}", size=13, weight="bold", fill=colour))
        out.append(
            _text(left + _CELL_W - 10, _TOP + 18, f"{size}→{size * 2}", size=11, anchor="end", fill="#4a5568")
        )
        out.append(
            _text(
                left + 10,
                _TOP + 34,
                f"{cell.conv}-activation · norm {cell.norm} · up {cell.up}",
                size=10,
                fill="#2d3748",
            )
        )
        # Conv 1 (upsamples), the skip-in add, conv 2.
        box_x, box_w = left + 24, _CELL_W - 48
        out.append(_box(box_x, _TOP + 44, box_w, 34, "#ebf4ff" if cell.conv == "pre" else "#fffaf0", colour))
        out.append(_text(box_x + box_w / 2, _TOP + 58, "conv 1", size=10, anchor="middle", weight="bold"))
        out.append(_text(box_x + box_w / 2, _TOP + 72, _conv_chain(cell, True), size=9.5, anchor="middle"))
        add_y = _TOP + 96
        out.append(_arrow(box_x + box_w / 2, _TOP + 78, box_x + box_w / 2, add_y - 8))
        if cell.skips:
            out.append(f'<circle cx="{box_x + box_w / 2}" cy="{add_y}" r="8" fill="#fff" stroke="#c53030" stroke-width="1.5"/>')
            out.append(_text(box_x + box_w / 2, add_y + 4, "+", size=12, anchor="middle", fill="#c53030", weight="bold"))
        else:
            out.append(f'<line x1="{box_x + box_w / 2}" y1="{add_y - 8}" x2="{box_x + box_w / 2}" y2="{add_y + 8}" stroke="#4a5568"/>')
        first_conv_out[number] = (box_x + box_w / 2, add_y)
        out.append(_arrow(box_x + box_w / 2, add_y + 8, box_x + box_w / 2, _TOP + 116))
        out.append(_box(box_x, _TOP + 116, box_w, 34, "#ebf4ff" if cell.conv == "pre" else "#fffaf0", colour))
        out.append(_text(box_x + box_w / 2, _TOP + 130, "conv 2", size=10, anchor="middle", weight="bold"))
        out.append(_text(box_x + box_w / 2, _TOP + 144, _conv_chain(cell, False), size=9.5, anchor="middle"))
        # The shortcut: conv1x1(up(input)) added to the cell output; drawn as an arc over the box.
        if cell.shortcut:
            # Up over the box and down into the cell's output, clear of the labels inside.
            sx0, sx1, over = left - _CELL_GAP / 2 + 6, left + _CELL_W + _CELL_GAP / 2 - 6, _TOP - 14
            out.append(
                f'<path d="M{sx0},{mid} L{sx0},{over + 8} Q{sx0},{over} {sx0 + 8},{over} L{sx1 - 8},{over} '
                f'Q{sx1},{over} {sx1},{over + 8} L{sx1},{mid - 6}" fill="none" stroke="#2f855a" stroke-width="2" '
                'stroke-dasharray="5 3" marker-end="url(#arrow)"/>'
            )
            out.append(
                _text(left + _CELL_W / 2, over - 5, f"shortcut: conv1×1(up:{cell.up}(x))", size=10, anchor="middle", fill="#2f855a")
            )
        next_left = left + _CELL_W + _CELL_GAP
        out.append(_arrow(left + _CELL_W, mid, next_left if number < n else next_left, mid))
        size *= 2
    # The output head.
    head_x = x0 + n * (_CELL_W + _CELL_GAP)
    out.append(_box(head_x, mid - 26, 82, 52, "#edf2f7", "#4a5568"))
    out.append(_text(head_x + 41, mid - 6, "to_rgb", size=11, anchor="middle"))
    out.append(_text(head_x + 41, mid + 10, f"{size}×{size} · tanh", size=10, anchor="middle"))
    # Skip-ins: from cell i's first-conv output, down the right margin of cell i, along a lane
    # under the boxes, and up the left margin of cell j into its add; never across a conv box.
    lane = _TOP + _CELL_H + 18
    for number, cell in enumerate(arch.cells, start=1):
        for source in cell.skips:
            sx, sy = first_conv_out[source]
            tx, ty = first_conv_out[number]
            out_x = sx + box_w / 2 + 12
            in_x = tx - box_w / 2 - 12
            out.append(
                f'<path d="M{sx + 8},{sy} L{out_x},{sy} L{out_x},{lane} L{in_x},{lane} L{in_x},{ty} L{tx - 9},{ty}" '
                'fill="none" stroke="#c53030" stroke-width="1.6" marker-end="url(#arrow)"/>'
            )
            out.append(
                _text(out_x + 6, lane - 4, f"skip: cell {source} → cell {number} (resize + conv1×1)", size=10, fill="#c53030")
            )
            lane += 22
    out.append("</svg>")
    return "".join(out)


def _box(x: float, y: float, w: float, h: float, fill: str, stroke: str, *, stroke_width: float = 1, rounded: float = 4) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rounded}" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{stroke_width}"/>'
    )


def _text(x: float, y: float, text: str, *, size: float = 11, anchor: str = "start", fill: str = "#1a202c", weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}">{_esc(text)}</text>'
    )


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#4a5568" stroke-width="1.4" '
        'marker-end="url(#arrow)"/>'
    )


# --------------------------------------------------------------------------- SVG: charts


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
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
        _text(left, 18, title, size=13, weight="bold"),
    ]
    if not ys:
        out.append(_text(width / 2, height / 2, "no data yet", size=12, anchor="middle", fill="#718096"))
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
        out.append(_text(left - 6, py(tick) + 4, _tick_label(tick), size=10, anchor="end", fill="#4a5568"))
    for tick in nice_ticks(x_lo, x_hi, count=6):
        if x_lo <= tick <= x_hi:
            out.append(_text(px(tick), top + plot_h + 16, _tick_label(tick), size=10, anchor="middle", fill="#4a5568"))
    out.append(_text(left + plot_w / 2, height - 8, x_label, size=11, anchor="middle", fill="#4a5568"))
    for x, stage in stage_starts:
        out.append(
            f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + plot_h}" stroke="#a0aec0" stroke-width="1"/>'
        )
        out.append(_text(px(x) + 3, top + 11, f"stage {stage}", size=9, fill="#718096"))
    for x in resets:
        out.append(
            f'<line class="reset" x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + plot_h}" stroke="#e53e3e" '
            'stroke-width="1.5" stroke-dasharray="4 3"><title>dynamic reset</title></line>'
        )
        out.append(_text(px(x) + 3, top + plot_h - 5, "reset", size=9, fill="#e53e3e"))
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
        out.append(_text(legend_x + 14, top - 8, s.name, size=10))
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
        return [(float(r["global_iteration"]), _finite_or_none(r.get(name))) for r in rows]

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


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- HTML


_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px auto; max-width: 1280px;
       color: #1a202c; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #e2e8f0; }
h3 { font-size: 14px; margin: 14px 0 4px; }
.meta { color: #4a5568; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f7fafc; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.arch-block { margin-bottom: 18px; overflow-x: auto; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
img.grid { image-rendering: pixelated; width: 420px; border: 1px solid #cbd5e0; }
pre { background: #f7fafc; border: 1px solid #e2e8f0; padding: 10px; font-size: 12px; overflow-x: auto; }
"""


def render_html(summary: RunSummary, ranking: Sequence[RankedArchitecture], what: str, *, diagrams: int = 5) -> str:
    """The whole report as one HTML string."""
    rows = ranking_rows(ranking)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>autogan report: {_esc(summary.path.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>AutoGAN search report: {_esc(summary.path.name)}</h1>",
        f'<p class="meta">run directory <code>{_esc(summary.path)}</code> · status: {_esc(summary.status)} · '
        f"{len(summary.evaluations)} evaluations · {len(summary.policy_rows)} search iterations · "
        f"{len(summary.resets)} dynamic resets · controller {_esc(summary.config.search.controller)} · "
        f"dataset {_esc(summary.config.data.dataset)}</p>",
        *(f'<p class="meta warning"><b>Warning:</b> {_esc(note)}</p>' for note in summary.notes),
        f"<h2>Ranked architectures</h2><p class=\"meta\">Ranked: {_esc(what)}, {_esc(_basis_text(ranking))}.</p>",
        _ranking_table(rows),
        _learning_table(summary),
        "<h2>Architectures</h2>",
        '<p class="legend"><span><i class="swatch" style="background:#2b6cb0"></i>pre-activation cell</span>'
        '<span><i class="swatch" style="background:#b7791f"></i>post-activation cell</span>'
        '<span><i class="swatch" style="background:#2f855a"></i>shortcut (dashed arc)</span>'
        '<span><i class="swatch" style="background:#c53030"></i>skip-in edge</span></p>',
    ]
    if not ranking:
        parts.append('<p class="meta">No architecture has a valid reward yet.</p>')
    for entry in ranking[:diagrams]:
        parts.append('<div class="arch-block">')
        parts.append(
            f"<h3>#{entry.rank} · reward {entry.mean_reward:.3f} ± {entry.std_reward:.3f} · "
            f"<code>{_esc(entry.arch)}</code></h3>"
        )
        parts.append(architecture_svg(entry.arch, bottom_width=summary.config.model.bottom_width, title=f"rank {entry.rank}"))
        parts.append("</div>")
    parts.append("<h2>Search curves</h2>")
    parts.append('<p class="meta">Red dashed lines: dynamic resets (the supernet collapsed and G, D were re-initialised). '
                 "Grey lines: a new stage (cell) begins.</p>")
    parts.append('<div class="charts">' + "".join(search_charts(summary)) + "</div>")
    parts.append(_beam_table(summary))
    parts.append("<h2>Latest sample grid</h2>")
    if summary.latest_grid is not None:
        data = base64.b64encode(summary.latest_grid.read_bytes()).decode("ascii")
        parts.append(f'<p class="meta">{_esc(summary.latest_grid.name)}: samples of the best architecture of that iteration.</p>')
        parts.append(f'<img class="grid" alt="{_esc(summary.latest_grid.name)}" src="data:image/png;base64,{data}">')
    else:
        parts.append('<p class="meta">No sample grid yet.</p>')
    parts.append("<h2>Resolved config</h2>")
    parts.append(f"<pre>{_esc(summary.config.to_toml())}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _basis_text(ranking: Sequence[RankedArchitecture]) -> str:
    if ranking and ranking[0].basis == "final":
        return ("the final ranking: each candidate (the final beam and the run's best) re-scored on the final "
                "supernet with several seeds, mean Inception Score ± std over those seeds")
    return ("provisional: mean Inception Score over the rewards each architecture got during the run, "
            "taken at different iterations; the final re-scoring replaces it when the search ends")


def _learning_table(summary: RunSummary) -> str:
    from autogan.learning import stage_learning

    stages = stage_learning(summary.iterations)
    if not stages:
        return ""
    rows = "".join(
        f"<tr><td class=\"num\">{s.stage}</td><td class=\"num\">{s.iterations}</td>"
        f"<td class=\"num\">{_pair(s.entropy_first, s.entropy_last)}</td>"
        f"<td class=\"num\">{'-' if s.entropy_drop is None else f'{-100 * s.entropy_drop:+.0f}%'}</td>"
        f"<td class=\"num\">{_pair(s.reward_first, s.reward_last)}</td>"
        f"<td class=\"num\">{'-' if s.reward_rise is None else f'{s.reward_rise:+.3f}'}</td></tr>"
        for s in stages
    )
    return (
        "<h3>Did the policy learn?</h3><p class=\"meta\">Per stage, the first and the last iteration: a learning "
        "controller's entropy falls while the mean reward of its proposals rises.</p>"
        "<table><thead><tr><th>stage</th><th>iterations</th><th>entropy first → last</th><th>change</th>"
        "<th>mean reward first → last</th><th>change</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def _pair(first: float | None, last: float | None) -> str:
    if first is None or last is None:
        return "-"
    return f"{first:.3f} → {last:.3f}"


def _ranking_table(rows: Sequence[dict[str, Any]]) -> str:
    head = (
        "<table class=\"ranking\"><thead><tr><th>rank</th><th>architecture</th><th>AutoGAN vector</th>"
        "<th>mean reward ± std</th><th>evaluated</th><th>stage</th></tr></thead><tbody>"
    )
    body = "".join(
        f"<tr><td class=\"num\">{r['rank']}</td><td><code>{_esc(r['arch'])}</code></td>"
        f"<td><code>{_esc(_vector_text(r['autogan_vector']))}</code></td>"
        f"<td class=\"num\">{_reward_text(r)}</td>"
        f"<td class=\"num\">{r['evaluations']}</td><td class=\"num\">{r['stage']}</td></tr>"
        for r in rows
    )
    return head + body + "</tbody></table>"


def _reward_text(row: dict[str, Any]) -> str:
    if row["evaluations"] > 1:
        return f"{row['mean_reward']:.3f} ± {row['std_reward']:.3f}"
    return f"{row['mean_reward']:.3f} (n = 1)"


def _beam_table(summary: RunSummary) -> str:
    beams = [r for r in summary.iterations if r.get("phase") == "beam"]
    if not beams:
        return ""
    rows = "".join(
        f"<tr><td class=\"num\">{r['stage']}</td><td>"
        + "<br>".join(f"<code>{_esc(e['arch'])}</code> ({_score_text(e.get('score'))})" for e in r.get("beam", []))
        + "</td></tr>"
        for r in beams
    )
    return "<h3>Beam carried out of each stage</h3><table><thead><tr><th>stage</th><th>beam (score)</th></tr></thead><tbody>" + rows + "</tbody></table>"


def _score_text(value: Any) -> str:
    value = _finite_or_none(value)
    return "failed" if value is None else f"{value:.3f}"


def write_report(summary: RunSummary, ranking: Sequence[RankedArchitecture], what: str, path: Path | str) -> Path:
    """Render and write the report atomically; returns the path."""
    from autogan.files import atomic_write_bytes

    path = Path(path)
    if path.is_dir():
        raise UserError(f"--report {path}: is a directory; pass a file name such as report.html")
    try:
        atomic_write_bytes(path, render_html(summary, ranking, what).encode("utf-8"))
    except OSError as exc:
        raise UserError(f"--report {path}: cannot be written ({describe_os_error(exc)})") from None
    return path
