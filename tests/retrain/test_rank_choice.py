"""Retraining takes an architecture, not a rank that moves: directories are named by the cell."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from search_spaces import AUTOGAN_TOP1, Architecture

from cli_contract import assert_one_line_error
from autogan.cli import main
from autogan.naming import architecture_slug
from autogan.search import RunDirectory
from retrain_helpers import TINY


def _one_error(code: int, capsys) -> str:
    return assert_one_line_error(code, capsys.readouterr().err, "retrain")


def test_rank_of_a_running_search_is_refused_and_names_the_architecture(capsys, run_dir, tmp_path):
    running = tmp_path / "running"
    shutil.copytree(run_dir, running)
    RunDirectory.open(running).write_state({"stage": 3, "iteration": 0, "phase": "policy", "global_iteration": 2,
                                         "beam": [], "controller": "rnn"})
    line = _one_error(main(["retrain", str(running), *TINY, "train.g_steps=10", "--rank", "1"]), capsys)
    assert "no final ranking yet" in line and f"--arch '{AUTOGAN_TOP1}'" in line
    assert not (running / "retrain").exists()


def test_default_directory_is_named_by_the_architecture(capsys, run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    assert main(["retrain", str(run), *TINY, "train.g_steps=4", "eval.every=1000", "eval.at_start=false", "eval.samples=100",
                 "--rank", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["out_dir"]
    vector = "".join(map(str, AUTOGAN_TOP1.to_autogan_vector()))
    assert Path(out) == run / "retrain" / f"arch-{vector}"
    # The same architecture given directly lands in the same place: a second start is told to resume it.
    code = main(["retrain", "--arch", str(AUTOGAN_TOP1), "--out", out, *["--set=" + t for t in TINY]])
    assert f"--resume {out}" in _one_error(code, capsys)


def test_directory_names_are_distinct_and_stable_outside_the_published_space():
    four_cells = Architecture.parse(" | ".join([str(AUTOGAN_TOP1), "post,bn,nearest,sc,skip=1+2+3"]))
    name = architecture_slug(four_cells)
    assert name.startswith("arch-") and name == architecture_slug(Architecture.parse(str(four_cells)))
    assert name != architecture_slug(AUTOGAN_TOP1)
