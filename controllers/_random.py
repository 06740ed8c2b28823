"""Uniform random search: the baseline every learned controller must beat."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from controllers._budget import SizeBudget, draw_within, uniform_log_prob
from controllers._base import (
    Controller,
    Proposal,
    UpdateStats,
    complete,
    passive_stats,
    seed_for,
    split_rewards,
    undecided,
)
from search_spaces import SearchSpace


class RandomController(Controller):
    """Every decided choice uniform and independent; ``update`` learns nothing.

    Each draw uses a fresh numpy generator seeded from ``(seed, draw number)``, so the
    state is one counter and restoring it continues the same stream.

    With a ``budget`` the draw is uniform over the decided choices that keep a completion
    within it (rejection sampling, see ``draw_within``), the baseline a budgeted learned
    controller must beat.
    """

    kind = "random"

    def __init__(
        self, space: SearchSpace, seed: int, *, stage: int | None = None, budget: SizeBudget | None = None
    ) -> None:
        super().__init__(space, seed, stage=stage, budget=budget)
        self._draws = 0

    def _rng(self) -> np.random.Generator:
        rng = np.random.default_rng(seed_for(self.seed, self._draws))
        self._draws += 1
        return rng

    def _choose(self, k: int) -> int:
        return int(self._rng().integers(k))

    def sample(self, n: int, prefix: Any = None) -> list[Proposal]:
        proposals = []
        for head in self._resolve_prefixes(n, prefix):
            fixed = len(head.cells) if head is not None else 0
            sizes = [d.size for d in undecided(self.space, fixed, self.stage)]
            rng = self._rng()
            if self.budget is None:
                indices = [int(rng.integers(size)) for size in sizes]
            else:
                start = list(self.space.encode(head)) if head is not None else []
                indices = draw_within(self.budget, start, sizes, rng.integers)
            log_prob = uniform_log_prob(self.budget, self.space.encode(head) if head is not None else (), sizes)
            proposals.append(Proposal(complete(self.space, head, indices), log_prob, -log_prob, fixed))
        return proposals

    def update(self, proposals: Sequence[Proposal], rewards: Sequence[float | None]) -> UpdateStats:
        return passive_stats(proposals, split_rewards(proposals, rewards))

    def state_dict(self) -> dict[str, Any]:
        return {**self._identity_state(), "draws": self._draws}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._check_state_kind(state)
        self.seed = int(state["seed"])
        self.set_stage(int(state["stage"]))
        self._draws = int(state["draws"])
