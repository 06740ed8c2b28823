"""The ranked table as rows (for ``--json``) and as aligned text."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from autogan.report._size import params_text
from autogan.retrain import RetrainWidth, architecture_size
from autogan.search import RankedArchitecture


def ranking_rows(
    ranking: Sequence[RankedArchitecture], *, width: RetrainWidth | None = None, run_dir: Path | None = None
) -> list[dict[str, Any]]:
    """One JSON-ready dict per ranked architecture: what ``inspect --json`` prints and both tables show.

    With ``width``, each row has the derived generator's ``size`` at that width; with ``run_dir``,
    the newest score of its stand-alone retraining under ``run_dir/retrain/`` (``retrained``, or None).
    """
    rows = [entry.to_dict() for entry in ranking]
    if width is not None:
        for row, entry in zip(rows, ranking):
            row["size"] = architecture_size(entry.arch, width)
    if run_dir is not None:
        from autogan.retrain import latest_retrain_score

        for row, entry in zip(rows, ranking):
            score = latest_retrain_score(run_dir, entry.arch)
            row["retrained"] = None if score is None else score.to_dict()
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The ranked table as aligned text: rank, reward, evaluations, stage, size and retrained FID where
    the rows have them, vector, canonical string."""
    sized = any("size" in r for r in rows)
    retrained = any(r.get("retrained") for r in rows)
    header = ("rank", "mean reward ± std", "evals", "stage", *(("params", "GMACs") if sized else ()),
              *(("retrained FID / IS",) if retrained else ()), "AutoGAN vector", "architecture")
    body = [
        (
            str(r["rank"]),
            reward_text(r),
            str(r["evaluations"]),
            str(r["stage"]),
            *((params_text(r["size"]["params"]), f"{r['size']['gmacs']:.3f}") if r.get("size") else
              ("-", "-") if sized else ()),
            *((retrained_text(r.get("retrained")),) if retrained else ()),
            vector_text(r["autogan_vector"]),
            r["arch"],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    right = set(range(len(header) - 2))

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), *(line(b) for b in body)])


def retrained_text(retrained: dict[str, Any] | None) -> str:
    """``20.00 / 7.40``, with ``(G step 400 of 600)`` while that retraining still runs."""
    if not retrained:
        return "-"
    text = f"{retrained['fid']:.2f} / {retrained['is_mean']:.2f}"
    if not retrained["finished"]:
        total = f" of {retrained['g_steps']}" if retrained["g_steps"] is not None else ""
        text += f" (G step {retrained['g_step']}{total})"
    return text


def vector_text(vector: Sequence[int] | None) -> str:
    return " ".join(map(str, vector)) if vector else "-"


def reward_text(row: dict[str, Any]) -> str:
    if row["evaluations"] > 1:
        return f"{row['mean_reward']:.3f} ± {row['std_reward']:.3f}"
    return f"{row['mean_reward']:.3f} (n = 1)"
