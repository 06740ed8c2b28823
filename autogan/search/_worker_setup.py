"""What both workers of a search set up alike: their device, their supernet, the stage resolutions.

Both workers are plain classes; ``workers`` turns them into Ray actors (or keeps them
in-process).  They are built from the resolved config dict, so a restarted actor rebuilds
itself without the driver's help.
"""

from __future__ import annotations

from typing import Any

import torch

from search_spaces import SearchSpace

from autogan.config import Config
from autogan.device import Placement, place_worker
from autogan.log import logger


def stage_resolution(config: Config, stage: int) -> int:
    """The side of a stage-``stage`` generator's images: what that stage trains and is scored at."""
    return config.model.bottom_width * 2**stage


def final_resolution(config: Config) -> int:
    """The side of the full generator's images: what the dataset is loaded at."""
    return stage_resolution(config, config.search.num_cells)


def place(role: str, config: Config) -> Placement:
    """This worker's device, from ``run.device`` and what Ray assigned it, said once in its log."""
    from workers import assigned_gpus

    placement = place_worker(config.run.device, assigned_gpus())
    logger.info("%s on %s", role, placement.describe())
    return placement


def build_models(config: Config, space: SearchSpace, seed: int, device: torch.device):
    """Supernet G and D with a seeded initialization (the models own their RNG)."""
    from autogan.nn import Discriminator, SupernetGenerator

    generator = SupernetGenerator(
        space,
        ch=config.model.ch,
        latent_dim=config.model.latent_dim,
        bottom_width=config.model.bottom_width,
        out_channels=config.data.channels,
        skip_out_includes_skip_ins=config.model.skip_semantics == "reference",
        seed=seed % 2**62,
    )
    discriminator = Discriminator(
        df=config.model.df, in_channels=config.data.channels, stages=space.num_cells, seed=(seed + 1) % 2**62
    )
    return generator.to(device), discriminator.to(device)


def resolve_shared(value: Any) -> Any:
    """A value shared through the backend: a Ray object ref is fetched, anything else passes."""
    try:
        import ray
    except ImportError:
        return value
    if isinstance(value, ray.ObjectRef):
        return ray.get(value)
    return value
