"""Weights a retraining inherits from a search: its final supernet's generator path and discriminator.

It reads a search's record, so it lives above both ``autogan.search`` and ``autogan.retrain``
(retraining never imports the search); the callers that start a retraining hand it in.

Fine-tuning inherited weights is how one-shot NAS estimates a candidate cheaply (the candidate is
copied out of the supernet and trained on for a while); retraining from them also measures how
much of the supernet's training a stand-alone network keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from search_spaces import Architecture, SearchSpace

from autogan.errors import UserError


def inherited_state(run_dir: Path | str, arch: Architecture, g_args: dict[str, Any], d_args: dict[str, Any]):
    """``(generator state, discriminator state)`` of ``arch`` on the last checkpointed supernet of ``run_dir``.

    The retrained networks must have the supernet's shapes; a mismatch names the keys to set.
    """
    from autogan.nn import Generator
    from autogan.search import RunDirectory, build_models
    from autogan.search._checkpoint import load_checkpoint

    where = f"train.init_from={run_dir}"
    record = RunDirectory.open(run_dir)
    checkpoint = load_checkpoint(record)
    if checkpoint is None:
        raise UserError(f"{where}: the search has written no checkpoint yet; wait for its first iteration to end")
    config = record.config()
    wanted = {
        "model.ch": (g_args["ch"], config.model.ch),
        "model.latent_dim": (g_args["latent_dim"], config.model.latent_dim),
        "model.bottom_width": (g_args["bottom_width"], config.model.bottom_width),
        "model.df": (d_args["df"], config.model.df),
        "model.d_extra_blocks": (d_args.get("extra_blocks", 0), 0),
        "data.channels": (g_args["out_channels"], config.data.channels),
        "model.skip_semantics": (
            "reference" if g_args["skip_out_includes_skip_ins"] else "clean", config.model.skip_semantics),
    }
    differ = {key: searched for key, (retrained, searched) in wanted.items() if retrained != searched}
    if differ:
        fix = " ".join(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}" for key, value in differ.items())
        raise UserError(f"{where}: the retrained networks differ from the search's supernet; set {fix} to inherit its weights")
    if g_args.get("spectral_norm"):
        raise UserError(f"{where}: the supernet's generator has no spectral norm; set model.g_spectral_norm=false")
    space = SearchSpace(num_cells=config.search.num_cells)
    if len(arch.cells) != space.num_cells:
        raise UserError(f"{where}: {arch} has {len(arch.cells)} cells, the search's supernet {space.num_cells}")
    supernet, discriminator = build_models(config, space, 0, torch.device("cpu"))
    trainer = checkpoint["trainer"]
    supernet.load_state_dict(trainer["generator"])
    discriminator.load_state_dict(trainer["discriminator"])
    return Generator.from_supernet(supernet, arch).state_dict(), discriminator.state_dict()
