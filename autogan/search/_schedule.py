"""AutoGAN's multi-level schedule: where a run stands and what comes next.

Per stage, ``stage_iterations[stage - 1]`` policy iterations, then the stage's beam;
after the last stage, the final re-scoring; then the run is done.  Where the run stands
is a plain dict (stage, iteration, phase, global_iteration), saved as it is in the
checkpoint and in ``state.json``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Sequence

#: The phases of a stage in run order; also the kinds of evaluation rows.
PHASE_ORDER = {"policy": 0, "beam": 1, "rescore": 2}


class Phase(str, enum.Enum):
    """What the run does next at its position; saved as its string value."""

    POLICY = "policy"  # a policy iteration: train the supernet, score proposals, update the controller
    BEAM = "beam"  # the stage's end: score M candidates, keep the best K prefixes
    RESCORE = "rescore"  # after the last stage: re-score the final candidates on the final supernet
    DONE = "done"


@dataclass(frozen=True)
class Position:
    """Where a run stands, read from the saved dict; the loop reads it, the schedule moves it."""

    stage: int
    iteration: int
    phase: Phase
    global_iteration: int

    @classmethod
    def of(cls, progress: dict[str, Any]) -> Position:
        return cls(int(progress["stage"]), int(progress["iteration"]), Phase(progress["phase"]),
                   int(progress["global_iteration"]))

    @property
    def weights_version(self) -> int:
        """The version under which the evaluators cache the supernet weights scored here.

        A policy iteration's weights are its global iteration's.  A stage's beam and the final
        re-scoring take the weights after the stage's last iteration, under a global iteration
        that the next stage's first iteration (trained further) also has: their versions are
        offset into ranges of their own, so no evaluator scores one snapshot as another.
        """
        return self.global_iteration + _WEIGHTS_OFFSET[self.phase]


_WEIGHTS_OFFSET = {Phase.POLICY: 0, Phase.BEAM: 10**6, Phase.RESCORE: 2 * 10**6}


def start_of_run() -> dict[str, Any]:
    return {"stage": 1, "iteration": 0, "phase": "policy", "global_iteration": 0}


class Schedule:
    def __init__(self, stage_iterations: Sequence[int], num_cells: int):
        self.stage_iterations = list(stage_iterations)
        self.num_cells = num_cells

    @property
    def total_iterations(self) -> int:
        return sum(self.stage_iterations)

    def has_next_iteration(self, stage: int, iteration: int) -> bool:
        """Whether the stage goes on with another policy iteration after ``iteration``."""
        return iteration + 1 < self.stage_iterations[stage - 1]

    def finish_iteration(self, progress: dict[str, Any]) -> None:
        """On to the next iteration, or to the stage's beam after its last one."""
        stage, iteration = progress["stage"], progress["iteration"]
        progress.update(
            iteration=iteration + 1,
            phase="policy" if self.has_next_iteration(stage, iteration) else "beam",
            global_iteration=progress["global_iteration"] + 1,
        )

    def finish_stage(self, progress: dict[str, Any]) -> None:
        """On to the next stage, or to the final re-scoring after the last one."""
        stage = progress["stage"]
        if stage < self.num_cells:
            progress.update(stage=stage + 1, iteration=0, phase="policy")
        else:
            progress.update(phase="rescore")

    @staticmethod
    def finish_run(progress: dict[str, Any]) -> None:
        progress.update(phase="done")

    @staticmethod
    def prefix(stage: int, beam: Any) -> Any:
        """Stage 1 decides every cell; later stages draw their prefix from the beam."""
        return beam if stage > 1 else None
