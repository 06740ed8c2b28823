"""The search's answer: architectures ranked by reward, and the candidates of the final re-scoring."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_spaces import Architecture


@dataclass(frozen=True)
class RankedArchitecture:
    rank: int
    arch: Architecture
    mean_reward: float
    std_reward: float
    evaluations: int
    stage: int
    #: "final": re-scored on the final supernet with several seeds (the search's answer);
    #: "during-run": the mean of rewards taken at different iterations (provisional).
    basis: str = "during-run"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "arch": str(self.arch),
            "autogan_vector": autogan_vector(self.arch),
            "mean_reward": self.mean_reward,
            "std_reward": self.std_reward,
            "evaluations": self.evaluations,
            "stage": self.stage,
            "basis": self.basis,
        }


def autogan_vector(arch: Architecture) -> list[int] | None:
    """The published 14-int form, or None where the architecture has no such form."""
    try:
        return list(arch.to_autogan_vector())
    except ValueError:
        return None


def rank_architectures(evaluations: list[dict[str, Any]], num_cells: int) -> list[RankedArchitecture]:
    """Full architectures by mean reward over their valid evaluations (failed ones excluded).

    Once the final re-scoring has rows, only they count: every one of them was scored
    on the same final supernet, whereas rewards taken during the run rose with the
    supernet and mostly say when an architecture was scored.
    """
    final = [row for row in evaluations if row.get("kind") == "rescore"]
    basis = "final" if final else "during-run"
    rewards: dict[str, list[float]] = {}
    stages: dict[str, int] = {}
    for row in final or evaluations:
        arch = Architecture.parse(row["arch"])
        reward = row.get("reward")
        if len(arch.cells) != num_cells or reward is None or not math.isfinite(reward):
            continue
        rewards.setdefault(row["arch"], []).append(float(reward))
        stages.setdefault(row["arch"], int(row["stage"]))
    ordered = sorted(rewards.items(), key=lambda kv: (-float(np.mean(kv[1])), kv[0]))
    return [
        RankedArchitecture(
            rank=rank,
            arch=Architecture.parse(text),
            mean_reward=float(np.mean(values)),
            std_reward=float(np.std(values)),
            evaluations=len(values),
            stage=stages[text],
            basis=basis,
        )
        for rank, (text, values) in enumerate(ordered, start=1)
    ]


def rescore_candidates(
    beam: list[Architecture], evaluations: list[dict[str, Any]], num_cells: int, count: int
) -> list[Architecture]:
    """The final beam, then the run's best by during-run reward, distinct, ``count`` at least."""
    # A resumed re-scoring has some of its own rows already: they must not change the choice.
    during_run = [row for row in evaluations if row.get("kind") != "rescore"]
    chosen: list[Architecture] = []
    for arch in beam + [r.arch for r in rank_architectures(during_run, num_cells)]:
        if len(chosen) >= max(count, len(beam)):
            break
        if arch not in chosen:
            chosen.append(arch)
    return chosen
