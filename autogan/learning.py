"""Did the policy learn?  Per stage, the entropy and mean reward of its first and last iteration.

A controller that learns concentrates its proposals (entropy falls) on architectures
that score higher (mean reward rises).  Both are read from ``iterations.jsonl`` rows,
so a finished run, a running one and a report all say the same.

Each stage gets a verdict (``StageLearning.verdict``), by this rule:

- ``learned``: the entropy fell by at least 10% and the mean reward rose by more than its noise;
- ``flat``: the entropy fell by at least 10% but the mean reward did not rise by more than its
  noise (the policy concentrated without finding better architectures);
- ``exploring``: the entropy fell by less than 10% (the policy is still spread out);
- ``n/a``: fewer than two iterations, or no entropy (a random controller) or no mean reward.

The noise is two standard errors of the difference of the two means, from the rewards of the
first and the last iteration's proposals (``evaluations.jsonl``): about a 95% band for a rise
that sampling alone would give.  Without those rewards the noise is unknown and any rise counts.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Iterable

ENTROPY_DROP_LEARNED = 0.10  # the fraction by which entropy must fall for a stage to have concentrated
NOISE_STANDARD_ERRORS = 2.0  # a rise must exceed this many standard errors of the difference


@dataclass(frozen=True)
class StageLearning:
    stage: int
    iterations: int
    entropy_first: float | None
    entropy_last: float | None
    reward_first: float | None
    reward_last: float | None
    reward_noise: float | None = None  # NOISE_STANDARD_ERRORS standard errors of reward_last - reward_first

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

    @property
    def verdict(self) -> str:
        """``learned``, ``flat``, ``exploring`` or ``n/a``, by the rule in this module's docstring."""
        drop, rise = self.entropy_drop, self.reward_rise
        if self.iterations < 2 or drop is None or rise is None:
            return "n/a"
        if drop < ENTROPY_DROP_LEARNED:
            return "exploring"
        return "learned" if rise > (self.reward_noise or 0.0) else "flat"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "entropy_drop": self.entropy_drop, "reward_rise": self.reward_rise,
                "verdict": self.verdict}

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
        if self.reward_rise is not None and self.reward_noise is not None:
            reward += f", noise ±{self.reward_noise:.2f}"
        plural = "s" if self.iterations != 1 else ""
        return f"stage {self.stage} ({self.iterations} iteration{plural}): {entropy}, {reward}: {self.verdict}"


def stage_learning(
    iterations: Iterable[dict[str, Any]], evaluations: Iterable[dict[str, Any]] | None = None
) -> list[StageLearning]:
    """One entry per stage that has policy iterations, from ``iterations.jsonl`` rows.

    With ``evaluations`` (``evaluations.jsonl`` rows), each stage's reward noise is measured too.
    """
    rewards: dict[tuple[int, int], list[float]] = {}
    for row in evaluations or ():
        reward = row.get("reward")
        if row.get("kind") == "policy" and isinstance(reward, (int, float)) and math.isfinite(reward):
            rewards.setdefault((int(row["stage"]), int(row["iteration"])), []).append(float(reward))
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
                reward_noise=_noise(rewards.get((stage, int(first["iteration"]))), rewards.get((stage, int(last["iteration"])))),
            )
        )
    return summary


def _noise(first: list[float] | None, last: list[float] | None) -> float | None:
    """``NOISE_STANDARD_ERRORS`` standard errors of the difference of two iterations' mean rewards."""
    if not first or not last or len(first) < 2 or len(last) < 2:
        return None
    variance = statistics.variance(first) / len(first) + statistics.variance(last) / len(last)
    return NOISE_STANDARD_ERRORS * math.sqrt(variance)
