"""The report page: one self-contained HTML file.

It needs nothing else to render: CSS is inline, images are base64 ``data:``
URIs, and the architecture diagrams and the charts are inline SVG.  No
JavaScript, no external URL.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Sequence

from autogan.config import REWARD_NAMES
from autogan.errors import UserError, describe_os_error
from autogan.naming import architecture_slug
from autogan.report._architecture import architecture_svg
from autogan.report._charts import search_charts
from autogan.report._quality import quality_size_figure
from autogan.report._run import RunSummary, finite_or_none
from autogan.report._size import params_text, size_text
from autogan.retrain import retrain_width
from autogan.report._svg import esc
from autogan.report._table import ranking_rows, reward_text, vector_text
from autogan.retrain._results import latest_retrain_score
from autogan.search import RankedArchitecture, budget_text

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
img.grid.small { width: 220px; align-self: center; }
.arch-row { display: flex; gap: 16px; align-items: flex-start; }
figure.chart { margin: 0; }
pre { background: #f7fafc; border: 1px solid #e2e8f0; padding: 10px; font-size: 12px; overflow-x: auto; }
"""


def render_html(
    summary: RunSummary, ranking: Sequence[RankedArchitecture], what: str, *, diagrams: int = 5,
    refresh_seconds: float | None = None,
) -> str:
    """The whole report as one HTML string; with ``refresh_seconds``, a live run's page reloads itself."""
    width = retrain_width(summary.config)
    rows = ranking_rows(ranking, width=width)
    live = refresh_seconds is not None and summary.live and summary.status != "done"
    reward_name = REWARD_NAMES[summary.config.search.reward]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        *([f'<meta http-equiv="refresh" content="{max(1, round(refresh_seconds))}">'] if live else []),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>autogan report: {esc(summary.path.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>AutoGAN search report: {esc(summary.path.name)}</h1>",
        f'<p class="meta">run directory <code>{esc(summary.path)}</code> · status: {esc(summary.status)} · '
        f"{len(summary.evaluations)} evaluations · {len(summary.policy_rows)} search iterations · "
        f"{len(summary.resets)} dynamic resets · controller {esc(summary.config.search.controller)} · "
        f"dataset {esc(summary.config.data.dataset)}</p>",
        *(f'<p class="meta warning"><b>Warning:</b> {esc(note)}</p>' for note in summary.notes),
        f"<h2>Ranked architectures</h2><p class=\"meta\">Ranked: {esc(what)}, {esc(_basis_text(ranking, reward_name))}. "
        f"Size: parameters and GMACs per image of the derived generator {esc(width.describe())}.</p>",
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
    for entry, row in zip(ranking[:diagrams], rows):
        parts.append('<div class="arch-block">')
        parts.append(f"<h3>#{entry.rank} · reward {reward_text(row)} · {esc(size_text(row['size']))} at ch {width.ch} · "
                     f"<code>{esc(entry.arch)}</code></h3>")
        retrained = latest_retrain_score(summary.path, entry.arch)
        if retrained is not None:
            parts.append(f'<p class="meta">Retrained stand-alone: {esc(retrained.describe())} '
                         f"(<code>{esc(retrained.out_dir)}</code>).</p>")
        parts.append('<div class="arch-row">')
        parts.append(architecture_svg(entry.arch, bottom_width=summary.config.model.bottom_width, title=f"rank {entry.rank}"))
        grid = summary.path / "samples" / f"final_{architecture_slug(entry.arch)}.png"
        if grid.is_file():
            parts.append(_image(grid, f"samples of rank {entry.rank} from the final supernet", "grid small"))
        if retrained is not None and retrained.grid is not None:
            parts.append(_image(retrained.grid, f"samples of rank {entry.rank} retrained, G step {retrained.g_step} (EMA)", "grid small"))
        parts.append("</div></div>")
    parts.append("<h2>Search curves</h2>")
    parts.append('<p class="meta">Red dashed lines: dynamic resets (the supernet collapsed and G, D were re-initialised). '
                 "Grey lines: a new stage (cell) begins.</p>")
    parts.append('<div class="charts">' + "".join(search_charts(summary)) + "</div>")
    parts.append("<h2>Quality against size</h2>")
    parts.append(f'<p class="meta">Dots: every full architecture scored during the search, the mean of its rewards '
                 f"while the supernet trained, over its parameters {esc(width.describe())}. The line joins their "
                 "Pareto front: no other architecture is as small and as good. Diamonds: the final candidates "
                 "re-scored on the final supernet, the ranking's values. " + esc(budget_text(summary.budget)) + ".</p>")
    parts.append('<div class="charts">' + quality_size_figure(summary) + "</div>")
    parts.append(_beam_table(summary))
    parts.append("<h2>Latest sample grid</h2>")
    if summary.latest_grid is not None:
        parts.append(f'<p class="meta">{esc(summary.latest_grid.name)}: samples of the best architecture of that iteration.</p>')
        parts.append(_image(summary.latest_grid, summary.latest_grid.name, "grid"))
    else:
        parts.append('<p class="meta">No sample grid yet.</p>')
    parts.append("<h2>Resolved config</h2>")
    parts.append(f"<pre>{esc(summary.config.to_toml())}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _image(path: Path, alt: str, css_class: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="{css_class}" alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _basis_text(ranking: Sequence[RankedArchitecture], reward_name: str) -> str:
    if ranking and ranking[0].basis == "final":
        return ("the final ranking: each candidate (the final beam and the run's best) re-scored on the final "
                f"supernet with several seeds, mean {reward_name} ± std over those seeds")
    return (f"provisional: mean {reward_name} over the rewards each architecture got during the run, "
            "taken at different iterations; the final re-scoring replaces it when the search ends")


def _learning_table(summary: RunSummary) -> str:
    from autogan.learning import stage_learning

    stages = stage_learning(summary.iterations, summary.evaluations)
    if not stages:
        return ""
    seconds: dict[int, float] = {}
    for row in summary.policy_rows:
        seconds[int(row["stage"])] = seconds.get(int(row["stage"]), 0.0) + float(row.get("seconds") or 0.0)
    rows = "".join(
        f"<tr><td class=\"num\">{s.stage}</td><td class=\"num\">{s.iterations}</td>"
        f"<td class=\"num\">{_pair(s.entropy_first, s.entropy_last)}</td>"
        f"<td class=\"num\">{'-' if s.entropy_drop is None else f'{-100 * s.entropy_drop:+.0f}%'}</td>"
        f"<td class=\"num\">{_pair(s.reward_first, s.reward_last)}</td>"
        f"<td class=\"num\">{_rise(s)}</td>"
        f"<td class=\"num\">{_minutes(seconds.get(s.stage))}</td><td>{esc(s.verdict)}</td></tr>"
        for s in stages
    )
    return (
        "<h3>Did the policy learn?</h3><p class=\"meta\">Per stage, the first and the last iteration: a learning "
        "controller's entropy falls while the mean reward of its proposals rises. Verdict: <i>learned</i> when the "
        "entropy fell by at least 10% and the mean reward rose by more than its noise (two standard errors of the "
        "difference, from the two iterations' rewards); <i>flat</i> when the entropy fell but the reward did not "
        "rise beyond its noise; <i>exploring</i> when the entropy fell by less than 10%.</p>"
        "<table><thead><tr><th>stage</th><th>iterations</th><th>entropy first → last</th><th>change</th>"
        "<th>mean reward first → last</th><th>change</th><th>time (policy iterations)</th><th>verdict</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def _rise(stage) -> str:
    if stage.reward_rise is None:
        return "-"
    noise = "" if stage.reward_noise is None else f" (noise ±{stage.reward_noise:.3f})"
    return f"{stage.reward_rise:+.3f}{noise}"


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _pair(first: float | None, last: float | None) -> str:
    if first is None or last is None:
        return "-"
    return f"{first:.3f} → {last:.3f}"


def _ranking_table(rows: Sequence[dict[str, Any]]) -> str:
    head = (
        "<table class=\"ranking\"><thead><tr><th>rank</th><th>architecture</th><th>AutoGAN vector</th>"
        "<th>mean reward ± std</th><th>evaluated</th><th>stage</th><th>params</th><th>GMACs</th></tr></thead><tbody>"
    )
    body = "".join(
        f"<tr><td class=\"num\">{r['rank']}</td><td><code>{esc(r['arch'])}</code></td>"
        f"<td><code>{esc(vector_text(r['autogan_vector']))}</code></td>"
        f"<td class=\"num\">{reward_text(r)}</td>"
        f"<td class=\"num\">{r['evaluations']}</td><td class=\"num\">{r['stage']}</td>"
        f"<td class=\"num\">{params_text(r['size']['params'])}</td><td class=\"num\">{r['size']['gmacs']:.3f}</td></tr>"
        for r in rows
    )
    return head + body + "</tbody></table>"


def _beam_table(summary: RunSummary) -> str:
    beams = [r for r in summary.iterations if r.get("phase") == "beam"]
    if not beams:
        return ""
    rows = "".join(
        f"<tr><td class=\"num\">{r['stage']}</td><td>"
        + "<br>".join(f"<code>{esc(e['arch'])}</code> ({_score_text(e.get('score'))})" for e in r.get("beam", []))
        + "</td></tr>"
        for r in beams
    )
    return "<h3>Beam carried out of each stage</h3><table><thead><tr><th>stage</th><th>beam (score)</th></tr></thead><tbody>" + rows + "</tbody></table>"


def _score_text(value: Any) -> str:
    value = finite_or_none(value)
    return "failed" if value is None else f"{value:.3f}"


def write_report(
    summary: RunSummary, ranking: Sequence[RankedArchitecture], what: str, path: Path | str, *,
    refresh_seconds: float | None = None,
) -> Path:
    """Render and write the report atomically (a browser never reads half a page); returns the path."""
    from autogan.files import atomic_write_bytes

    path = Path(path)
    if path.is_dir():
        raise UserError(f"--report {path}: is a directory; pass a file name such as report.html")
    try:
        atomic_write_bytes(path, render_html(summary, ranking, what, refresh_seconds=refresh_seconds).encode("utf-8"))
    except OSError as exc:
        raise UserError(f"--report {path}: cannot be written ({describe_os_error(exc)})") from None
    return path
