"""How a training step runs on its device: exactness options, bf16 autocast and memory layout.

Both step kinds take a ``StepOptions``; the defaults are exact float32 steps.  The CUDA-only
options are ignored elsewhere, so one config runs unchanged on a laptop and a GPU node.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class StepOptions:
    """How a step runs; the defaults are exact float32 steps."""

    bf16: bool = False  # bf16 autocast for G and D forwards; CUDA only, ignored elsewhere
    channels_last: bool = False  # NHWC images on CUDA; convert the models with ``to_channels_last``
    # One-stage: how fakes whose D gradient vanishes (hinge d < -1) get G's gradient.
    # "auto": "scale" when D has ``weight_grad_scaling`` (our Discriminator), else "extra-pass";
    # "scale": one backward, G's cotangent through those fakes, their D weight gradient zeroed;
    # "extra-pass": a second D forward + input-only backward on just those fakes;
    # "ignore": give them no G gradient (inexact; for measurements only).
    inactive: str = "auto"
    # A fake sample counts as inactive when |dL_G/dd| > max_ratio * |dL_D/dd|: its scaled
    # gradient would have lost precision in float32 (BCE reaches this at d < -27.6).
    max_ratio: float = 1e12


INACTIVE_METHODS = ("auto", "scale", "extra-pass", "ignore")

DEFAULT_OPTIONS = StepOptions()


def to_channels_last(*modules: nn.Module) -> None:
    """Put modules' 4-D weights in channels-last layout (use with ``StepOptions(channels_last=True)`` on CUDA)."""
    for module in modules:
        module.to(memory_format=torch.channels_last)


def _use_cuda_option(flag: bool, device: torch.device) -> bool:
    return flag and device.type == "cuda"


def step_autocast(options: StepOptions, device: torch.device):
    if _use_cuda_option(options.bf16, device):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


def step_layout(x: Tensor, options: StepOptions) -> Tensor:
    if _use_cuda_option(options.channels_last, x.device):
        return x.contiguous(memory_format=torch.channels_last)
    return x
