"""Did the policy learn?  Per stage, the entropy and mean reward of its first and last iteration.

A controller that learns concentrates its proposals (entropy falls) on architectures
that score higher (mean reward rises).  Both are read from ``iterations.jsonl`` rows,
so a finished run, a running one and a report all say the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class StageLearning:
    stage: int
    iterations: int
    entropy_first: float | None
    entropy_last: float | None
    reward_first: float | None
    reward_last: float | None

    @property
    def entropy_drop(self) -> float | None:
        """The fraction by which the entropy fell (0.1 = 10% lower at the end)."""
        if self.entropy_first is None or self.entropy_last is None or self.entropy_first <= 0:
            return None
        return 1.0 - self.entropy_last / self.entropy_first

    @property
    def reward_rise(self) -> float | None:
        if self.reward_first is None or self.reward_last is None:
            return None
        return self.reward_last - self.reward_first

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "entropy_drop": self.entropy_drop, "reward_rise": self.reward_rise}

    def describe(self) -> str:
        """One line, e.g. ``stage 2 (5 iterations): entropy 4.27 -> 3.61 (-15%), mean reward 2.10 -> 2.52 (+0.42)``."""
        entropy = (
            f"entropy {self.entropy_first:.2f} -> {self.entropy_last:.2f} ({-100 * self.entropy_drop:+.0f}%)"
            if self.entropy_drop is not None
            else "entropy n/a (this controller has no policy entropy)"
        )
        reward = (
            f"mean reward {self.reward_first:.2f} -> {self.reward_last:.2f} ({self.reward_rise:+.2f})"
            if self.reward_rise is not None
            else "mean reward n/a"
        )
        plural = "s" if self.iterations != 1 else ""
        return f"stage {self.stage} ({self.iterations} iteration{plural}): {entropy}, {reward}"


def stage_learning(iterations: Iterable[dict[str, Any]]) -> list[StageLearning]:
    """One entry per stage that has policy iterations, from ``iterations.jsonl`` rows."""
    by_stage: dict[int, list[dict[str, Any]]] = {}
    for row in iterations:
        if row.get("phase") == "policy":
            by_stage.setdefault(int(row["stage"]), []).append(row)
    summary = []
    for stage in sorted(by_stage):
        rows = sorted(by_stage[stage], key=lambda r: int(r["iteration"]))
        first, last = rows[0], rows[-1]
        summary.append(
            StageLearning(
                stage=stage,
                iterations=len(rows),
                entropy_first=first.get("entropy"),
                entropy_last=last.get("entropy"),
                reward_first=first.get("reward_mean"),
                reward_last=last.get("reward_mean"),
            )
        )
    return summary
