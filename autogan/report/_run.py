"""Reading a run directory and ranking what it has scored so far.

A running search keeps appending to the record; a line that the search is in
the middle of writing is skipped.  A damaged line elsewhere is skipped too, and
named in ``RunSummary.notes``: every good row is still shown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autogan.errors import DamagedRecordError, UserError
from autogan.files import DirectoryLock
from autogan.search import RankedArchitecture, RunDirectory, rank_architectures

_SAMPLE_NAME = re.compile(r"^stage(\d+)_iter(\d+)\.png$")


@dataclass
class RunSummary:
    """What a run directory holds right now (the search may still be writing it)."""

    path: Path
    config: Any
    evaluations: list[dict[str, Any]]
    iterations: list[dict[str, Any]]
    state: dict[str, Any] | None
    latest_grid: Path | None = None
    notes: list[str] = field(default_factory=list)  # what the reader had to skip or could not find
    has_checkpoint: bool = False
    state_damaged: bool = False
    writer_pid: int | None = None  # the live `autogan search` process writing the run, if any

    @property
    def num_cells(self) -> int:
        return self.config.search.num_cells

    @property
    def policy_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.iterations if r.get("phase") == "policy"]

    @property
    def resets(self) -> list[int]:
        """Global iterations that ended in a dynamic reset."""
        return [int(r["global_iteration"]) for r in self.policy_rows if r.get("reset")]

    @property
    def state_missing(self) -> bool:
        """The search has checkpointed (so it wrote state.json), yet there is none."""
        return self.state is None and (self.has_checkpoint or bool(self.evaluations) or bool(self.iterations))

    @property
    def status(self) -> str:
        if self.state_damaged:
            return "unknown: state.json is damaged"
        if self.state_missing:
            return "unknown: state.json is missing"
        if self.state is None:
            return "started, no iteration finished yet"
        if self.state.get("phase") == "done":
            return "done"
        where = f"stage {self.state.get('stage')}, iteration {self.state.get('iteration')}, phase {self.state.get('phase')}"
        if self.writer_pid is not None:
            pid = "" if self.writer_pid < 0 else f" (pid {self.writer_pid})"
            return f"running{pid}: {where}"
        return f"stopped at {where}; nothing is writing it (`autogan search --resume {self.path}` continues it)"

    @property
    def workers(self) -> str | None:
        """Where the run's workers run, as its last start recorded it; None before they started (or older runs)."""
        from autogan.device import describe_workers

        workers = (self.state or {}).get("workers")
        if not isinstance(workers, list) or not all(isinstance(w, dict) for w in workers):
            return None
        return describe_workers(workers)

    @property
    def live(self) -> bool:
        return self.writer_pid is not None

    @property
    def budget(self) -> dict[str, Any] | None:
        """The run's size budget or soft size term (``autogan.search.budget_summary``); None without either."""
        from search_spaces import SearchSpace

        from autogan.search import budget_summary

        return budget_summary(self.config, SearchSpace(num_cells=self.num_cells))


def load_run(path: Path | str) -> RunSummary:
    """Read a run directory; a missing or foreign directory is a ``MissingFileError``.

    Damaged lines of the record are skipped and described in ``notes``.
    """
    record = RunDirectory.open(path)
    evaluations, damaged_evaluations = record.read_evaluations()
    iterations, damaged_iterations = record.read_iterations()
    notes = [f"{damage}; skipped, every other row is shown" for damage in (*damaged_evaluations, *damaged_iterations)]
    try:
        state = record.read_state()
        state_damaged = False
    except DamagedRecordError as exc:
        # The state only says where the search stands; the rows it summarises are still worth showing.
        state, state_damaged = None, True
        notes.append(str(exc))
    summary = RunSummary(
        path=record.path,
        config=record.config(),
        evaluations=evaluations,
        iterations=iterations,
        state=state,
        latest_grid=latest_sample_grid(record.samples_dir),
        has_checkpoint=record.checkpoint_path.is_file(),
        notes=notes,
        state_damaged=state_damaged,
        writer_pid=DirectoryLock.holder(record.path),
    )
    if summary.state_missing and not state_damaged:
        summary.notes.append(
            f"{record.state_path}: missing, so where the search stands is unknown; the rows below are read from "
            f"the record; `autogan search --resume {record.path}` writes it again from the checkpoint"
        )
    return summary


def latest_sample_grid(samples_dir: Path) -> Path | None:
    """The grid of the latest iteration, ordered by (stage, iteration) numerically, not by name."""
    best: tuple[tuple[int, int], Path] | None = None
    if not samples_dir.is_dir():
        return None
    for candidate in samples_dir.glob("*.png"):
        match = _SAMPLE_NAME.match(candidate.name)
        if not match:
            continue
        key = (int(match.group(1)), int(match.group(2)))
        if best is None or key > best[0]:
            best = (key, candidate)
    return best[1] if best else None


def rank(summary: RunSummary, *, stage: int | None = None) -> tuple[list[RankedArchitecture], str]:
    """Ranked architectures and a phrase saying what was ranked.

    Without ``stage``: full architectures.  While the search has not reached
    its last stage there are none yet, so the deepest stage's prefixes are
    ranked instead, and the phrase says so.  With ``stage``: the ``stage``-cell
    architectures scored during that stage.
    """
    num_cells = summary.num_cells
    if stage is not None:
        if not 1 <= stage <= num_cells:
            raise UserError(f"--stage {stage}: this run has stages 1..{num_cells}; pass one of them")
        rows = [r for r in summary.evaluations if int(r["stage"]) == stage]
        return rank_architectures(rows, stage), f"{stage}-cell architectures scored in stage {stage}"
    ranking = rank_architectures(summary.evaluations, num_cells)
    if ranking or not summary.evaluations:
        return ranking, f"full {num_cells}-cell architectures"
    deepest = max(int(r["stage"]) for r in summary.evaluations)
    rows = [r for r in summary.evaluations if int(r["stage"]) == deepest]
    return (
        rank_architectures(rows, deepest),
        f"{deepest}-cell prefixes (the search has not reached stage {num_cells} yet)",
    )


def finite_or_none(value: Any) -> float | None:
    """A record value as a float, or ``None`` where it is missing, not a number, or not finite."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
