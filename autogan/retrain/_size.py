"""An architecture's size where it would be used: its derived generator at the retrain width.

The search trains a narrower supernet than the retrain preset builds, so parameters and GMACs
are counted at the width ``autogan retrain RUN --rank N`` would use (the preset of the run's
dataset): a size budget, the report's columns and the comparison all name that width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from search_spaces import Architecture

from autogan.retrain._plan import default_retrain_config


@dataclass(frozen=True)
class RetrainWidth:
    """The derived generator's constructor widths, and the retrain preset they come from."""

    preset: str
    ch: int
    latent_dim: int
    bottom_width: int
    out_channels: int

    def describe(self) -> str:
        return f"at the retrain width of preset {self.preset!r} (ch {self.ch}, latent {self.latent_dim})"


def retrain_width(run_config: Any) -> RetrainWidth:
    """The width ``autogan retrain RUN --rank N`` would build for a run with ``run_config``."""
    config, preset = default_retrain_config(run_config)
    return RetrainWidth(preset, config.model.ch, config.model.latent_dim, config.model.bottom_width, config.data.channels)


def architecture_size(arch: Architecture, width: RetrainWidth) -> dict[str, Any]:
    """``params``, ``macs`` and ``gmacs`` per image of ``arch``'s generator at ``width``, with the width named."""
    params, macs = _cost(arch, width.ch, width.latent_dim, width.bottom_width, width.out_channels)
    return {"params": params, "macs": macs, "gmacs": macs / 1e9, "ch": width.ch, "latent_dim": width.latent_dim,
            "preset": width.preset}


@lru_cache(maxsize=4096)  # a watched report recounts the same ranking every few seconds
def _cost(arch: Architecture, ch: int, latent_dim: int, bottom_width: int, out_channels: int) -> tuple[int, int]:
    from autogan.nn import generator_cost

    cost = generator_cost(arch, ch, latent_dim, bottom_width, out_channels)
    return cost.params, cost.macs
