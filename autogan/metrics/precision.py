"""When rewards run under bfloat16 autocast: ``search.reward_bf16`` resolved for a device and an extractor.

Only the networks run in bfloat16 (the generator and the feature extractor); their
outputs come back as float32, and IS and FID are computed in float64 as always.
"""

from __future__ import annotations

import contextlib

import torch

# What "auto" turns on, on CUDA, by extractor; an extractor not listed stays in float32.
# Nothing until its deviation from float32 has been measured.
AUTO_BF16_ON_CUDA: dict[str, bool] = {"digits-classifier": False, "inception-v3": False}


def reward_bf16(setting: str | bool, device: torch.device, extractor: str) -> bool:
    """Whether rewards on ``device`` scored by ``extractor`` run in bfloat16.

    ``true`` and ``false`` are taken as given, on any device.  ``"auto"`` is on only on
    CUDA, and only for an extractor whose bf16 deviation was measured small enough; off
    CUDA it is always off, so a CPU search keeps its float32 results.
    """
    if setting == "auto":
        return device.type == "cuda" and AUTO_BF16_ON_CUDA.get(extractor, False)
    return bool(setting)


def bf16_autocast(device: torch.device, enabled: bool):
    """``torch.autocast`` to bfloat16 on ``device`` when ``enabled``, else a context that does nothing."""
    if enabled:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
