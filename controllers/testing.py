"""A synthetic reward for controllers: no GAN, runs in seconds.

Shared by ``tests/controllers`` and ``bench/controller_quality.py`` so that the test's
budget and the benchmark's numbers describe the same problem (like ``optuna.testing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controllers._base import Controller
from search_spaces import Architecture, SearchSpace


def match_fraction(space: SearchSpace, arch: Architecture, target: Architecture) -> float:
    """Fraction of ``arch``'s decisions equal to ``target``'s.

    Only ``arch``'s cells count, so a stage-``s`` proposal is scored on cells ``1..s``:
    the per-cell partial reward of multi-level search.
    """
    got = space.encode(arch)
    want = space.encode(target)[: len(got)]
    return sum(a == b for a, b in zip(got, want)) / len(got)


@dataclass
class SyntheticRun:
    """Rewards seen while a controller searched for ``target``, one list per update."""

    batches: list[list[float]] = field(default_factory=list)

    @property
    def evaluations(self) -> int:
        return sum(len(batch) for batch in self.batches)

    @property
    def best(self) -> float:
        return max(max(batch) for batch in self.batches)

    def final(self, window: int = 5) -> float:
        """Mean reward over the last ``window`` updates: what the policy now proposes."""
        tail = [r for batch in self.batches[-window:] for r in batch]
        return sum(tail) / len(tail)


def run_synthetic(
    controller: Controller, target: Architecture, *, updates: int, batch_size: int, prefix: Any = None
) -> SyntheticRun:
    """``updates`` rounds of sample(batch_size) -> match_fraction -> update, at the current stage."""
    run = SyntheticRun()
    for _ in range(updates):
        proposals = controller.sample(batch_size, prefix=prefix)
        rewards = [match_fraction(controller.space, p.arch, target) for p in proposals]
        controller.update(proposals, rewards)
        run.batches.append(rewards)
    return run
