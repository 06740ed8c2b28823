"""The ranked table as rows (for ``--json``) and as aligned text."""

from __future__ import annotations

from typing import Any, Sequence

from autogan.search import RankedArchitecture


def ranking_rows(ranking: Sequence[RankedArchitecture]) -> list[dict[str, Any]]:
    """One JSON-ready dict per ranked architecture: what ``inspect --json`` prints and both tables show."""
    return [entry.to_dict() for entry in ranking]


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The ranked table as aligned text: rank, reward, evaluations, stage, vector, canonical string."""
    header = ("rank", "mean reward ± std", "evals", "stage", "AutoGAN vector", "architecture")
    body = [
        (
            str(r["rank"]),
            reward_text(r),
            str(r["evaluations"]),
            str(r["stage"]),
            vector_text(r["autogan_vector"]),
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


def vector_text(vector: Sequence[int] | None) -> str:
    return " ".join(map(str, vector)) if vector else "-"


def reward_text(row: dict[str, Any]) -> str:
    if row["evaluations"] > 1:
        return f"{row['mean_reward']:.3f} ± {row['std_reward']:.3f}"
    return f"{row['mean_reward']:.3f} (n = 1)"
