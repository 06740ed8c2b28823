"""`autogan compare`: the top-1's size, a best-so-far that starts at the first full architecture,
and a chart where identical runs stay visible and the x axis says why the curves start late."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from search_spaces import AUTOGAN_TOP1

from autogan.compare import best_so_far_chart, compare_runs, format_table, render_html, to_csv
from autogan.nn import generator_cost
from autogan.search import RunDirectory


@pytest.fixture(scope="module")
def twins(tmp_path_factory, synthetic_run, make_synthetic_run) -> list[Path]:
    """The same run twice (as the same seed and controller give) and one other."""
    root = tmp_path_factory.mktemp("twins")
    shutil.copytree(synthetic_run, root / "a")
    shutil.copytree(synthetic_run, root / "b")
    make_synthetic_run(root / "c", seed=3)
    # Another run: its top-1 scores higher, so its curve differs.
    evaluations = root / "c" / "evaluations.jsonl"
    rows = [json.loads(line) for line in evaluations.read_text().splitlines()]
    for row in rows:
        if row["arch"] == str(AUTOGAN_TOP1):
            row["reward"] += 1.0
    evaluations.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return [root / "a", root / "b", root / "c"]


def test_best_so_far_starts_at_the_first_full_architecture_and_has_no_nulls(twins):
    rows = compare_runs(twins)
    for row, path in zip(rows, twins):
        searched = [e for e in RunDirectory.open(path).evaluations() if e["kind"] != "rescore"]
        first = next(i for i, e in enumerate(searched) if e["stage"] == 3 and e["reward"] is not None)
        assert row.best_so_far_first_evaluation == first + 1 > 1
        assert None not in row.best_so_far and len(row.best_so_far) == len(searched) - first
        assert row.best_so_far[0] == searched[first]["reward"] and row.best_so_far[-1] == row.best_reward


def test_the_top1_size_is_its_generator_at_the_retrain_width(twins):
    rows = compare_runs(twins)
    cost = generator_cost(AUTOGAN_TOP1, 32, 64, 4, 1)
    for row in rows:
        assert row.top1 == str(AUTOGAN_TOP1)
        assert (row.top1_params, row.top1_gmacs, row.size_ch, row.size_preset) == (cost.params, cost.macs / 1e9, 32, "digits")
    text = format_table(rows)
    assert f"{cost.params / 1e3:.1f}k params, {cost.macs / 1e9:.3f} GMACs at ch 32" in text.splitlines()[1]
    assert "retrain width of preset 'digits'" in text
    assert f"{cost.params / 1e3:.1f}k params" in render_html(rows)
    assert to_csv(rows).splitlines()[1].count(str(cost.params)) == 1


def test_identical_runs_are_named_and_drawn_so_that_both_show(twins):
    rows = compare_runs(twins)
    a, b, c = rows
    assert a.best_so_far == b.best_so_far != c.best_so_far
    assert a.best_so_far_identical_to == [b.run] and b.best_so_far_identical_to == [a.run] and c.best_so_far_identical_to == []
    chart = best_so_far_chart(rows)
    styles = [(s.linestyle, s.marker) for s in chart.series]
    assert len(set(styles)) == 3
    assert chart.note == "2 runs identical: a, b"
    assert "2 runs identical: a, b" in format_table(rows) and "2 runs identical: a, b" in render_html(rows)


def test_the_chart_shades_and_labels_the_evaluations_before_full_architectures(twins):
    rows = compare_runs(twins)
    chart = best_so_far_chart(rows)
    first = min(r.best_so_far_first_evaluation for r in rows)
    (span,) = chart.spans
    assert (span.start, span.end) == (0, first - 0.5) and "prefixes only" in span.text
    assert "scored from the last stage" in chart.xlabel
    assert chart.series[0].points[0][0] == rows[0].best_so_far_first_evaluation
    page = render_html(rows)
    assert 'id="span-0"' in page and "prefixes only" in page
    # The two identical lines carry their markers at different evaluations.
    marks = [re.findall(r'<g id="series-%d-0">.*?</g>' % i, page, re.S) for i in (0, 1)]
    assert all(marks) and marks[0] != marks[1]
