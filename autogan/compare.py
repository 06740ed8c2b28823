"""Several runs side by side: what each controller found at what cost, and the standard NAS plot.

The plot is best-so-far reward against evaluations, one line per run: the reward of the best full
architecture scored so far, after each scored architecture. Only full architectures count (a prefix's
reward is on another scale), and the final re-scoring is left out: it re-scores, it does not search.
Full architectures are scored only from the last stage on, so each curve starts there
(``best_so_far_first_evaluation``) and the chart shades the evaluations before it. Runs whose curves
are equal (the same seed and controller repeat exactly) get distinct dashes and markers and a note.
"""

from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from autogan.config import REWARD_SYMBOLS
from autogan.errors import UserError
from autogan.learning import stage_learning
from autogan.plots import Chart, Series, Span, chart_svg

CSV_COLUMNS = ("run", "controller", "reward", "seed", "status", "evaluations", "best_reward", "top1", "top1_reward", "top1_basis",
               "top1_params", "top1_gmacs", "size_ch", "size_preset",
               "retrained_fid", "retrained_is", "retrained_g_step", "retrained_g_steps")
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "x")


@dataclass
class RunComparison:
    run: str
    controller: str
    reward: str  # search.reward: what the run's rewards measure
    seed: int
    status: str
    evaluations: int
    best_reward: float | None
    entropy_drop_per_stage: list[float | None]
    top1: str | None
    top1_reward: float | None
    top1_basis: str | None  # "final" (re-scored on the final supernet) or "during-run"
    top1_params: int | None = None  # the top-1's derived generator at the retrain width (size_ch, size_preset)
    top1_gmacs: float | None = None
    size_ch: int | None = None
    size_preset: str | None = None
    retrained_fid: float | None = None
    retrained_is: float | None = None
    retrained_g_step: int | None = None  # below the recipe's g_steps while that retraining still runs
    retrained_g_steps: int | None = None
    # From the first full-architecture evaluation on (evaluation number best_so_far_first_evaluation,
    # counted from 1): earlier evaluations score prefixes only, so there is no best full reward yet.
    best_so_far: list[float] = field(default_factory=list)
    best_so_far_first_evaluation: int | None = None
    best_so_far_identical_to: list[str] = field(default_factory=list)  # other runs with this very curve
    # Quality against size: (params at the retrain width, mean during-run reward) per full architecture.
    max_params: int | None = None  # the run's search.max_params; None without a budget
    size_points: list[tuple[float, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def best_so_far(evaluations: Sequence[dict[str, Any]], num_cells: int) -> list[float | None]:
    """After each search evaluation (in record order), the best full-architecture reward so far."""
    best, curve = -math.inf, []
    for row in evaluations:
        if row.get("kind") == "rescore":
            continue
        reward = row.get("reward")
        if int(row["stage"]) == num_cells and reward is not None and math.isfinite(reward):
            best = max(best, reward)
        curve.append(None if best == -math.inf else best)
    return curve


def compare_runs(paths: Sequence[Path | str]) -> list[RunComparison]:
    from autogan.report import load_run, rank
    from autogan.retrain import architecture_size, retrain_width
    from autogan.report._quality import quality_points
    from autogan.retrain import latest_retrain_score

    if not paths:
        raise UserError("compare: no RUN_DIR given; pass two or more run directories of `autogan search`")
    rows = []
    for path in paths:
        summary = load_run(path)
        config = summary.config
        ranking, _ = rank(summary)
        top = ranking[0] if ranking else None
        searched = [r for r in summary.evaluations if r.get("kind") != "rescore"]
        row = RunComparison(
            run=str(summary.path),
            controller=config.search.controller,
            reward=config.search.reward,
            seed=config.run.seed,
            status=summary.status,
            evaluations=len(searched),
            best_reward=None,
            entropy_drop_per_stage=[s.entropy_drop for s in stage_learning(summary.iterations)],
            top1=None if top is None else str(top.arch),
            top1_reward=None if top is None else top.mean_reward,
            top1_basis=None if top is None else top.basis,
        )
        curve = best_so_far(searched, summary.num_cells)
        first = next((i for i, v in enumerate(curve) if v is not None), None)
        if first is not None:
            row.best_so_far, row.best_so_far_first_evaluation = curve[first:], first + 1
            row.best_reward = curve[-1]
        row.max_params = config.search.max_params or None
        row.size_points = quality_points(summary.evaluations, summary.num_cells, retrain_width(config))
        if top is not None:
            size = architecture_size(top.arch, retrain_width(config))
            row.top1_params, row.top1_gmacs, row.size_ch, row.size_preset = (
                size["params"], size["gmacs"], size["ch"], size["preset"])
        retrained = latest_retrain_score(summary.path, row.top1) if row.top1 else None
        if retrained:
            row.retrained_fid, row.retrained_is = retrained.fid, retrained.is_mean
            row.retrained_g_step, row.retrained_g_steps = retrained.g_step, retrained.g_steps
        rows.append(row)
    for group in identical_groups(rows):
        for row in group:
            row.best_so_far_identical_to = [r.run for r in group if r is not row]
    return rows


def identical_groups(rows: Sequence[RunComparison]) -> list[list[RunComparison]]:
    """Runs whose best-so-far curves are equal, point for point: drawn, they would cover each other."""
    groups: dict[tuple, list[RunComparison]] = {}
    for row in rows:
        if row.best_so_far:
            groups.setdefault((row.best_so_far_first_evaluation, tuple(row.best_so_far)), []).append(row)
    return [group for group in groups.values() if len(group) > 1]


def to_csv(rows: Sequence[RunComparison]) -> str:
    """One row per run; ``entropy_drop_stageS`` is the fraction by which stage S's entropy fell (0.1 = 10% lower)."""
    stages = max((len(r.entropy_drop_per_stage) for r in rows), default=0)
    drops = [f"entropy_drop_stage{s}" for s in range(1, stages + 1)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*CSV_COLUMNS, *drops], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values = {key: getattr(row, key) for key in CSV_COLUMNS}
        values.update(zip(drops, row.entropy_drop_per_stage))
        writer.writerow({k: "" if v is None else v for k, v in values.items()})
    return buffer.getvalue()


def format_table(rows: Sequence[RunComparison]) -> str:
    header = ["run", "controller", "reward", "seed", "evals", "best reward", "entropy change/stage", "top-1 reward", "top-1 size",
              "retrained FID", "top-1"]
    body = [[Path(r.run).name, r.controller, r.reward, str(r.seed), str(r.evaluations), _number(r.best_reward),
             " ".join(_percent(v) for v in r.entropy_drop_per_stage) or "-", _top1_reward(r), _size(r), _retrained(r),
             r.top1 or "-"]
            for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *body]]
    return "\n".join([*lines, *_footnotes(rows)])


def _size(row: RunComparison) -> str:
    from autogan.report import size_text

    if row.top1_params is None:
        return "-"
    return f"{size_text({'params': row.top1_params, 'gmacs': row.top1_gmacs})} at ch {row.size_ch}"


def _footnotes(rows: Sequence[RunComparison]) -> list[str]:
    presets = sorted({r.size_preset for r in rows if r.size_preset})
    notes = [f"top-1 size: parameters and GMACs per image of its derived generator at the retrain width of preset "
             f"{', '.join(map(repr, presets))}"] if presets else []
    if identical_note(rows):
        notes.append(f"best-so-far curves: {identical_note(rows)}")
    return notes


def best_so_far_chart(rows: Sequence[RunComparison]) -> Chart:
    starts = [r.best_so_far_first_evaluation for r in rows if r.best_so_far_first_evaluation is not None]
    spans = []
    if starts and min(starts) > 1:
        spans.append(Span(0, min(starts) - 0.5, "earlier stages: prefixes only"))
    return Chart(
        title="Best full-architecture reward found so far",
        xlabel="architectures evaluated (all stages; full architectures are scored from the last stage on)",
        ylabel=_reward_axis(rows),
        series=[Series(f"{Path(r.run).name} ({r.controller}, seed {r.seed})",
                       [(r.best_so_far_first_evaluation + i, v) for i, v in enumerate(r.best_so_far)],
                       linestyle=LINESTYLES[n % len(LINESTYLES)], marker=MARKERS[n % len(MARKERS)])
                for n, r in enumerate(rows)],
        step=True,
        spans=spans,
        note=identical_note(rows),
    )


def identical_note(rows: Sequence[RunComparison]) -> str:
    """``2 runs identical: a, b`` for each group of runs with equal curves; empty when there is none."""
    return "; ".join(f"{len(group)} runs identical: {', '.join(Path(r.run).name for r in group)}"
                     for group in identical_groups(rows))


def render_html(rows: Sequence[RunComparison]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in
                   ("run", "controller", "reward", "seed", "status", "evaluations", "best reward", "entropy change per stage",
                    "top-1 (reward)", "top-1 size", "retrained FID / IS", "top-1 architecture"))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in (
            Path(r.run).name, r.controller, r.reward, r.seed, r.status, r.evaluations, _number(r.best_reward),
            " ".join(_percent(v) for v in r.entropy_drop_per_stage) or "-", _top1_reward(r), _size(r),
            _retrained(r, with_is=True), r.top1 or "-")) + "</tr>"
        for r in rows
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>autogan compare</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #1a202c; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #e2e8f0; padding: 4px 10px; text-align: left; vertical-align: top; }}
th {{ background: #f7fafc; }}
td:last-child {{ font-family: ui-monospace, monospace; font-size: 12px; }}
figure {{ margin: 1.5em 0; max-width: 760px; }}
</style></head><body>
<h1>Runs compared</h1>
<p>{len(rows)} runs. Evaluations count the architectures each search scored, without the final re-scoring.
The top-1 reward is {html.escape(_basis_phrase(rows))}.
Each run's rewards are measured on its own supernet, so they rank within a run; across runs, the retrained FID
(<code>autogan retrain RUN --rank 1</code>) is the comparable number. The top-1 size counts its derived generator
at the retrain width (the preset of the run's dataset). In the plot, full architectures are scored only from the
last stage on, so the curves start there; the shaded evaluations before scored prefixes only.
{html.escape(identical_note(rows) + ": their lines coincide and are told apart by dashes and markers") if identical_note(rows) else ""}</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<figure>{chart_svg(best_so_far_chart(rows))}</figure>
<h2>Quality against size</h2>
<p>Every full architecture each run scored during its search, by the mean of its rewards, over the parameters of
its derived generator at the retrain width; each run's line joins its Pareto front. Rewards rank within a run only.</p>
<figure id="quality-size">{chart_svg(quality_size_overlay(rows), width=7.0, height=3.6)}</figure>
</body></html>
"""


def quality_size_overlay(rows: Sequence[RunComparison]) -> Chart:
    """The runs' quality-against-size charts in one, a colour per run, with each run's budget."""
    from autogan.report._quality import quality_size_chart

    budgets = [r.max_params for r in rows if r.max_params]
    presets = sorted({r.size_preset for r in rows if r.size_preset})
    width = f"(at the retrain width of preset {', '.join(presets)})" if presets else "(at the retrain width)"
    return quality_size_chart([(Path(r.run).name, r.size_points) for r in rows], budgets, _reward_axis(rows), width)


def _basis_phrase(rows: Sequence[RunComparison]) -> str:
    bases = {r.top1_basis for r in rows if r.top1_basis}
    if bases == {"final"}:
        return "the mean of the final re-scoring on each run's final supernet"
    return "final (re-scored on the final supernet) where a run has finished, provisional (marked *) where not"


def _reward_axis(rows: Sequence[RunComparison]) -> str:
    rewards = {r.reward for r in rows}
    if len(rewards) == 1:
        return f"best reward ({REWARD_SYMBOLS[rewards.pop()]})"
    return "best reward (IS or -FID: each run's own)"


def _top1_reward(row: RunComparison) -> str:
    if row.top1_reward is None:
        return "-"
    return _number(row.top1_reward) + ("" if row.top1_basis == "final" else "*")


def _retrained(row: RunComparison, *, with_is: bool = False) -> str:
    if row.retrained_fid is None:
        return "-"
    text = _number(row.retrained_fid, 2) + (f" / {_number(row.retrained_is, 2)}" if with_is else "")
    if row.retrained_g_steps is not None and row.retrained_g_step is not None and row.retrained_g_step < row.retrained_g_steps:
        text += f" (G step {row.retrained_g_step} of {row.retrained_g_steps})"
    return text


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    if value is None:
        return "n/a"
    change = round(-100 * value)
    return f"{change:+d}%" if change else "0%"
