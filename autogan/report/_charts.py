"""The search curves, drawn by matplotlib (``autogan.plots``), with dynamic resets and stage starts marked."""

from __future__ import annotations

from autogan.plots import Chart, Marker, Series, chart_svg
from autogan.report._run import RunSummary, finite_or_none


def search_charts(summary: RunSummary) -> list[str]:
    """Reward, controller entropy and loss curves over the search, each a ``<figure class="chart">``."""
    rows = summary.policy_rows
    markers: list[Marker] = []
    seen: set[int] = set()
    for row in rows:
        stage = int(row["stage"])
        if stage not in seen:
            seen.add(stage)
            if stage > 1:
                markers.append(Marker(float(row["global_iteration"]), "stage", f"stage {stage}"))
    markers += [Marker(float(x), "reset", "reset") for x in summary.resets]
    position = {(int(r["stage"]), int(r["iteration"])): int(r["global_iteration"]) for r in rows}
    evaluated = [
        (float(position[(int(e["stage"]), int(e["iteration"]))]), finite_or_none(e.get("reward")))
        for e in summary.evaluations
        if e.get("kind") == "policy" and (int(e["stage"]), int(e["iteration"])) in position
    ]

    def column(name: str) -> list[tuple[float, float | None]]:
        return [(float(r["global_iteration"]), finite_or_none(r.get(name))) for r in rows]

    charts = [
        Chart("Reward (Inception Score)", "search iteration", "IS", [
            Series("mean", column("reward_mean")),
            Series("max", column("reward_max")),
            Series("baseline", column("baseline"), dashed=True),
            Series("each architecture", evaluated, scatter=True),
        ], markers),
        Chart("Controller entropy", "search iteration", "entropy (nats)", [Series("entropy", column("entropy"))], markers),
        Chart("Supernet losses (mean over the iteration)", "search iteration", "loss",
              [Series("loss D", column("loss_d")), Series("loss G", column("loss_g"))], markers),
    ]
    resets = len(summary.resets)
    return [f'<figure class="chart" data-resets="{resets}">{chart_svg(chart, width=5.6, height=2.9)}</figure>'
            for chart in charts]
