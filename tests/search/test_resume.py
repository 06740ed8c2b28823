"""Where a row or checkpoint stands in a run, and what a resume keeps, drops and reuses."""

from __future__ import annotations

import pytest

from autogan.config import load_config
from autogan.search import RunDirectory
from autogan.search._resume import (
    NOTHING_COMMITTED,
    drop_evaluation,
    drop_uncommitted_iterations,
    position,
    reusable_evaluations,
    row_key,
    row_position,
)

ARCH = "pre,none,nearest,sc"


def _evaluation(stage, iteration, kind, index, arch=ARCH):
    return {"stage": stage, "iteration": iteration, "kind": kind, "index": index, "arch": arch, "reward": 1.5 + index}


def _iteration(stage, iteration, phase):
    row = {"stage": stage, "iteration": iteration, "phase": phase, "global_iteration": 2 * (stage - 1) + iteration}
    if phase == "beam":
        row["beam"] = [{"arch": ARCH, "score": 2.0}]
    else:
        row.update(d_steps=6, loss_d=1.0, loss_g=0.5, collapsed=False, reset=False, reward_mean=2.0, reward_max=2.5,
                   failed_rewards=0, entropy=9.0, baseline=1.0, policy_loss=0.1)
    return row


@pytest.fixture
def record(tmp_path) -> RunDirectory:
    return RunDirectory.create(tmp_path / "run", load_config("digits", ["run.backend='inprocess'"]))


def test_positions_follow_the_run_order():
    # Two stages of two iterations: policy, policy, beam per stage, then the re-scoring, then done.
    run_order = [
        {"stage": 1, "iteration": 0, "phase": "policy"},
        {"stage": 1, "iteration": 1, "phase": "policy"},
        {"stage": 1, "iteration": 2, "phase": "beam"},
        {"stage": 2, "iteration": 0, "phase": "policy"},
        {"stage": 2, "iteration": 2, "phase": "beam"},
        {"stage": 2, "iteration": 2, "phase": "rescore"},
        {"stage": 2, "iteration": 2, "phase": "done"},
    ]
    positions = [position(p) for p in run_order]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert position({"stage": 1, "iteration": 1}) == position({"stage": 1, "iteration": 1, "phase": "policy"})
    assert NOTHING_COMMITTED < position(run_order[0])
    # An evaluation row stands where the phase that scored it does.
    for kind in ("policy", "beam", "rescore"):
        assert row_position(_evaluation(2, 2, kind, 5)) == position({"stage": 2, "iteration": 2, "phase": kind})
    assert row_key(_evaluation(2, 1, "beam", 3)) == (2, 1, "beam", 3)


def test_only_the_rows_at_or_after_the_checkpoint_are_reusable(record):
    rows = [_evaluation(1, 0, "policy", 0), _evaluation(1, 1, "policy", 0), _evaluation(1, 1, "policy", 1),
            _evaluation(1, 2, "beam", 0)]
    for row in rows:
        record.append_evaluation(row)
    reusable = reusable_evaluations(record, position({"stage": 1, "iteration": 1, "phase": "policy"}))
    assert reusable == {row_key(r): r for r in rows[1:]}
    assert reusable_evaluations(record, NOTHING_COMMITTED) == {row_key(r): r for r in rows}
    assert reusable_evaluations(record, position({"phase": "done"})) == {}


def test_uncommitted_iteration_rows_are_dropped_and_the_rest_kept_in_order(record):
    rows = [_iteration(1, 0, "policy"), _iteration(1, 1, "policy"), _iteration(1, 2, "beam"), _iteration(2, 0, "policy")]
    for row in rows:
        record.append_iteration(row)
    drop_uncommitted_iterations(record, position({"stage": 1, "iteration": 2, "phase": "beam"}))
    assert record.iterations() == rows[:2]
    drop_uncommitted_iterations(record, position({"phase": "done"}))  # a finished run keeps everything
    assert record.iterations() == rows[:2]
    drop_uncommitted_iterations(record, NOTHING_COMMITTED)
    assert record.iterations() == []


def test_a_finished_runs_rows_are_all_committed(record):
    rows = [_iteration(1, 0, "policy"), _iteration(1, 1, "beam")]
    for row in rows:
        record.append_iteration(row)
    drop_uncommitted_iterations(record, position({"stage": 1, "iteration": 1, "phase": "done"}))
    assert record.iterations() == rows


def test_dropping_an_evaluation_removes_that_key_alone(record):
    rows = [_evaluation(1, 0, "policy", 0), _evaluation(1, 0, "policy", 1), _evaluation(1, 0, "beam", 1),
            _evaluation(2, 0, "policy", 1)]
    for row in rows:
        record.append_evaluation(row)
    drop_evaluation(record, (1, 0, "policy", 1))
    assert record.evaluations() == [rows[0], rows[2], rows[3]]
