"""`autogan inspect`: the ranked table, its options, a run still being written, and bad input."""

from __future__ import annotations

import json
import os
import math

import pytest

from cli_contract import assert_one_line_error

from search_spaces import AUTOGAN_TOP1, Architecture

from autogan.cli import main
from autogan.plots import Chart, Marker, Series, chart_svg
from autogan.report._architecture import architecture_svg


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_ranks_full_architectures_by_mean_reward(capsys, synthetic_run):
    code, out, _ = run_cli(capsys, "inspect", synthetic_run, "--top", 3)
    assert code == 0
    lines = out.splitlines()
    assert lines[2].split()[:2] == ["rank", "mean"]
    assert lines[6].startswith("did the policy learn?")  # the table has exactly the 3 asked for
    first = lines[3]
    # TOP1 was scored 4 times in stage 3 at 5.00..5.03.
    assert first.split()[0] == "1" and str(AUTOGAN_TOP1) in first
    assert "1 0 1 1 1 0 0 1 1 1 0 1 0 3" in first and "5.015 ± 0.011" in first
    assert first.split()[4:6] == ["4", "3"]  # times evaluated, stage


def test_json_matches_the_record(capsys, synthetic_run):
    code, out, _ = run_cli(capsys, "inspect", synthetic_run, "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "done" and data["resets"] == [5]
    rows = data["architectures"]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    rewards = [r["mean_reward"] for r in rows]
    assert rewards == sorted(rewards, reverse=True)
    top = rows[0]
    assert Architecture.parse(top["arch"]) == AUTOGAN_TOP1
    assert top["autogan_vector"] == list(AUTOGAN_TOP1.to_autogan_vector())
    assert top["evaluations"] == 4 and math.isclose(top["mean_reward"], 5.015)
    # Every evaluated full architecture with a valid reward is ranked once; the failed one is not.
    from autogan.search import RunDirectory

    evaluations = RunDirectory(synthetic_run).evaluations()
    valid = {e["arch"] for e in evaluations if e["stage"] == 3 and e["reward"] is not None}
    assert {r["arch"] for r in rows} == valid


def test_stage_option_ranks_that_stage_prefixes(capsys, synthetic_run):
    code, out, _ = run_cli(capsys, "inspect", synthetic_run, "--stage", 1, "--json")
    rows = json.loads(out)["architectures"]
    assert code == 0 and rows
    assert all(r["stage"] == 1 and len(Architecture.parse(r["arch"]).cells) == 1 for r in rows)
    assert all(len(r["autogan_vector"]) == 4 for r in rows)


def test_reads_a_run_that_is_still_being_written(capsys, partial_run):
    from autogan.files import DirectoryLock

    # The search is in stage 3 (not started) and a line is half written: rank the deepest prefixes.
    writer = DirectoryLock(partial_run, what="run directory").acquire()  # as the live search holds it
    try:
        code, out, err = run_cli(capsys, "inspect", partial_run, "--json")
    finally:
        writer.release()
    data = json.loads(out)
    assert code == 0, err
    assert data["status"].startswith(f"running (pid {os.getpid()}): stage 3") and "2-cell prefixes" in data["ranked"]
    assert data["architectures"] and all(r["stage"] == 2 for r in data["architectures"])


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["inspect", "{missing}"], "not found"),
        (["inspect", "{run}", "--stage", "4"], "--stage 4"),
        (["inspect", "{run}", "--top", "0"], "--top 0"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, synthetic_run, tmp_path, argv, needle):
    argv = [a.format(missing=tmp_path / "nope", run=synthetic_run) for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert needle in assert_one_line_error(code, err, argv[0], out=out)


def test_architecture_svg_draws_every_decision():
    svg = architecture_svg(AUTOGAN_TOP1)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for cell in ("cell 1", "cell 2", "cell 3"):
        assert f">{cell}<" in svg
    # Two shortcuts (cells 1 and 2), three skip edges (1->2, 1->3, 2->3).
    assert svg.count("shortcut: conv1×1") == 2
    for edge in ("cell 1 → cell 2", "cell 1 → cell 3", "cell 2 → cell 3"):
        assert f"skip: {edge}" in svg
    assert "up:nearest" in svg and "up:bilinear" in svg and "32×32" in svg
    post = Architecture.parse("post,bn,deconv,nosc | post,in,nearest,nosc,skip=none | post,none,bilinear,nosc,skip=none")
    other = architecture_svg(post)
    assert "shortcut" not in other and "skip:" not in other
    assert "up:deconv → conv3×3 → BN → ReLU" in other and "IN" in other


def test_chart_marks_resets_and_leaves_gaps_for_failures():
    chart = Chart("r", "iteration", "IS", [Series("mean", [(0, 1.0), (1, None), (2, 2.0), (3, 2.5)])],
                  [Marker(2, "reset", "reset"), Marker(1, "stage", "stage 2")])
    svg = chart_svg(chart)
    assert svg.startswith("<svg") and svg.count('id="reset-0"') == 1 and 'id="reset-1"' not in svg
    assert 'id="stage-0"' in svg
    # Split at the failed value: two segments, not a line across the gap.
    assert 'id="series-0-0"' in svg and 'id="series-0-1"' in svg and 'id="series-0-2"' not in svg
    assert "no finite values yet" in chart_svg(Chart("empty", "x", "y", [Series("mean", [(0, None)])]))
    assert chart_svg(chart) == svg  # deterministic, so a rewritten report does not churn


def test_skip_paths_and_labels_never_share_a_place():
    import re

    arch = Architecture.parse("post,bn,nearest,sc | pre,bn,bilinear,sc,skip=1 | pre,in,deconv,nosc,skip=1+2")
    svg = architecture_svg(arch)
    paths = re.findall(r'<path d="M([^"]+)" fill="none" stroke="#c53030"', svg)
    assert len(paths) == 3
    verticals = [tuple(point.split(",")[0] for point in path.split(" L")[1:3]) for path in paths]
    assert len({v[0] for v in verticals}) == 3  # each skip leaves down its own line
    labels = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*>skip: ', svg)
    assert len({y for _, y in labels}) == 3 and all(float(x) < 100 for x, _ in labels)


def test_a_run_nothing_writes_is_stopped_not_running(capsys, partial_run):
    code, out, _ = run_cli(capsys, "inspect", partial_run, "--json")
    status = json.loads(out)["status"]
    assert code == 0 and status.startswith("stopped at stage 3") and f"--resume {partial_run}" in status
