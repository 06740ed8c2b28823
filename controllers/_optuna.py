"""Any Optuna sampler (TPE by default) as a controller, through ask and tell."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from controllers._budget import SizeBudget, draw_within
from controllers._base import Controller, Proposal, UpdateStats, complete, passive_stats, split_rewards, undecided
from search_spaces import Architecture, SearchSpace

SamplerFactory = Callable[[int], optuna.samplers.BaseSampler]

_RUNNING, _COMPLETE, _FAIL, _INFEASIBLE = "running", "complete", "fail", "infeasible"

# Asks per proposal before a feasible architecture is enqueued instead: each refused ask is told
# to the sampler as infeasible, so that it learns where the budget is.
_ASKS_PER_PROPOSAL = 10

# The Optuna constraint that holds SizeBudget.violation: > 0 is infeasible.
_SIZE_CONSTRAINT = "size"


def _tpe(seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed)


def param_name(stage: int, decision: str) -> str:
    """The Optuna parameter that holds a decision's choice index, e.g. ``cell2.up``."""
    return f"cell{stage}.{decision}"


class OptunaController(Controller):
    """One Optuna trial per proposal: ``sample`` asks, ``update`` tells.

    Each decision is a categorical parameter over choice indices, named ``cell{s}.{name}``.
    With a prefix only the undecided cells are suggested, so at stage ``s`` of multi-level
    search the sampler models cell ``s`` alone.  Failed evaluations are told as
    ``TrialState.FAIL``.  Optuna cannot give log-probabilities or entropies, so proposals
    carry NaN for both.

    ``sampler`` is ``None`` (TPE), a factory ``seed -> BaseSampler``, or a sampler instance.
    Optuna samplers keep their RNG in unserialisable objects, so the state holds the trial
    history instead (parameters, state, value) and ``load_state_dict`` replays it into a
    fresh in-memory study.  To make that exact, a factory-built sampler is re-created for
    every trial with a seed derived from ``(seed, trial number)``: the next sample after a
    restore equals the one the saved controller would have drawn.  A sampler *instance* is
    used as given; its history is replayed but its RNG cannot be restored.

    With a ``budget``, every trial carries the Optuna constraint ``size`` (the budget's relative
    excess, > 0 when infeasible), which TPE uses to rank infeasible trials below every feasible
    one.  An infeasible suggestion is told at once as pruned and asked again; after
    ``_ASKS_PER_PROPOSAL`` of them a uniformly drawn feasible architecture is enqueued, so a
    proposal is always within the budget.  Refused trials are kept in the state and replayed.
    """

    kind = "optuna"

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        sampler: Union[None, SamplerFactory, optuna.samplers.BaseSampler] = None,
        *,
        stage: int | None = None,
        budget: SizeBudget | None = None,
    ) -> None:
        super().__init__(space, seed, stage=stage, budget=budget)
        if sampler is None:
            sampler = _tpe
        if not isinstance(sampler, optuna.samplers.BaseSampler) and not callable(sampler):
            raise TypeError(
                f"OptunaController: sampler must be None (TPE), a factory seed -> sampler, or an Optuna "
                f"sampler, got {type(sampler).__name__}"
            )
        self._sampler = sampler
        self._distributions = {
            param_name(d.stage, d.name): CategoricalDistribution(tuple(range(d.size)))
            for d in space.all_decisions()
        }
        self._records: list[dict[str, Any]] = []
        self._draws = 0
        self._study = self._new_study()
        self._open: dict[int, optuna.trial.Trial] = {}

    def _new_study(self) -> optuna.Study:
        return optuna.create_study(direction="maximize", sampler=self._sampler_for(0))

    def _sampler_for(self, number: int) -> optuna.samplers.BaseSampler:
        if isinstance(self._sampler, optuna.samplers.BaseSampler):
            return self._sampler
        seed = int(np.random.SeedSequence([self.seed, 0, number]).generate_state(1)[0])
        sampler = self._sampler(seed)
        if not isinstance(sampler, optuna.samplers.BaseSampler):
            raise TypeError(
                f"OptunaController: the sampler factory returned a {type(sampler).__name__}, "
                "not an Optuna sampler; return e.g. optuna.samplers.TPESampler(seed=seed)"
            )
        return sampler

    def _ask(self, params: Mapping[str, int] | None = None) -> optuna.trial.Trial:
        number = len(self._records)
        self._study.sampler = self._sampler_for(number)
        if params is not None:
            self._study.enqueue_trial(dict(params))
        trial = self._study.ask()
        if trial.number != number:
            raise RuntimeError(
                f"OptunaController: the study numbered a trial {trial.number}, expected {number}; "
                "the controller's study must not be shared"
            )
        return trial

    def _choose(self, k: int) -> int:
        rng = np.random.default_rng([self.seed, 1, self._draws])
        self._draws += 1
        return int(rng.integers(k))

    def sample(self, n: int, prefix: Any = None) -> list[Proposal]:
        proposals = []
        for head in self._resolve_prefixes(n, prefix):
            fixed = len(head.cells) if head is not None else 0
            start = list(self.space.encode(head)) if head is not None else []
            decisions = undecided(self.space, fixed, self.stage)
            for attempt in range(_ASKS_PER_PROPOSAL + 1):
                given = None
                if self.budget is not None and attempt == _ASKS_PER_PROPOSAL:
                    given = self._feasible_params(start, decisions)
                trial = self._ask(given)
                params = {}
                for decision in decisions:
                    name = param_name(decision.stage, decision.name)
                    params[name] = trial.suggest_categorical(name, self._distributions[name].choices)
                violation = None
                if self.budget is not None:
                    violation = self.budget.violation(start + list(params.values()))
                    trial.set_constraint(_SIZE_CONSTRAINT, violation)
                if violation is not None and violation > 0:
                    self._study.tell(trial.number, state=TrialState.PRUNED)
                    self._records.append({"params": params, "state": _INFEASIBLE, "value": None, "violation": violation})
                    continue
                self._records.append({"params": params, "state": _RUNNING, "value": None, "violation": violation})
                self._open[trial.number] = trial
                arch = complete(self.space, head, list(params.values()))
                proposals.append(Proposal(arch, math.nan, math.nan, fixed, trial=trial.number))
                break
        return proposals

    def _feasible_params(self, start: list[int], decisions: Sequence[Any]) -> dict[str, int]:
        rng = np.random.default_rng([self.seed, 3, len(self._records)])
        indices = draw_within(self.budget, start, [d.size for d in decisions], rng.integers)
        return {param_name(d.stage, d.name): index for d, index in zip(decisions, indices)}

    def sample_architectures(self, n: int, prefix: Any = None) -> list[Architecture]:
        """Uniform architectures for supernet training (uniform within the budget, if any).

        Optuna cannot sample from its model without opening a trial, and a trial per
        training step (hundreds of thousands per search) would swamp the history.  So the
        supernet sees uniform architectures under this controller, as in one-shot NAS with
        uniform path sampling; ``sample`` alone consults the sampler.
        """
        archs = []
        for head in self._resolve_prefixes(n, prefix):
            fixed = len(head.cells) if head is not None else 0
            rng = np.random.default_rng([self.seed, 2, self._draws])
            self._draws += 1
            sizes = [d.size for d in undecided(self.space, fixed, self.stage)]
            if self.budget is None:
                indices = [int(rng.integers(size)) for size in sizes]
            else:
                indices = draw_within(self.budget, list(self.space.encode(head)) if head is not None else [], sizes,
                                      rng.integers)
            archs.append(complete(self.space, head, indices))
        return archs

    def update(self, proposals: Sequence[Proposal], rewards: Sequence[float | None]) -> UpdateStats:
        proposals = list(proposals)
        cleaned = split_rewards(proposals, rewards)
        seen = set()
        for index, proposal in enumerate(proposals):
            number = proposal.trial
            if number is None or number not in self._open or number in seen:
                raise ValueError(
                    f"update: proposals[{index}] (trial {number}) is not an open trial of this controller; "
                    "pass each proposal from this controller's sample() once"
                )
            seen.add(number)
        for proposal, reward in zip(proposals, cleaned):
            number = proposal.trial
            if reward is None:
                self._study.tell(number, state=TrialState.FAIL)
                self._records[number].update(state=_FAIL)
            else:
                self._study.tell(number, reward)
                self._records[number].update(state=_COMPLETE, value=reward)
            del self._open[number]
        return passive_stats(proposals, cleaned)

    def state_dict(self) -> dict[str, Any]:
        return {
            **self._identity_state(),
            "draws": self._draws,
            "trials": [
                {"params": dict(r["params"]), "state": r["state"], "value": r["value"], "violation": r.get("violation")}
                for r in self._records
            ],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replay the saved trials into a fresh study; open trials are re-opened."""
        self._check_state_kind(state)
        self.seed = int(state["seed"])
        self.set_stage(int(state["stage"]))
        self._draws = int(state["draws"])
        self._records = []
        self._open = {}
        self._study = self._new_study()
        for number, record in enumerate(state["trials"]):
            params = {name: int(value) for name, value in record["params"].items()}
            unknown = set(params) - set(self._distributions)
            if unknown:
                raise ValueError(
                    f"load_state_dict: trial {number} has parameters {sorted(unknown)} that this search "
                    "space does not have; load the state into a controller for the saved space"
                )
            distributions = {name: self._distributions[name] for name in params}
            violation = record.get("violation")
            constraints = None if violation is None else {_SIZE_CONSTRAINT: float(violation)}
            if record["state"] == _RUNNING:
                trial = self._ask(params)
                for name in params:
                    trial.suggest_categorical(name, distributions[name].choices)
                if constraints is not None:
                    trial.set_constraint(_SIZE_CONSTRAINT, constraints[_SIZE_CONSTRAINT])
                self._open[number] = trial
            elif record["state"] in (_COMPLETE, _FAIL, _INFEASIBLE):
                state_ = {_COMPLETE: TrialState.COMPLETE, _FAIL: TrialState.FAIL, _INFEASIBLE: TrialState.PRUNED}
                complete_ = record["state"] == _COMPLETE
                self._study.add_trial(
                    optuna.trial.create_trial(
                        params=params,
                        distributions=distributions,
                        value=float(record["value"]) if complete_ else None,
                        state=state_[record["state"]],
                        constraints=constraints,
                    )
                )
            else:
                raise ValueError(
                    f"load_state_dict: trial {number} has state {record['state']!r}; expected one of "
                    f"{[_RUNNING, _COMPLETE, _FAIL, _INFEASIBLE]}"
                )
            self._records.append(
                {"params": params, "state": record["state"], "value": record["value"], "violation": violation}
            )
