"""A hard size budget: which choices can still lead to an architecture within it.

A proposal that is never trained teaches a controller nothing and wastes an evaluation, so
controllers built with a budget propose only architectures within it.  Multi-level search
fixes a prefix and leaves later cells open, so a choice counts as feasible when *some*
completion of the architecture is within the budget.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, Mapping, Sequence

import numpy as np

from search_spaces import SearchSpace

# Distinct complete-cell prefixes whose feasible options are kept; a search visits far fewer.
_CACHE_LIMIT = 100_000


class SizeBudget:
    """Upper limits on the costs of a full architecture, whose costs add up over its cells.

    ``base`` is what every architecture costs (one number per metric); ``cells[s - 1]`` maps
    the choice indices of cell ``s`` (``SearchSpace.encode`` order) to what that cell adds.
    ``limits`` holds one upper bound per metric, ``math.inf`` for none.  Costs are counted by
    whoever builds the budget (``autogan`` counts a derived generator); this module only needs
    them to add up, which is what makes "some completion is within the budget" exact: the
    cheapest completions of cells ``s..S`` form a small Pareto front.

    Indices everywhere are flat choice indices in decision order (``SearchSpace.encode``), so a
    head may end inside a cell: that is where an RNN stands between two tokens.
    """

    def __init__(
        self,
        space: SearchSpace,
        names: Sequence[str],
        base: Sequence[float],
        cells: Sequence[Mapping[tuple[int, ...], Sequence[float]]],
        limits: Sequence[float],
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise TypeError(f"SizeBudget: space must be a SearchSpace, got {type(space).__name__}")
        self.space = space
        self.names = tuple(names)
        self.limits = tuple(float(v) for v in limits)
        if len(base) != len(self.names) or len(self.limits) != len(self.names):
            raise ValueError(
                f"SizeBudget: {len(self.names)} metrics {list(self.names)} but {len(base)} base costs and "
                f"{len(self.limits)} limits; give one of each per metric"
            )
        if len(cells) != space.num_cells:
            raise ValueError(
                f"SizeBudget: {len(cells)} cell tables for a space of {space.num_cells} cells; give one per cell"
            )
        self.base = np.asarray(base, dtype=np.float64)
        self._limits = np.asarray(self.limits, dtype=np.float64)
        self._options: list[np.ndarray] = []  # per stage: (n, decisions) choice indices
        self._costs: list[np.ndarray] = []  # per stage: (n, metrics)
        for stage, table in enumerate(cells, start=1):
            sizes = [d.size for d in space.decisions(stage)]
            options = list(itertools.product(*(range(size) for size in sizes)))
            missing = [o for o in options if tuple(o) not in table]
            if missing:
                raise ValueError(f"SizeBudget: cell {stage}'s table has no cost for choice indices {missing[0]}")
            self._options.append(np.asarray(options, dtype=np.int64).reshape(len(options), len(sizes)))
            self._costs.append(np.asarray([table[tuple(o)] for o in options], dtype=np.float64))
        # _fronts[s - 1]: the Pareto-minimal total costs of cells s..S; the last is "nothing left".
        fronts = [np.zeros((1, len(self.names)))]
        for costs in reversed(self._costs):
            sums = (costs[:, None, :] + fronts[0][None, :, :]).reshape(-1, len(self.names))
            fronts.insert(0, _pareto_min(sums))
        self._fronts = fronts
        self._starts = [len(space.all_decisions(s)) for s in range(space.num_cells + 1)]
        self._feasible_cache: dict[tuple[int, ...], np.ndarray] = {}

    # --- what a full architecture costs ---------------------------------------------------

    def cost(self, indices: Sequence[int]) -> tuple[float, ...]:
        """The costs of the full architecture with these choice indices."""
        cells = self._split(indices)
        if len(cells) != self.space.num_cells or len(indices) != self._starts[-1]:
            raise ValueError(
                f"SizeBudget.cost: {len(indices)} choice indices; a full architecture has {self._starts[-1]}"
            )
        return tuple(float(v) for v in self._spent(cells))

    def within(self, indices: Sequence[int]) -> bool:
        """Whether the full architecture with these choice indices is within every limit."""
        return bool(np.all(np.asarray(self.cost(indices)) <= self._limits))

    def floor(self) -> tuple[float, ...]:
        """Per metric, the least any full architecture of the space costs."""
        return tuple(float(v) for v in self.base + sum(costs.min(axis=0) for costs in self._costs))

    def ceiling(self) -> tuple[float, ...]:
        """Per metric, the most any full architecture of the space costs."""
        return tuple(float(v) for v in self.base + sum(costs.max(axis=0) for costs in self._costs))

    def front(self) -> list[tuple[float, ...]]:
        """The Pareto-minimal costs of full architectures: no architecture is cheaper in every metric."""
        return [tuple(float(v) for v in self.base + point) for point in self._fronts[0]]

    # --- partial architectures --------------------------------------------------------------

    def feasible(self, head: Sequence[int]) -> bool:
        """Whether some completion of ``head`` (choice indices, any length) is within the budget."""
        head = list(head)
        if len(head) == self._starts[-1]:
            return self.within(head)
        return bool(self._matching_feasible(head).any())

    def allowed(self, head: Sequence[int]) -> np.ndarray:
        """For the decision after ``head``: which of its choices keep a completion within the budget.

        A boolean array over the decision's choices; all False only where ``head`` itself is infeasible.
        """
        head = list(head)
        if len(head) >= self._starts[-1]:
            raise ValueError(f"SizeBudget.allowed: head has {len(head)} indices; no decision follows a full architecture")
        stage, offset = self._locate(len(head))
        rows = self._matching_feasible(head)
        size = self.space.decisions(stage)[offset].size
        return np.bincount(self._options[stage - 1][rows, offset], minlength=size) > 0

    def violation(self, head: Sequence[int]) -> float:
        """How far the cheapest completion of ``head`` exceeds the budget, relative to it.

        ``max over metrics (cost / limit - 1)`` of the best completion: 0 or less exactly when
        ``feasible(head)``; an Optuna constraint value.
        """
        head = list(head)
        cells = self._split(head)
        spent = self._spent(cells)
        if len(cells) == self.space.num_cells:
            totals = spent[None, :]
        else:
            stage = len(cells) + 1
            partial = head[self._starts[len(cells)] :]
            options = self._options[stage - 1]
            rows = np.all(options[:, : len(partial)] == np.asarray(partial, dtype=np.int64), axis=1)
            ends = self._costs[stage - 1][rows][:, None, :] + self._fronts[stage][None, :, :]
            totals = spent[None, :] + ends.reshape(-1, len(self.names))
        limited = np.isfinite(self._limits)
        if not limited.any():
            return -1.0
        excess = totals[:, limited] / self._limits[limited] - 1.0
        return float(excess.max(axis=1).min())

    def feasible_options(self, head: Sequence[int]) -> int:
        """How many options of the cell that starts after ``head`` keep a completion within the budget."""
        head = list(head)
        if self._locate(len(head))[1] != 0:
            raise ValueError("SizeBudget.feasible_options: head must end at a cell boundary")
        return int(self._matching_feasible(head).sum())

    def feasible_fraction(self, max_architectures: int = 10**7) -> float:
        """The fraction of the space's full architectures within the budget, counted exactly."""
        if self.space.size() > max_architectures:
            raise ValueError(
                f"SizeBudget.feasible_fraction: the space has {self.space.size():,} architectures, more than "
                f"{max_architectures:,} to count; pass a larger max_architectures"
            )
        totals = self.base[None, :]
        for costs in self._costs:
            totals = (totals[:, None, :] + costs[None, :, :]).reshape(-1, len(self.names))
        return float(np.all(totals <= self._limits, axis=1).mean())

    # --- internals ---------------------------------------------------------------------------

    def _locate(self, position: int) -> tuple[int, int]:
        """The (stage, index within the cell) of the decision at flat ``position``."""
        for stage in range(1, self.space.num_cells + 1):
            if position < self._starts[stage]:
                return stage, position - self._starts[stage - 1]
        raise ValueError(f"SizeBudget: position {position} is past the last decision")

    def _split(self, indices: Sequence[int]) -> list[tuple[int, ...]]:
        """The complete cells of ``indices``, as tuples of choice indices."""
        cells = []
        for stage in range(1, self.space.num_cells + 1):
            if len(indices) < self._starts[stage]:
                break
            cells.append(tuple(int(i) for i in indices[self._starts[stage - 1] : self._starts[stage]]))
        return cells

    def _spent(self, cells: Sequence[tuple[int, ...]]) -> np.ndarray:
        spent = self.base.copy()
        for stage, cell in enumerate(cells, start=1):
            spent += self._costs[stage - 1][self._row(stage, cell)]
        return spent

    def _row(self, stage: int, cell: tuple[int, ...]) -> int:
        # Options are in itertools.product order: the row is the mixed-radix number of the cell.
        row = 0
        for decision, index in zip(self.space.decisions(stage), cell):
            row = row * decision.size + index
        return row

    def _cell_feasible(self, cells: tuple[tuple[int, ...], ...]) -> np.ndarray:
        """Which options of the next cell, after complete ``cells``, leave a completion within the budget."""
        found = self._feasible_cache.get(cells)
        if found is None:
            stage = len(cells) + 1
            slack = self._limits - self._spent(cells)
            ends = self._costs[stage - 1][:, None, :] + self._fronts[stage][None, :, :]  # (options, front, metrics)
            found = np.all(ends <= slack, axis=2).any(axis=1)
            if len(self._feasible_cache) >= _CACHE_LIMIT:
                self._feasible_cache.clear()
            self._feasible_cache[cells] = found
        return found

    def _matching_feasible(self, head: list[int]) -> np.ndarray:
        """Rows of the current cell's options that extend ``head`` and leave a completion within the budget."""
        cells = self._split(head)
        stage = len(cells) + 1
        partial = head[self._starts[len(cells)] :]
        rows = self._cell_feasible(tuple(cells))
        if partial:
            options = self._options[stage - 1]
            rows = rows & np.all(options[:, : len(partial)] == np.asarray(partial), axis=1)
        return rows


def _pareto_min(points: np.ndarray) -> np.ndarray:
    """The points that no other point is at most in every metric and below in one, (n, m) -> (k, m)."""
    points = np.unique(points, axis=0)  # sorted lexicographically
    kept: list[np.ndarray] = []
    for point in points:
        if not any(np.all(other <= point) for other in kept):
            kept.append(point)
    return np.asarray(kept).reshape(-1, points.shape[1])


def draw_within(
    budget: SizeBudget, head: Sequence[int], sizes: Sequence[int], integers: Callable[[int], int], tries: int = 1000
) -> list[int]:
    """Choice indices for decisions of ``sizes`` after ``head``, uniform over those within the budget.

    Rejection sampling is exactly uniform over the feasible choices; where fewer than about one
    draw in ``tries`` is feasible it falls back to a uniform choice among each decision's
    allowed choices in turn, which stays within the budget but favours the rarer branches.
    """
    head = list(head)
    for _ in range(tries):
        indices = [int(integers(size)) for size in sizes]
        if budget.feasible(head + indices):
            return indices
    indices = []
    for _ in sizes:
        choices = np.flatnonzero(budget.allowed(head + indices))
        indices.append(int(choices[int(integers(len(choices)))]))
    return indices


def uniform_log_prob(budget: SizeBudget | None, head: Sequence[int], sizes: Sequence[int]) -> float:
    """The log-probability of one uniform draw over the feasible choices of ``sizes`` after ``head``.

    Counted exactly when one cell is decided (multi-level search); NaN when several are, where
    counting would mean enumerating their product.
    """
    if budget is None:
        return -sum(math.log(size) for size in sizes)
    head = list(head)
    stage, offset = budget._locate(len(head))
    if offset == 0 and len(sizes) == len(budget.space.decisions(stage)):
        return -math.log(budget.feasible_options(head))
    return math.nan
