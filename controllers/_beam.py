"""Multi-level search: the best prefixes carried from one stage to the next."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

from controllers._base import Proposal
from controllers._budget import SizeBudget
from search_spaces import Architecture, SearchSpace


@dataclass(frozen=True)
class BeamEntry:
    """One architecture kept in the beam and the score that earned its place."""

    arch: Architecture
    score: float


class BeamSearch:
    """Keeps the top ``size`` (K) of the candidates scored at the end of a stage.

    At the end of stage ``s`` the search loop samples ``num_candidates`` (M) proposals of
    ``s`` cells, scores them and calls ``update``; the next stage's controller then takes
    its prefixes from the beam (``controller.sample(n, prefix=beam)`` draws one per
    proposal).  The defaults are AutoGAN's M = 10, K = 5.

    Like AutoGAN, the beam keeps candidates, not distinct architectures: one sampled
    twice may hold two places, and is then drawn twice as often.  Candidates whose score
    is None, NaN or infinite (failed evaluations) are never kept.  Ties keep the earlier
    candidate.  The beam, its scores and its stage are the state.

    With a ``budget``, a candidate that no completion within the budget extends is never
    kept either: the next stage could only propose architectures outside it.
    """

    def __init__(
        self, space: SearchSpace, size: int = 5, num_candidates: int = 10, *, budget: SizeBudget | None = None
    ) -> None:
        for name, value in (("size", size), ("num_candidates", num_candidates)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"BeamSearch: {name} {value!r} is not a positive integer; AutoGAN uses K=5, M=10")
        if size > num_candidates:
            raise ValueError(
                f"BeamSearch: size {size} is larger than num_candidates {num_candidates}; "
                "the beam keeps the top size of num_candidates, so use size <= num_candidates"
            )
        self.space = space
        self.budget = budget
        self.size = size
        self.num_candidates = num_candidates
        self.entries: tuple[BeamEntry, ...] = ()
        #: Cells per beam architecture: the stage that produced it (0 while empty).
        self.stage = 0

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def prefixes(self) -> tuple[Architecture, ...]:
        return tuple(entry.arch for entry in self.entries)

    @property
    def best(self) -> BeamEntry:
        if not self.entries:
            raise ValueError("BeamSearch.best: the beam is empty; call update(candidates, scores) first")
        return self.entries[0]

    def update(
        self, candidates: Sequence[Union[Proposal, Architecture]], scores: Sequence[float | None]
    ) -> tuple[BeamEntry, ...]:
        """Replace the beam with the top ``size`` scored candidates (best first) and return it.

        All candidates must have the same number of cells, which becomes the beam's stage.
        """
        archs = [c.arch if isinstance(c, Proposal) else c for c in candidates]
        scores = list(scores)
        if len(archs) != len(scores):
            raise ValueError(
                f"BeamSearch.update: {len(archs)} candidates but {len(scores)} scores; pass one score per "
                "candidate (None for a failed evaluation)"
            )
        if not archs:
            raise ValueError("BeamSearch.update: no candidates; sample num_candidates proposals and score them")
        for index, arch in enumerate(archs):
            if not isinstance(arch, Architecture):
                raise TypeError(
                    f"BeamSearch.update: candidates[{index}] is a {type(arch).__name__}; "
                    "pass Proposals or Architectures"
                )
            self.space.validate(arch, partial=True)
        lengths = sorted({len(arch.cells) for arch in archs})
        if len(lengths) != 1:
            raise ValueError(
                f"BeamSearch.update: candidates have {lengths} cells; a beam holds one stage, so score "
                "candidates of that stage only"
            )
        kept = [BeamEntry(arch, value) for arch, value in zip(archs, map(_finite_or_none, scores)) if value is not None]
        if self.budget is not None:
            within = [entry for entry in kept if self.budget.feasible(self.space.encode(entry.arch))]
            if kept and not within:
                raise ValueError(
                    f"BeamSearch.update: none of the {len(kept)} scored candidates can be completed within the "
                    "size budget; sample the candidates from a controller built with the same budget"
                )
            kept = within
        if not kept:
            raise ValueError(
                f"BeamSearch.update: all {len(archs)} candidates failed (None, NaN or infinite scores); "
                "the beam cannot be built, so score the candidates again"
            )
        # sorted() is stable, so equal scores keep candidate order.
        self.entries = tuple(sorted(kept, key=lambda entry: -entry.score)[: self.size])
        self.stage = lengths[0]
        return self.entries

    def draw(self, rng: Any) -> Architecture:
        """A uniformly drawn beam architecture; ``rng`` is a seed, ``random.Random`` or numpy ``Generator``."""
        if not self.entries:
            raise ValueError("BeamSearch.draw: the beam is empty; call update(candidates, scores) first")
        if rng is None or isinstance(rng, int):
            rng = random.Random(rng)
        if hasattr(rng, "integers"):
            index = int(rng.integers(len(self.entries)))
        elif hasattr(rng, "randrange"):
            index = rng.randrange(len(self.entries))
        else:
            raise TypeError(
                f"BeamSearch.draw: rng must be a seed, random.Random or numpy Generator, got {type(rng).__name__}"
            )
        return self.entries[index].arch

    def state_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "num_candidates": self.num_candidates,
            "stage": self.stage,
            "entries": [{"arch": str(entry.arch), "score": entry.score} for entry in self.entries],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        entries = tuple(
            BeamEntry(self.space.validate(Architecture.parse(e["arch"]), partial=True), float(e["score"]))
            for e in state["entries"]
        )
        stage = int(state["stage"])
        if any(len(entry.arch.cells) != stage for entry in entries):
            raise ValueError(
                f"BeamSearch.load_state_dict: the state's stage is {stage} but its architectures have "
                f"{sorted({len(e.arch.cells) for e in entries})} cells; the state is corrupt"
            )
        self.size = int(state["size"])
        self.num_candidates = int(state["num_candidates"])
        self.stage = stage
        self.entries = entries


def _finite_or_none(score: Any) -> float | None:
    if score is None:
        return None
    try:
        value = float(score)
    except (TypeError, ValueError):
        raise TypeError(f"BeamSearch.update: score {score!r} is not a number; use None for a failed evaluation") from None
    return value if math.isfinite(value) else None
