"""The multi-level AutoGAN search space and its exact encodings."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from search_spaces._architecture import Architecture, Cell, skips_from_int, skips_to_int
from search_spaces._errors import InvalidArchitecture, shown
from search_spaces._ops import AUTOGAN_CONV, AUTOGAN_NORM, AUTOGAN_UP, check_op

MIN_CELLS = 2
MAX_CELLS = 6

# The order in which a cell's decisions are made: the published vector's order.
CELL_DECISIONS = ("conv", "norm", "up", "shortcut", "skip")


@dataclass(frozen=True)
class Decision:
    """One choice the controller makes: ``choices[i]`` is the value of token ``i``."""

    stage: int
    name: str
    choices: tuple[Any, ...]

    @property
    def size(self) -> int:
        return len(self.choices)


@dataclass(frozen=True)
class SearchSpace:
    """Generator cells stacked ``num_cells`` deep; every decision is independent.

    The output resolution is ``bottom_width * 2**num_cells``.  The default is
    AutoGAN's space of 373,248 architectures.
    """

    num_cells: int = 3
    conv: tuple[str, ...] = AUTOGAN_CONV
    norm: tuple[str, ...] = AUTOGAN_NORM
    up: tuple[str, ...] = AUTOGAN_UP
    shortcut: tuple[bool, ...] = (False, True)

    def __post_init__(self) -> None:
        if isinstance(self.num_cells, bool) or not isinstance(self.num_cells, int):
            raise InvalidArchitecture(f"search space: num_cells {shown(self.num_cells)} is not an integer")
        if not MIN_CELLS <= self.num_cells <= MAX_CELLS:
            raise InvalidArchitecture(
                f"search space: num_cells {self.num_cells} is out of range; use {MIN_CELLS} to {MAX_CELLS}"
            )
        for decision in ("conv", "norm", "up"):
            options = tuple(getattr(self, decision))
            object.__setattr__(self, decision, options)
            if not options or len(set(options)) != len(options):
                raise InvalidArchitecture(
                    f"search space: the {decision} choices {list(options)} must be non-empty and without repeats"
                )
            for name in options:
                check_op(decision, name, where="search space")
        shortcut = tuple(self.shortcut)
        object.__setattr__(self, "shortcut", shortcut)
        if not shortcut or len(set(shortcut)) != len(shortcut) or not all(isinstance(v, bool) for v in shortcut):
            raise InvalidArchitecture(
                f"search space: shortcut choices {list(shortcut)} must be a non-empty subset of [False, True]"
            )

    # --- structure ------------------------------------------------------------------------

    def decisions(self, stage: int) -> tuple[Decision, ...]:
        """The decisions of cell ``stage`` (1-based), in the fixed order of ``CELL_DECISIONS``."""
        self._check_stage(stage)
        decisions = [
            Decision(stage, "conv", self.conv),
            Decision(stage, "norm", self.norm),
            Decision(stage, "up", self.up),
            Decision(stage, "shortcut", self.shortcut),
        ]
        if stage > 1:
            decisions.append(Decision(stage, "skip", tuple(range(1 << (stage - 1)))))
        return tuple(decisions)

    def all_decisions(self, stages: int | None = None) -> tuple[Decision, ...]:
        stages = self.num_cells if stages is None else stages
        return tuple(d for stage in range(1, stages + 1) for d in self.decisions(stage))

    def stage_size(self, stage: int) -> int:
        return math.prod(d.size for d in self.decisions(stage))

    def size(self) -> int:
        return math.prod(self.stage_size(stage) for stage in range(1, self.num_cells + 1))

    def _check_stage(self, stage: int) -> None:
        if isinstance(stage, bool) or not isinstance(stage, int) or not 1 <= stage <= self.num_cells:
            raise InvalidArchitecture(
                f"search space: stage {shown(stage)} does not exist; stages are 1..{self.num_cells}"
            )

    # --- membership -----------------------------------------------------------------------

    def validate(self, arch: Architecture, *, partial: bool = False) -> Architecture:
        """Return ``arch`` if it belongs to this space, else raise ``InvalidArchitecture``.

        With ``partial=True`` a prefix (fewer cells) is accepted.
        """
        if not isinstance(arch, Architecture):
            raise InvalidArchitecture(f"architecture: expected an Architecture, got {type(arch).__name__}")
        count = len(arch.cells)
        if count > self.num_cells or (not partial and count != self.num_cells):
            expected = f"1..{self.num_cells}" if partial else str(self.num_cells)
            raise InvalidArchitecture(
                f"architecture: it has {count} cells but this space has {self.num_cells}; expected {expected} cells"
            )
        for number, cell in enumerate(arch.cells, start=1):
            for decision in ("conv", "norm", "up", "shortcut"):
                value = getattr(cell, decision)
                allowed = getattr(self, decision)
                if value not in allowed:
                    raise InvalidArchitecture(
                        f"cell {number}, decision {decision}: value {shown(value)} is not allowed; "
                        f"allowed values are {list(allowed)}"
                    )
        return arch

    def prefix(self, arch: Architecture, stages: int) -> Architecture:
        """The first ``stages`` cells of ``arch``: what multi-level search has fixed so far."""
        self._check_stage(stages)
        self.validate(arch, partial=True)
        if stages > len(arch.cells):
            raise InvalidArchitecture(
                f"prefix: architecture has {len(arch.cells)} cells, cannot take a prefix of {stages}"
            )
        return Architecture(arch.cells[:stages])

    # --- flat int vector (choice indices in decision order) -----------------------

    def encode(self, arch: Architecture) -> tuple[int, ...]:
        """Choice indices of every decision, cell by cell; ``decode`` inverts it.

        Prefixes encode to a shorter vector, so the encoding serves multi-level search too.
        """
        self.validate(arch, partial=True)
        vector: list[int] = []
        for number, cell in enumerate(arch.cells, start=1):
            vector.extend(self._cell_indices(cell, number))
        return tuple(vector)

    def decode(self, vector: Sequence[Any]) -> Architecture:
        values = list(vector)
        lengths = {self._vector_length(s): s for s in range(1, self.num_cells + 1)}
        if len(values) not in lengths:
            raise InvalidArchitecture(
                f"int vector: length {len(values)} matches no number of cells; "
                f"expected one of {sorted(lengths)} (full architecture: {self._vector_length(self.num_cells)})"
            )
        cells = []
        position = 0
        for stage in range(1, lengths[len(values)] + 1):
            decisions = self.decisions(stage)
            chunk = values[position : position + len(decisions)]
            position += len(decisions)
            cells.append(self._cell_from_indices(chunk, stage, decisions))
        return Architecture(tuple(cells))

    def _vector_length(self, stages: int) -> int:
        return len(self.all_decisions(stages))

    def _cell_indices(self, cell: Cell, number: int) -> list[int]:
        indices = [
            self.conv.index(cell.conv),
            self.norm.index(cell.norm),
            self.up.index(cell.up),
            self.shortcut.index(cell.shortcut),
        ]
        if number > 1:
            indices.append(skips_to_int(cell.skips, number))
        return indices

    def _cell_from_indices(self, chunk: Sequence[Any], stage: int, decisions: Sequence[Decision]) -> Cell:
        values = {}
        for decision, index in zip(decisions, chunk):
            if isinstance(index, bool) or not isinstance(index, int):
                raise InvalidArchitecture(
                    f"cell {stage}, decision {decision.name}: token {shown(index)} is not an integer"
                )
            if not 0 <= index < decision.size:
                raise InvalidArchitecture(
                    f"cell {stage}, decision {decision.name}: value {index} is not allowed; "
                    f"allowed values are 0..{decision.size - 1} ({list(decision.choices)})"
                )
            values[decision.name] = decision.choices[index]
        skips = skips_from_int(values["skip"], stage) if stage > 1 else ()
        return Cell(values["conv"], values["norm"], values["up"], values["shortcut"], skips)

    # --- rank: one integer in [0, size) -------------------------------------------------

    def index(self, arch: Architecture) -> int:
        """Mixed-radix rank of a full architecture; ``from_index`` inverts it."""
        self.validate(arch)
        rank = 0
        for decision, choice in zip(self.all_decisions(), self.encode(arch)):
            rank = rank * decision.size + choice
        return rank

    def from_index(self, rank: int) -> Architecture:
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < self.size():
            raise InvalidArchitecture(f"index: {shown(rank)} is out of range; expected 0..{self.size() - 1}")
        digits = []
        for decision in reversed(self.all_decisions()):
            rank, digit = divmod(rank, decision.size)
            digits.append(digit)
        return self.decode(digits[::-1])

    # --- controller tokens: ids in one vocabulary shared by all decisions ------------

    def vocab_size(self) -> int:
        return sum(d.size for d in self.all_decisions())

    def token_offset(self, stage: int, name: str) -> int:
        offset = 0
        for decision in self.all_decisions():
            if decision.stage == stage and decision.name == name:
                return offset
            offset += decision.size
        raise InvalidArchitecture(f"tokens: stage {stage} has no decision {shown(name)}")

    def to_tokens(self, arch: Architecture) -> tuple[int, ...]:
        """Each decision's choice as an id in the controller's shared embedding vocabulary."""
        tokens = []
        offset = 0
        for decision, choice in zip(self.all_decisions(len(arch.cells)), self.encode(arch)):
            tokens.append(offset + choice)
            offset += decision.size
        return tuple(tokens)

    def from_tokens(self, tokens: Sequence[Any]) -> Architecture:
        values = list(tokens)
        decisions = self.all_decisions()
        if len(values) > len(decisions):
            raise InvalidArchitecture(
                f"tokens: {len(values)} tokens is more than the {len(decisions)} decisions of this space"
            )
        indices = []
        offset = 0
        for decision, token in zip(decisions, values):
            if isinstance(token, bool) or not isinstance(token, int):
                raise InvalidArchitecture(
                    f"cell {decision.stage}, decision {decision.name}: token {shown(token)} is not an integer"
                )
            if not offset <= token < offset + decision.size:
                raise InvalidArchitecture(
                    f"cell {decision.stage}, decision {decision.name}: token {token} is not allowed; "
                    f"allowed tokens are {offset}..{offset + decision.size - 1}"
                )
            indices.append(token - offset)
            offset += decision.size
        return self.decode(indices)

    # --- the published 14-int vector, checked against this space -------------------

    def from_autogan_vector(self, vector: Iterable[Any]) -> Architecture:
        arch = Architecture.from_autogan_vector(vector)
        return self.validate(arch, partial=True)

    def to_autogan_vector(self, arch: Architecture) -> tuple[int, ...]:
        return self.validate(arch, partial=True).to_autogan_vector()

    # --- sampling and enumeration -------------------------------------------------------

    def sample(self, rng: Any = None, *, prefix: Architecture | None = None) -> Architecture:
        """A uniform random architecture (completing ``prefix`` when given).

        ``rng`` is a seed, a ``random.Random`` or a numpy ``Generator``; the
        caller owns it, and global random state is never touched.
        """
        draw = _integer_source(rng)
        cells = list(self.validate(prefix, partial=True).cells) if prefix is not None else []
        for stage in range(len(cells) + 1, self.num_cells + 1):
            decisions = self.decisions(stage)
            cells.append(self._cell_from_indices([draw(d.size) for d in decisions], stage, decisions))
        return Architecture(tuple(cells))

    def enumerate(self, stages: int | None = None) -> Iterator[Architecture]:
        """Every architecture (or every prefix of ``stages`` cells), in ``index`` order."""
        stages = self.num_cells if stages is None else stages
        self._check_stage(stages)
        per_stage = []
        for stage in range(1, stages + 1):
            decisions = self.decisions(stage)
            per_stage.append(
                [
                    self._cell_from_indices(chunk, stage, decisions)
                    for chunk in itertools.product(*(range(d.size) for d in decisions))
                ]
            )
        for cells in itertools.product(*per_stage):
            yield Architecture(cells)

    # --- configuration -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_cells": self.num_cells,
            "conv": list(self.conv),
            "norm": list(self.norm),
            "up": list(self.up),
            "shortcut": list(self.shortcut),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SearchSpace":
        unknown = set(data) - {"num_cells", "conv", "norm", "up", "shortcut"}
        if unknown:
            raise InvalidArchitecture(
                f"search space: unknown keys {sorted(unknown)}; allowed are num_cells, conv, norm, up, shortcut"
            )
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def describe(self) -> str:
        lines = [f"search space: {self.num_cells} cells, {self.size():,} architectures"]
        for stage in range(1, self.num_cells + 1):
            parts = []
            for decision in self.decisions(stage):
                choices = decision.choices
                if decision.name == "skip":
                    parts.append(f"skip[0..{len(choices) - 1}]")
                else:
                    parts.append(f"{decision.name}{{{','.join(map(_choice_text, choices))}}}")
            lines.append(f"  cell {stage}: " + " ".join(parts) + f"  ({self.stage_size(stage):,} options)")
        return "\n".join(lines)


def _choice_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _integer_source(rng: Any):
    if rng is None or isinstance(rng, int):
        rng = random.Random(rng)
    if hasattr(rng, "integers"):
        return lambda n: int(rng.integers(n))
    if hasattr(rng, "randrange"):
        return lambda n: rng.randrange(n)
    raise TypeError(f"sample: rng must be a seed, random.Random or numpy Generator, got {type(rng).__name__}")
