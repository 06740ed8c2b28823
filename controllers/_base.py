"""The controller interface: proposals out, rewards in, state as a plain dict."""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from controllers._budget import SizeBudget
from search_spaces import Architecture, InvalidArchitecture, SearchSpace


@runtime_checkable
class PrefixSource(Protocol):
    """Where each proposal draws its own prefix from, e.g. a ``BeamSearch``.

    Defined here so that the interface does not depend on the beam: the beam depends on
    proposals, never the other way round.
    """

    @property
    def prefixes(self) -> tuple[Architecture, ...]:
        """The architectures a draw may return, all of one length; empty before the first stage ends."""

    def draw(self, rng: Any) -> Architecture:
        """One of ``prefixes``, uniformly; ``rng`` has ``randrange(k)``."""


@dataclass(frozen=True)
class Proposal:
    """One architecture a controller proposes, with what ``update`` needs to learn from it.

    ``arch`` has ``stage`` cells: the first ``fixed_cells`` came from the prefix, the rest
    were decided by the controller.  ``log_prob`` and ``entropy`` cover only the decided
    cells; controllers that cannot compute them (Optuna) report NaN.  ``trial`` is the
    controller's own bookkeeping number for the proposal (the Optuna trial number), or
    ``None``.
    """

    arch: Architecture
    log_prob: float
    entropy: float
    fixed_cells: int = 0
    trial: int | None = None

    @property
    def stage(self) -> int:
        return len(self.arch.cells)

    @property
    def prefix(self) -> Architecture | None:
        if self.fixed_cells == 0:
            return None
        return Architecture(self.arch.cells[: self.fixed_cells])


@dataclass(frozen=True)
class UpdateStats:
    """What one ``update`` did.

    ``mean_reward`` averages the valid raw rewards (NaN when none was valid); ``baseline``
    is the REINFORCE baseline after the update (``None`` for controllers without one);
    ``loss`` is the policy loss the step minimised (NaN when no step was taken).
    """

    loss: float
    baseline: float | None
    mean_reward: float
    valid: int
    invalid: int
    entropy: float
    stepped: bool


class Controller(abc.ABC):
    """Proposes architectures and learns from their rewards.

    A controller is stage-aware: at stage ``s`` its proposals have ``s`` cells.  Cells
    that a prefix fixes are copied; the controller decides the rest.  In multi-level
    search the prefix has ``s - 1`` cells, so only cell ``s`` is decided.  With
    ``prefix=None`` nothing is fixed and cells ``1..s`` are all decided, which is
    single-level search when ``s`` is the space's last stage (the default stage).

    Subclasses own their randomness, seeded from ``seed``; none touches global RNG state.

    With a ``budget`` (a ``SizeBudget``), every proposal, and every architecture drawn for
    supernet training, can be completed within it; controllers that accept one say how.
    """

    #: Written into ``state_dict`` so that a state loads only into its own kind of controller.
    kind: str = ""

    def __init__(
        self, space: SearchSpace, seed: int, *, stage: int | None = None, budget: SizeBudget | None = None
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise TypeError(f"controller: space must be a SearchSpace, got {type(space).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"controller: seed {seed!r} is not a non-negative integer; pass e.g. seed=0")
        if budget is not None:
            if not isinstance(budget, SizeBudget):
                raise TypeError(f"controller: budget must be a SizeBudget or None, got {type(budget).__name__}")
            if budget.space != space:
                raise ValueError("controller: the budget was built for another search space; build it for this one")
        self.space = space
        self.seed = seed
        self.budget = budget
        self.stage = space.num_cells
        self.set_stage(space.num_cells if stage is None else stage)

    def set_stage(self, stage: int) -> None:
        """Decide cell ``stage`` (1-based) from now on; what was learned is kept."""
        if isinstance(stage, bool) or not isinstance(stage, int) or not 1 <= stage <= self.space.num_cells:
            raise ValueError(
                f"controller: stage {stage!r} does not exist; stages are 1..{self.space.num_cells}"
            )
        self.stage = stage

    def on_supernet_reset(self) -> None:
        """The supernet was reset: rewards from now on come from a fresh one, not comparable with earlier ones."""

    @abc.abstractmethod
    def sample(self, n: int, prefix: Architecture | PrefixSource | None = None) -> list[Proposal]:
        """Propose ``n`` architectures of ``self.stage`` cells.

        ``prefix`` is an ``Architecture`` of fewer than ``stage`` cells that every proposal
        starts with, a ``PrefixSource`` such as a ``BeamSearch`` from which each proposal draws
        its own prefix with the controller's RNG, or ``None`` (decide every cell up to ``stage``).
        """

    def sample_architectures(self, n: int, prefix: Architecture | PrefixSource | None = None) -> list[Architecture]:
        """``n`` architectures for supernet training, where no reward will come back.

        Same distribution as ``sample``, without bookkeeping for ``update``; controllers
        that keep per-proposal records (Optuna) override it so training draws leave no trace.
        """
        return [proposal.arch for proposal in self.sample(n, prefix)]

    @abc.abstractmethod
    def update(self, proposals: Sequence[Proposal], rewards: Sequence[float | None]) -> UpdateStats:
        """Learn from ``rewards[i]`` for ``proposals[i]``.

        ``None``, NaN and infinite rewards mark failed evaluations: they are counted in
        the stats and never reach a gradient, a baseline or a model.
        """

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: plain Python values and torch tensors only."""

    @abc.abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict``; sampling then continues as the saved controller would."""

    # --- helpers shared by implementations --------------------------------------------------

    @abc.abstractmethod
    def _choose(self, k: int) -> int:
        """A uniform index in ``[0, k)`` from the controller's own RNG (for beam draws)."""

    def _resolve_prefixes(self, n: int, prefix: Any) -> list[Architecture | None]:
        """One prefix (or ``None``) per proposal, validated against the space and stage."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"sample: n {n!r} is not a non-negative integer; pass how many proposals to make")
        if prefix is None:
            return [None] * n
        if isinstance(prefix, Architecture):
            self._check_prefix(prefix)
            return [prefix] * n
        if isinstance(prefix, PrefixSource):
            if not prefix.prefixes:
                raise ValueError(
                    "sample: the beam is empty; call beam.update(candidates, scores) at the end of a stage first"
                )
            for head in prefix.prefixes:
                self._check_prefix(head)
            rng = _OwnDraws(self._choose)
            return [prefix.draw(rng) for _ in range(n)]
        raise TypeError(
            f"sample: prefix must be an Architecture, a BeamSearch or None, got {type(prefix).__name__}"
        )

    def _check_prefix(self, prefix: Architecture) -> None:
        try:
            self.space.validate(prefix, partial=True)
        except InvalidArchitecture as exc:
            raise InvalidArchitecture(f"sample: prefix is not in the search space: {exc}") from None
        if self.budget is not None and not self.budget.feasible(self.space.encode(prefix)):
            raise ValueError(
                f"sample: no completion of prefix {prefix} is within the size budget; "
                "pass a prefix the budget allows (a BeamSearch built with the same budget keeps only those)"
            )
        if len(prefix.cells) >= self.stage:
            raise ValueError(
                f"sample: the prefix has {len(prefix.cells)} cells but the controller is at stage {self.stage} "
                f"and decides cell {self.stage}; pass a prefix of at most {self.stage - 1} cells "
                f"or call set_stage({len(prefix.cells) + 1})"
            )

    def _identity_state(self) -> dict[str, Any]:
        """The part of every ``state_dict`` that says whose state it is and where it stands."""
        return {"kind": self.kind, "space": self.space.to_dict(), "seed": self.seed, "stage": self.stage}

    def _check_state_kind(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state).__name__}")
        kind = state.get("kind")
        if kind != self.kind:
            raise ValueError(
                f"load_state_dict: this state belongs to a {kind!r} controller, not {self.kind!r}; "
                f"build a {kind!r} controller to load it"
            )
        saved_space = state.get("space")
        if saved_space != self.space.to_dict():
            raise ValueError(
                f"load_state_dict: the state was saved for search space {saved_space}, "
                f"but this controller searches {self.space.to_dict()}; build it with the saved space"
            )


class _OwnDraws:
    """The controller's own RNG in the shape ``PrefixSource.draw`` takes, so a draw costs one ``_choose``."""

    def __init__(self, choose: Any):
        self.randrange = choose


def split_rewards(proposals: Sequence[Proposal], rewards: Sequence[Any]) -> list[float | None]:
    """Rewards as floats, with ``None`` for every failed (None, NaN, infinite) evaluation."""
    proposals = list(proposals)
    rewards = list(rewards)
    if len(proposals) != len(rewards):
        raise ValueError(
            f"update: {len(proposals)} proposals but {len(rewards)} rewards; pass one reward per proposal "
            "(None for a failed evaluation)"
        )
    for index, proposal in enumerate(proposals):
        if not isinstance(proposal, Proposal):
            raise TypeError(
                f"update: proposals[{index}] is a {type(proposal).__name__}, not a Proposal; "
                "pass the proposals that sample() returned"
            )
    cleaned: list[float | None] = []
    for index, reward in enumerate(rewards):
        if reward is None:
            cleaned.append(None)
            continue
        try:
            value = float(reward)
        except (TypeError, ValueError):
            raise TypeError(
                f"update: rewards[{index}] is {reward!r}, not a number; use None for a failed evaluation"
            ) from None
        cleaned.append(value if math.isfinite(value) else None)
    return cleaned


def mean_or_nan(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def passive_stats(proposals: Sequence[Proposal], rewards: Sequence[float | None]) -> UpdateStats:
    """Stats for controllers that keep no baseline and take no gradient step."""
    valid = [r for r in rewards if r is not None]
    return UpdateStats(
        loss=math.nan,
        baseline=None,
        mean_reward=mean_or_nan(valid),
        valid=len(valid),
        invalid=len(rewards) - len(valid),
        entropy=mean_or_nan([p.entropy for p in proposals]),
        stepped=False,
    )


def seed_for(seed: int, counter: int) -> list[int]:
    """Entropy for the ``counter``-th draw: numpy's SeedSequence keeps the streams independent."""
    return [seed, counter]


def undecided(space: SearchSpace, fixed_cells: int, stage: int):
    """The decisions of cells ``fixed_cells + 1 .. stage``, in token order."""
    return space.all_decisions(stage)[len(space.all_decisions(fixed_cells)) :]


def complete(space: SearchSpace, prefix: Architecture | None, indices: Sequence[int]) -> Architecture:
    """``prefix`` followed by the cells that ``indices`` (choice indices) decide."""
    head = list(space.encode(prefix)) if prefix is not None else []
    return space.decode(head + [int(i) for i in indices])
