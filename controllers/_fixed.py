"""A controller that proposes given architectures in turn: the test double."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from controllers._base import Controller, Proposal, UpdateStats, passive_stats, split_rewards
from search_spaces import Architecture, SearchSpace


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
