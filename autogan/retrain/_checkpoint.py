"""Retrain checkpoints: their format tag, and reading one back into a generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from autogan.checkpoints import load_checkpoint_file
from autogan.errors import UserError, first_line
from autogan.retrain._models import build_generator

CHECKPOINT_FORMAT = "autogan.retrain"
CHECKPOINT_VERSION = 1


def load_retrain_checkpoint(path: Path | str) -> dict[str, Any]:
    """A retrain checkpoint (``latest.pt`` or ``best.pt``), checked for its format; errors name the fix."""
    data = load_checkpoint_file(Path(path), what="checkpoint")
    if data.get("format") != CHECKPOINT_FORMAT:
        hint = " (it looks like a search checkpoint; retrain an architecture first)" if "trainer" in data else ""
        raise UserError(
            f"checkpoint {path}: not an autogan retrain checkpoint{hint}; pass checkpoints/latest.pt or best.pt "
            "of an `autogan retrain` directory"
        )
    if data.get("version", 0) > CHECKPOINT_VERSION:
        raise UserError(f"checkpoint {path}: written by a newer autogan (version {data.get('version')}); upgrade autogan")
    return data


def generator_from_checkpoint(checkpoint: dict[str, Any], *, weights: str = "ema", device: str | torch.device = "cpu") -> nn.Module:
    """The generator a checkpoint holds, rebuilt from its stored arguments, in eval mode.

    ``weights``: ``"ema"`` (the averaged generator, what retraining delivers) or ``"raw"``.
    """
    key = {"ema": "generator_ema", "raw": "generator"}.get(weights)
    if key is None:
        raise UserError(f"weights {weights!r}: choose 'ema' or 'raw'")
    try:
        generator = build_generator(checkpoint["model"]["generator"])
        generator.load_state_dict(checkpoint[key])
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise UserError(
            f"checkpoint: its generator cannot be rebuilt ({first_line(exc)}); "
            "it is damaged or from an incompatible autogan version"
        ) from None
    return generator.to(device).eval()
