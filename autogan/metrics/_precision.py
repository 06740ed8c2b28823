"""When rewards run under bfloat16 autocast: ``search.reward_bf16`` resolved for a device and an extractor.

Only the networks run in bfloat16 (the generator and the feature extractor); their
outputs come back as float32, and IS and FID are computed in float64 as always.
"""

from __future__ import annotations

import contextlib

import torch

# What "auto" turns on, on CUDA, by extractor; an extractor not listed stays in float32.  Set from
# bench/reward_precision.py (results/reward_precision_cpu.json: CPU bf16 autocast standing in for
# CUDA's), against issue 15's goal of an IS within 0.5% of float32's:
# - digits-classifier: on.  Worst deviation 0.415% (a random-weight supernet's samples, 500 of them;
#   its bf16 output puts about half the pixels on another uint8 level), 0.054% after 300 D steps of
#   training, 0.004% on real digits.
# - inception-v3: off.  Only random weights could be measured here, whose logits hardly depend on
#   the image (IS 1.0002), so their 0.001% says nothing about the published network; run the bench
#   with --device cuda --inception-weights on the published file before turning it on.
AUTO_BF16_ON_CUDA: dict[str, bool] = {"digits-classifier": True, "inception-v3": False}


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
