"""Size-aware search: the hard budget the controllers keep to, and the soft size factor of a reward.

Both count the derived generator at the retrain width (``autogan.retrain.retrain_width``): the search's
supernet is narrower than what ``autogan retrain`` builds, and it is the retrained generator
whose size a budget is about.
"""

from __future__ import annotations

import math
from typing import Any

from search_spaces import Architecture, SearchSpace

from autogan.errors import ConfigError

#: The budget's metrics, in the order of SizeBudget's cost vectors.
METRICS = ("params", "macs")


def size_costs(config: Any, space: SearchSpace) -> tuple[Any, Any]:
    """The retrain width and the per-cell cost table of ``space`` at that width."""
    from autogan.nn import cell_costs
    from autogan.retrain import retrain_width

    width = retrain_width(config)
    return width, cell_costs(space, width.ch, width.latent_dim, width.bottom_width, width.out_channels)


def size_budget(config: Any, space: SearchSpace) -> Any:
    """The ``SizeBudget`` of ``search.max_params`` / ``search.max_gmacs``, or None without one.

    A budget below every generator of the space is a ``ConfigError`` naming the floor and a value
    that works: a search under it could propose nothing.
    """
    from controllers import SizeBudget

    search = config.search
    if not (search.max_params > 0 or search.max_gmacs > 0):
        return None
    width, costs = size_costs(config, space)
    limits = (search.max_params if search.max_params > 0 else math.inf,
              search.max_gmacs * 1e9 if search.max_gmacs > 0 else math.inf)
    budget = SizeBudget(space, METRICS, costs.base, costs.cells, limits)
    floor_params, floor_macs = budget.floor()
    where = f"the smallest generator in the space {width.describe()}"
    if limits[0] < floor_params:
        raise ConfigError(
            f"search.max_params={search.max_params} is below {where}: {int(floor_params):,} params; "
            f"set search.max_params to at least {int(floor_params)} or 0 for no budget"
        )
    if limits[1] < floor_macs:
        needed = _gmacs_at_least(floor_macs)
        raise ConfigError(
            f"search.max_gmacs={search.max_gmacs:g} is below {where}: {floor_macs / 1e9:.6g} GMACs; "
            f"set search.max_gmacs to at least {needed:g} or 0 for no budget"
        )
    if not budget.feasible(()):
        # Each limit alone is met by some generator, but no one generator meets both.
        cheapest = min(macs for params, macs in budget.front() if params <= limits[0])
        needed = _gmacs_at_least(cheapest)
        raise ConfigError(
            f"search.max_params={search.max_params} and search.max_gmacs={search.max_gmacs:g} together exclude every "
            f"generator in the space {width.describe()}; set search.max_gmacs to at least {needed:g}, or raise "
            "search.max_params"
        )
    return budget


def _gmacs_at_least(macs: float) -> float:
    """``macs`` in GMACs, rounded up to the kilo-MAC, so that the value an error names is enough."""
    return math.ceil(macs / 1e3) / 1e6


def budget_summary(config: Any, space: SearchSpace) -> dict[str, Any] | None:
    """What ``inspect`` shows of a run's size terms: the limits, the targets, the width they are counted at."""
    search = config.search
    hard = search.max_params > 0 or search.max_gmacs > 0
    soft = search.size_target_params > 0 or search.size_target_gmacs > 0
    if not (hard or soft):
        return None
    width, costs = size_costs(config, space)
    floor = [costs.base[i] + sum(min(c[i] for c in table.values()) for table in costs.cells) for i in range(2)]
    summary: dict[str, Any] = {
        "max_params": search.max_params or None,
        "max_gmacs": search.max_gmacs or None,
        "size_target_params": search.size_target_params or None,
        "size_target_gmacs": search.size_target_gmacs or None,
        "size_weight": search.size_weight if soft else None,
        "floor_params": int(floor[0]),
        "floor_gmacs": floor[1] / 1e9,
        "width": {"preset": width.preset, "ch": width.ch, "latent_dim": width.latent_dim},
    }
    return summary


def budget_text(summary: dict[str, Any] | None) -> str:
    """One line: ``size budget: at most 113,121 params, counted at the retrain width ...``."""
    if summary is None:
        return "size budget: none"
    width = summary["width"]
    where = f"at the retrain width of preset {width['preset']!r} (ch {width['ch']}, latent {width['latent_dim']})"
    parts = []
    if summary["max_params"]:
        parts.append(f"at most {summary['max_params']:,} params")
    if summary["max_gmacs"]:
        parts.append(f"at most {summary['max_gmacs']:g} GMACs")
    targets = []
    if summary["size_target_params"]:
        targets.append(f"{summary['size_target_params']:,} params")
    if summary["size_target_gmacs"]:
        targets.append(f"{summary['size_target_gmacs']:g} GMACs")
    if targets:
        parts.append(f"reward x (size / target) ^ {summary['size_weight']:g}, target {' and '.join(targets)}")
    return f"size budget: {'; '.join(parts)}, {where}; the space's smallest has {summary['floor_params']:,} params"


class SizeFactor:
    """MnasNet's soft size term: ``reward * prod over targets (cost / target) ** weight``.

    Costs come from the same per-cell table as the budget, so they are exact and cost no network.
    """

    def __init__(self, config: Any, space: SearchSpace) -> None:
        search = config.search
        self.weight = search.size_weight
        self.targets = (search.size_target_params or None, search.size_target_gmacs * 1e9 or None)
        self.space = space
        _, costs = size_costs(config, space)
        self._base, self._cells = costs.base, costs.cells

    @staticmethod
    def wanted(config: Any) -> bool:
        return config.search.size_target_params > 0 or config.search.size_target_gmacs > 0

    def cost(self, arch: Architecture) -> tuple[int, int]:
        """``(params, macs)`` of a full architecture at the retrain width."""
        params, macs = self._base
        vector = self.space.encode(arch)
        start = 0
        for stage, table in enumerate(self._cells, start=1):
            end = start + len(self.space.decisions(stage))
            cell_params, cell_macs = table[tuple(vector[start:end])]
            params, macs = params + cell_params, macs + cell_macs
            start = end
        return params, macs

    def factor(self, arch: Architecture) -> float:
        """The multiplier of ``arch``'s reward; a prefix (an earlier stage) is counted with the cheapest completion."""
        if len(arch.cells) < self.space.num_cells:
            arch = _cheapest_completion(self.space, arch, self._cells)
        factor = 1.0
        for cost, target in zip(self.cost(arch), self.targets):
            if target:
                factor *= (cost / target) ** self.weight
        return factor


def shaped_reward(raw: float | None, factor: float) -> float | None:
    """The reward a controller learns from: the raw reward times the size factor (a failed one stays failed)."""
    if raw is None or not math.isfinite(raw):
        return None
    return raw * factor


def _cheapest_completion(space: SearchSpace, prefix: Architecture, cells: Any) -> Architecture:
    """``prefix`` completed with each later cell's fewest-params option."""
    vector = list(space.encode(prefix))
    for stage in range(len(prefix.cells) + 1, space.num_cells + 1):
        table = cells[stage - 1]
        vector += list(min(table, key=lambda option: table[option]))
    return space.decode(vector)
