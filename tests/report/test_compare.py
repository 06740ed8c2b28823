"""`autogan compare`: runs side by side, with retrained FIDs where they exist, as a table, CSV, JSON and HTML."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_contract import assert_one_line_error

from search_spaces import AUTOGAN_TOP1, Architecture

from autogan.compare import best_so_far, compare_runs, render_html, to_csv
from autogan.search import RunDirectory

ROOT = Path(__file__).resolve().parents[2]


def _run_as(make_synthetic_run, path: Path, controller: str, seed: int) -> Path:
    make_synthetic_run(path, seed=seed)
    config = path / "config.toml"
    config.write_text(config.read_text().replace('controller = "rnn"', f'controller = "{controller}"')
                      .replace("seed = 0", f"seed = {seed}"))
    return path


def _retrain_dir(run: Path, name: str, arch, rows: list[dict], g_steps: int = 600) -> Path:
    out = run / "retrain" / name
    out.mkdir(parents=True)
    (out / "arch.json").write_text(json.dumps({**arch.to_dict(), "source": "test"}))
    (out / "config.toml").write_text(f"[train]\ng_steps = {g_steps}\n")
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out


def _evaluation(g_step: int, fid: float, weights: str = "ema") -> dict:
    return {"g_step": g_step, "weights": weights, "is_mean": 7.0 + g_step / 1000, "is_std": 0.1, "fid": fid,
            "samples": 2000, "seconds": 1.0}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, make_synthetic_run) -> list[Path]:
    root = tmp_path_factory.mktemp("compare")
    return [_run_as(make_synthetic_run, root / name, name, seed) for seed, name in enumerate(["rnn", "random", "tpe"])]


def test_best_so_far_counts_full_architectures_only_and_never_falls():
    rows = [
        {"stage": 1, "kind": "policy", "reward": 9.0},  # a prefix's reward is on another scale
        {"stage": 2, "kind": "policy", "reward": 2.0},
        {"stage": 2, "kind": "policy", "reward": None},
        {"stage": 2, "kind": "beam", "reward": 3.0},
        {"stage": 2, "kind": "policy", "reward": 1.0},
        {"stage": 2, "kind": "rescore", "reward": 50.0},  # re-scoring is not searching
        {"stage": 2, "kind": "policy", "reward": float("nan")},
    ]
    assert best_so_far(rows, num_cells=2) == [None, 2.0, 2.0, 3.0, 3.0, 3.0]


def test_rows_name_controller_seed_and_what_each_search_found(runs):
    rows = compare_runs(runs)
    assert [(r.controller, r.seed) for r in rows] == [("rnn", 0), ("random", 1), ("tpe", 2)]
    for row, path in zip(rows, runs):
        record = RunDirectory.open(path)
        evaluations = [e for e in record.evaluations() if e["kind"] != "rescore"]
        full = [e["reward"] for e in evaluations if e["stage"] == 3 and e["reward"] is not None]
        assert row.evaluations == len(evaluations) == row.best_so_far_first_evaluation - 1 + len(row.best_so_far)
        assert row.best_reward == max(full)
        assert row.top1 == str(AUTOGAN_TOP1) and row.status == "done"
        assert len(row.entropy_drop_per_stage) == 3 and all(d > 0 for d in row.entropy_drop_per_stage)
        assert row.retrained_fid is None


def test_retrained_fid_is_the_newest_ema_score_of_the_top1(make_synthetic_run, tmp_path):
    run = _run_as(make_synthetic_run, tmp_path / "run", "rnn", 0)
    other = Architecture.from_autogan_vector([0] * 14)
    assert other != AUTOGAN_TOP1
    _retrain_dir(run, "other", other, [_evaluation(600, 1.0)])  # another architecture: not the top-1's
    _retrain_dir(run, "top1", AUTOGAN_TOP1, [_evaluation(200, 30.0), _evaluation(400, 20.0), _evaluation(400, 5.0, "raw")])
    (row,) = compare_runs([run])
    assert (row.retrained_fid, row.retrained_g_step, row.retrained_g_steps) == (20.0, 400, 600)
    assert "(G step 400 of 600)" in render_html([row])  # a retraining still running says so


def test_csv_round_trips_every_column(runs):
    rows = compare_runs(runs)
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [p["controller"] for p in parsed] == ["rnn", "random", "tpe"]
    for p, row in zip(parsed, rows):
        assert float(p["best_reward"]) == row.best_reward and p["top1"] == row.top1
        drops = [float(p[f"entropy_drop_stage{s}"]) for s in (1, 2, 3)]
        assert drops == pytest.approx(row.entropy_drop_per_stage)
        assert p["retrained_fid"] == ""


def test_cli_writes_csv_html_and_json(runs, tmp_path):
    page, table = tmp_path / "compare.html", tmp_path / "compare.csv"
    done = subprocess.run([sys.executable, "-m", "autogan.cli", "compare", *map(str, runs), "--html", str(page),
                           "--csv", str(table), "--json"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [r["controller"] for r in payload] == ["rnn", "random", "tpe"]
    assert all(r["best_so_far_first_evaluation"] - 1 + len(r["best_so_far"]) == r["evaluations"] for r in payload)
    html = page.read_text()
    # Two charts: best reward so far, and quality against size.
    assert html.count("<svg") == 2 and all(f"({name}, seed {seed})" in html for seed, name in enumerate(["rnn", "random", "tpe"]))
    assert html == render_html(compare_runs(runs))  # deterministic: a rewrite with the same data is identical
    assert table.read_text() == to_csv(compare_runs(runs))


def test_cli_names_a_directory_that_is_not_a_run(runs, tmp_path):
    done = subprocess.run([sys.executable, "-m", "autogan.cli", "compare", str(runs[0]), str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    line = assert_one_line_error(done.returncode, done.stderr, "compare", out=done.stdout)
    assert str(tmp_path) in line
