"""The ranking `autogan search` prints at its end shows each architecture's size at the retrain width."""

from __future__ import annotations

import json

import autogan.search
from search_spaces import AUTOGAN_TOP1, Architecture

from autogan.cli import main
from autogan.nn import generator_cost
from autogan.report import load_run, rank


def _finished_search(monkeypatch, run_dir):
    """`autogan search --resume` on a finished run, with the search itself replaced by its ranking."""
    monkeypatch.setattr(autogan.search, "run_search", lambda config, path, **_: rank(load_run(path))[0])


def test_text_ranking_has_params_and_gmacs_and_names_the_width(capsys, monkeypatch, synthetic_run):
    _finished_search(monkeypatch, synthetic_run)
    assert main(["search", "--resume", str(synthetic_run)]) == 0
    out = capsys.readouterr().out
    assert "size per image at the retrain width of preset 'digits' (ch 32, latent 64)" in out
    cost = generator_cost(AUTOGAN_TOP1, 32, 64, 4, 1)
    (first,) = [line for line in out.splitlines() if line.startswith("   1. reward")]
    assert f"{cost.params / 1e3:.1f}k params, {cost.macs / 1e9:.3f} GMACs" in first and str(AUTOGAN_TOP1) in first


def test_json_ranking_has_each_size(capsys, monkeypatch, synthetic_run):
    _finished_search(monkeypatch, synthetic_run)
    assert main(["search", "--resume", str(synthetic_run), "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["top"]
    assert len(top) == 5
    for row in top:
        cost = generator_cost(Architecture.parse(row["arch"]), 32, 64, 4, 1)
        assert (row["size"]["params"], row["size"]["macs"], row["size"]["ch"]) == (cost.params, cost.macs, 32)
