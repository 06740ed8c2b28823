"""Resuming from the record: what was recorded after the last checkpoint is reused or redone.

A resumed run restarts the iteration after the last checkpoint.  Evaluations recorded
after it are reused when the redone work asks for the same architecture under the same
key, so no reward is lost or counted twice; iteration rows after it are dropped, since
the redone iteration records them again.
"""

from __future__ import annotations

from typing import Any

from autogan.log import logger
from autogan.search._run_directory import RunDirectory

from autogan.search._schedule import PHASE_ORDER

#: A run that crashed before its first checkpoint has committed nothing.
NOTHING_COMMITTED: tuple = (0, -1, 0)


def position(progress: dict[str, Any]) -> tuple:
    """Where a row or a checkpoint stands in the run, in run order."""
    phase = progress.get("phase", "policy")
    if phase == "done":
        return (10**9, 0, 0)
    return (int(progress["stage"]), int(progress["iteration"]), PHASE_ORDER.get(phase, 0))


def row_position(row: dict[str, Any]) -> tuple:
    return (int(row["stage"]), int(row["iteration"]), PHASE_ORDER[row["kind"]])


def row_key(row: dict[str, Any]) -> tuple:
    return (int(row["stage"]), int(row["iteration"]), row["kind"], int(row["index"]))


def reusable_evaluations(record: RunDirectory, committed_upto: tuple) -> dict[tuple, dict[str, Any]]:
    """The evaluations recorded after the checkpoint, by key, for the redone work to reuse."""
    evaluations = record.evaluations()
    reusable = {row_key(r): r for r in evaluations if row_position(r) >= committed_upto}
    if reusable:
        logger.info("resume: %d evaluations recorded after the last checkpoint will be reused", len(reusable))
    return reusable


def drop_uncommitted_iterations(record: RunDirectory, committed_upto: tuple) -> None:
    iterations = record.iterations()
    kept = [r for r in iterations if position(r) < committed_upto]
    if len(kept) != len(iterations):
        record.rewrite_iterations(kept)


def drop_evaluation(record: RunDirectory, key: tuple) -> None:
    """Remove the evaluation recorded under ``key``: the redone work scored another architecture there."""
    rows = [r for r in record.evaluations() if row_key(r) != key]
    record.rewrite_evaluations(rows)
