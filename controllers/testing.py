"""Test doubles for controllers: a controller that proposes given architectures, and a synthetic
reward (no GAN, runs in seconds).

Kept out of ``controllers.__all__``, as ``optuna.testing`` is out of Optuna's.  The synthetic
reward is shared by ``tests/controllers`` and ``bench/controller_quality.py`` so that the test's
budget and the benchmark's numbers describe the same problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from controllers._base import Controller, Proposal, UpdateStats, passive_stats, split_rewards
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


@dataclass(frozen=True)
class NoisyReward:
    """An Inception-Score-like reward: ``low + span * match_fraction + N(0, noise)``.

    The defaults mimic what the supernet's IS does in a search: a range of about 2
    between the worst and the best architecture, and a scoring noise of about 0.3 (the
    std of one architecture's IS across reward seeds).  Its own numpy stream keeps it
    independent of the controller's randomness.
    """

    target: Architecture
    low: float = 1.5
    span: float = 2.0
    noise: float = 0.3

    def __call__(self, space: SearchSpace, arch: Architecture, rng: Any) -> float:
        return self.low + self.span * match_fraction(space, arch, self.target) + float(rng.normal(0.0, self.noise))


@dataclass
class ScheduleRun:
    """What a controller did over a whole multi-level schedule.

    ``final_match`` is the mean matched-decision fraction (over all decisions) of the
    proposals of the last iteration: what the policy now proposes.  ``beam_match`` is
    that of the beam's best at the end.  ``entropy`` holds, per stage, the mean entropy
    of the first and the last iteration's proposals.
    """

    final_match: float
    beam_match: float
    evaluations: int
    best_so_far: list[float]
    entropy: list[tuple[float, float]]


def run_schedule(
    controller: Controller,
    reward: NoisyReward,
    *,
    stage_iterations: Sequence[int],
    archs_per_iteration: int,
    beam_width: int,
    beam_candidates: int,
    seed: int = 0,
) -> ScheduleRun:
    """Drive ``controller`` through a search's schedule, calling it as ``autogan.search`` does.

    Per stage: ``set_stage``; per iteration ``sample(n, prefix)`` then ``update`` with the
    noisy rewards; at the end of the stage ``sample(M, prefix)`` candidates, scored and
    kept by the beam (no ``update``, as in the search).  The supernet's training draws
    (``sample_architectures``) are left out: they never reach ``update``.
    """
    import numpy as np

    from controllers._beam import BeamSearch

    space = controller.space
    rng = np.random.default_rng([seed, 0x5EED])
    beam = BeamSearch(space, size=beam_width, num_candidates=beam_candidates)
    evaluations, best, best_so_far, entropy = 0, -math.inf, [], []
    last: list[Any] = []
    for stage, iterations in enumerate(stage_iterations, start=1):
        controller.set_stage(stage)
        prefix = beam if stage > 1 else None
        first_entropy = math.nan
        for iteration in range(iterations):
            proposals = controller.sample(archs_per_iteration, prefix=prefix)
            rewards = [reward(space, p.arch, rng) for p in proposals]
            controller.update(proposals, rewards)
            if iteration == 0:
                first_entropy = _mean([p.entropy for p in proposals])
            last = proposals
            for value in rewards:
                evaluations += 1
                if stage == len(stage_iterations):
                    best = max(best, value)
                best_so_far.append(best)
        entropy.append((first_entropy, _mean([p.entropy for p in last])))
        candidates = controller.sample(beam_candidates, prefix=prefix)
        scores = [reward(space, c.arch, rng) for c in candidates]
        beam.update(candidates, scores)
        for value in scores:
            evaluations += 1
            if stage == len(stage_iterations):
                best = max(best, value)
            best_so_far.append(best)
    return ScheduleRun(
        final_match=_mean([match_fraction(space, p.arch, reward.target) for p in last]),
        beam_match=match_fraction(space, beam.best.arch, reward.target),
        evaluations=evaluations,
        best_so_far=best_so_far,
        entropy=entropy,
    )


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


class FixedController(Controller):
    """Cycles through ``archs``, cut to the current stage, and records every update.

    Prefix cells replace the leading cells of the next architecture, so prefixes are
    honoured as by any controller.  ``updates`` keeps ``(proposals, rewards)`` pairs for
    tests to inspect.  ``seed`` only drives prefix draws from a beam.
    """

    kind = "fixed"

    def __init__(
        self, space: SearchSpace, archs: Iterable[Architecture], seed: int = 0, *, stage: int | None = None
    ) -> None:
        super().__init__(space, seed, stage=stage)
        self.archs = tuple(archs)
        if not self.archs:
            raise ValueError("FixedController: archs is empty; pass at least one architecture to propose")
        for arch in self.archs:
            space.validate(arch)
        self.position = 0
        self.updates: list[tuple[list[Proposal], list[float | None]]] = []
        self._draws = 0

    def _choose(self, k: int) -> int:
        rng = np.random.default_rng([self.seed, self._draws])
        self._draws += 1
        return int(rng.integers(k))

    def sample(self, n: int, prefix: Any = None) -> list[Proposal]:
        proposals = []
        for head in self._resolve_prefixes(n, prefix):
            cells = list(self.archs[self.position % len(self.archs)].cells[: self.stage])
            self.position += 1
            fixed = 0
            if head is not None:
                fixed = len(head.cells)
                cells[:fixed] = head.cells
            proposals.append(Proposal(Architecture(tuple(cells)), 0.0, 0.0, fixed))
        return proposals

    def update(self, proposals: Sequence[Proposal], rewards: Sequence[float | None]) -> UpdateStats:
        cleaned = split_rewards(proposals, rewards)
        self.updates.append((list(proposals), cleaned))
        return passive_stats(proposals, cleaned)

    def state_dict(self) -> dict[str, Any]:
        return {
            **self._identity_state(),
            "position": self.position,
            "draws": self._draws,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._check_state_kind(state)
        self.seed = int(state["seed"])
        self.set_stage(int(state["stage"]))
        self.position = int(state["position"])
        self._draws = int(state["draws"])
