"""Several runs side by side: what each controller found at what cost, and the standard NAS plot.

The plot is best-so-far reward against evaluations, one line per run: the reward of the best full
architecture scored so far, after each scored architecture. Only full architectures count (a prefix's
reward is on another scale), and the final re-scoring is left out: it re-scores, it does not search.
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
from autogan.plots import Chart, Series, chart_svg

CSV_COLUMNS = ("run", "controller", "reward", "seed", "status", "evaluations", "best_reward", "top1", "top1_reward", "top1_basis",
               "retrained_fid", "retrained_is", "retrained_g_step", "retrained_g_steps")


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
    retrained_fid: float | None = None
    retrained_is: float | None = None
    retrained_g_step: int | None = None  # below the recipe's g_steps while that retraining still runs
    retrained_g_steps: int | None = None
    best_so_far: list[float | None] = field(default_factory=list)

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
            best_so_far=best_so_far(searched, summary.num_cells),
        )
        row.best_reward = next((v for v in reversed(row.best_so_far) if v is not None), None)
        retrained = latest_retrain_score(summary.path, row.top1) if row.top1 else None
        if retrained:
            row.retrained_fid, row.retrained_is = retrained.fid, retrained.is_mean
            row.retrained_g_step, row.retrained_g_steps = retrained.g_step, retrained.g_steps
        rows.append(row)
    return rows


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
    header = ["run", "controller", "reward", "seed", "evals", "best reward", "entropy change/stage", "top-1 reward", "retrained FID",
              "top-1"]
    body = [[Path(r.run).name, r.controller, r.reward, str(r.seed), str(r.evaluations), _number(r.best_reward),
             " ".join(_percent(v) for v in r.entropy_drop_per_stage) or "-", _top1_reward(r), _retrained(r), r.top1 or "-"]
            for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *body]]
    return "\n".join(lines)


def best_so_far_chart(rows: Sequence[RunComparison]) -> Chart:
    return Chart(
        title="Best full-architecture reward found so far",
        xlabel="architectures evaluated",
        ylabel=_reward_axis(rows),
        series=[Series(f"{Path(r.run).name} ({r.controller}, seed {r.seed})",
                       [(i + 1, v) for i, v in enumerate(r.best_so_far)]) for r in rows],
        step=True,
    )


def render_html(rows: Sequence[RunComparison]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in
                   ("run", "controller", "reward", "seed", "status", "evaluations", "best reward", "entropy change per stage",
                    "top-1 (reward)", "retrained FID / IS", "top-1 architecture"))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in (
            Path(r.run).name, r.controller, r.reward, r.seed, r.status, r.evaluations, _number(r.best_reward),
            " ".join(_percent(v) for v in r.entropy_drop_per_stage) or "-", _top1_reward(r),
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
(<code>autogan retrain RUN --rank 1</code>) is the comparable number.</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<figure>{chart_svg(best_so_far_chart(rows))}</figure>
</body></html>
"""


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
