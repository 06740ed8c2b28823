"""Where and on how many threads torch runs, as a config's ``run`` section asks, and what suits that device.

On CUDA: cuDNN autotuning, TF32 (``run.tf32``) and fused Adam.  Other devices keep torch's
defaults, so CPU results do not depend on this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

from autogan.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("run.device='cuda': no CUDA device is visible; use run.device=cpu or auto")
    return torch.device(name)


def set_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class BackendSettings:
    """Process-wide torch switches for a device: what :func:`configure_backends` sets.

    ``None`` leaves a switch as torch has it, which is what every device but CUDA gets,
    so CPU results never depend on these settings.
    """

    cudnn_benchmark: bool | None = None
    fp32_precision: str | None = None  # "tf32" | "ieee", for CUDA matmuls and cuDNN convolutions


def backend_settings(device: torch.device, *, tf32: bool) -> BackendSettings:
    """cuDNN autotuning, and TF32 as ``run.tf32`` asks, on CUDA; nothing elsewhere."""
    if device.type != "cuda":
        return BackendSettings()
    # The search runs a few fixed shapes millions of times, so cuDNN's one-off autotuning pays back.
    return BackendSettings(cudnn_benchmark=True, fp32_precision="tf32" if tf32 else "ieee")


def configure_backends(device: torch.device, *, tf32: bool) -> BackendSettings:
    """Apply :func:`backend_settings` for ``device`` to this process, and return them."""
    settings = backend_settings(device, tf32=tf32)
    if settings.cudnn_benchmark is not None:
        torch.backends.cudnn.benchmark = settings.cudnn_benchmark
    if settings.fp32_precision is not None:
        _set_fp32_precision(settings.fp32_precision)
    return settings


def _set_fp32_precision(precision: str) -> None:
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        # torch >= 2.9 warns about the allow_tf32 flags, and refuses to report state set through
        # both APIs, so only the new one is used where it exists.
        torch.backends.cuda.matmul.fp32_precision = precision
        torch.backends.cudnn.conv.fp32_precision = precision
    else:
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"


def adam(params: Iterable[torch.nn.Parameter], device: torch.device, **options: Any) -> torch.optim.Adam:
    """Adam with the fastest implementation for ``device``.

    On CUDA the fused implementation, whose step is one kernel per chunk of parameters
    instead of a chain of foreach kernels: small batches are bound by launches.  Elsewhere
    the foreach implementation: one dispatch per update rule for all parameters instead of
    a Python loop over them, and on the CPU it runs the same per-tensor kernels in the same
    order, so results are bit for bit torch's default (tests/test_device.py checks it).
    CPU fused Adam is faster still but rounds differently.
    """
    if device.type == "cuda":
        options["fused"] = True
    else:
        options.setdefault("foreach", True)
    return torch.optim.Adam(params, **options)
