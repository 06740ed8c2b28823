"""Where and on how many threads torch runs, as a config's ``run`` section asks, and what suits that device.

On CUDA: cuDNN autotuning, TF32 (``run.tf32``) and fused Adam.  Other devices keep torch's
defaults, so CPU results do not depend on this module.  A worker's device follows what Ray
assigned it (:func:`choose_device`), and what it hands back is host data (:func:`to_host`).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from autogan.errors import ConfigError

# Where Linux's NVIDIA kernel module states its version, readable without starting CUDA.
_DRIVER_VERSION_FILE = Path("/proc/driver/nvidia/version")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("run.device='cuda': no CUDA device is visible; use run.device=cpu or auto")
    return torch.device(name)


def _cuda_cannot_start(requested: str, gpu_ids: Sequence[Any], driver_version: str | None, torch_cuda: str | None) -> ConfigError:
    if torch_cuda is None:
        build = f"torch {torch.__version__} is built without CUDA"
        fix = "install a CUDA build of torch (the autogan image has one)"
    else:
        build = f"torch {torch.__version__} is built for CUDA {torch_cuda}"
        fix = f"install an NVIDIA driver that supports CUDA {torch_cuda} (cu130 wheels need driver >= 580) or a torch built for this driver"
    return ConfigError(
        f"run.device={requested!r}: Ray assigned this worker GPU {', '.join(map(str, gpu_ids))}, but torch cannot "
        f"start CUDA (host NVIDIA driver {driver_version or 'not found'}; {build}); {fix}, or set "
        "run.trainer_gpus=0 and run.evaluator_gpus=0 to run on the CPU"
    )


def choose_device(
    requested: str,
    *,
    gpu_ids: Sequence[Any] | None,
    cuda_available: bool,
    driver_version: str | None,
    torch_cuda: str | None,
) -> torch.device:
    """The device a worker runs on: a pure function of what it was asked and what it was given.

    ``gpu_ids``: the GPUs Ray assigned this worker, or None outside a Ray actor (the
    in-process backend, a plain script), where ``auto`` means CUDA if torch sees it.
    Inside Ray, ``auto`` is Ray's assignment: CUDA when it gave GPUs (and an error naming the
    driver and torch's CUDA when CUDA cannot start, rather than hours on the CPU), the CPU when
    it gave none, even if CUDA is visible: a GPU Ray did not count is someone else's.
    """
    if requested not in ("auto", "cuda") and not requested.startswith("cuda:"):
        return torch.device(requested)
    if gpu_ids is None:
        if requested == "auto":
            return torch.device("cuda" if cuda_available else "cpu")
        if not cuda_available:
            raise ConfigError(f"run.device={requested!r}: no CUDA device is visible; use run.device=cpu or auto")
        return torch.device(requested)
    if not gpu_ids:
        if requested == "auto":
            return torch.device("cpu")
        raise ConfigError(
            f"run.device={requested!r}: Ray assigned this worker no GPU; set run.trainer_gpus and "
            "run.evaluator_gpus above 0 (fractions share one GPU), or use run.device=auto to run on the CPU"
        )
    if not cuda_available:
        raise _cuda_cannot_start(requested, gpu_ids, driver_version, torch_cuda)
    # Ray narrows CUDA_VISIBLE_DEVICES to the assigned GPUs, so the first visible one is ours.
    return torch.device("cuda" if requested == "auto" else requested)


def nvidia_driver_version() -> str | None:
    """The host's NVIDIA driver version, read without starting CUDA; None where there is none."""
    try:
        text = _DRIVER_VERSION_FILE.read_text()
    except OSError:
        return None
    for word in text.split():
        if word[:1].isdigit() and "." in word:
            return word
    return None


@dataclass(frozen=True)
class Placement:
    """Where one worker runs, as it reports it to the driver (plain values: it crosses to the driver)."""

    device: str
    gpu: str | None  # the GPU's name on CUDA
    assigned_gpus: tuple[str, ...] | None  # what Ray assigned; None outside Ray
    host: str
    torch: str
    torch_cuda: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "gpu": self.gpu,
            "assigned_gpus": None if self.assigned_gpus is None else list(self.assigned_gpus),
            "host": self.host,
            "torch": self.torch,
            "torch_cuda": self.torch_cuda,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Placement":
        assigned = data.get("assigned_gpus")
        return cls(
            device=str(data.get("device")),
            gpu=data.get("gpu"),
            assigned_gpus=None if assigned is None else tuple(str(i) for i in assigned),
            host=str(data.get("host")),
            torch=str(data.get("torch")),
            torch_cuda=data.get("torch_cuda"),
        )

    def describe(self) -> str:
        where = f"{self.device} ({self.gpu})" if self.gpu else self.device
        if self.assigned_gpus is not None:
            where += f", Ray GPUs [{', '.join(self.assigned_gpus)}]"
        return f"{where} on {self.host}"


def describe_workers(workers: Sequence[dict[str, Any]]) -> str:
    """One line for the workers' ``device_info()``: ``trainer cuda:0 (NVIDIA H200) on h; 2 evaluators ...``."""
    groups: dict[tuple[str, str], int] = {}
    for worker in workers:
        where = Placement.from_dict(worker).describe()
        if worker.get("threads"):
            where += f", {worker['threads']} thread{'s' if worker['threads'] != 1 else ''}"
        key = (str(worker.get("role")), where)
        groups[key] = groups.get(key, 0) + 1
    return "; ".join(
        f"{role} {where}" if count == 1 else f"{count} {role}s {where}" for (role, where), count in groups.items()
    )


def place_worker(requested: str, gpu_ids: Sequence[Any] | None) -> Placement:
    """Choose this process's device for a worker that Ray gave ``gpu_ids`` (None: not a Ray actor).

    A worker given no GPU hides CUDA from torch before anything starts it, so no later
    ``torch.cuda`` call lands on a GPU outside Ray's accounting (Ray 2.60 no longer empties
    ``CUDA_VISIBLE_DEVICES`` for such actors).
    """
    if gpu_ids is not None and not gpu_ids:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        cuda_available = False
    else:
        cuda_available = torch.cuda.is_available()
    device = choose_device(
        requested,
        gpu_ids=gpu_ids,
        cuda_available=cuda_available,
        driver_version=nvidia_driver_version() if gpu_ids else None,
        torch_cuda=torch.version.cuda,
    )
    return Placement(
        device=str(device),
        gpu=torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        assigned_gpus=None if gpu_ids is None else tuple(str(i) for i in gpu_ids),
        host=socket.gethostname(),
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
    )


def to_host(payload: Any) -> Any:
    """``payload`` with every tensor copied to CPU memory: what an actor returns to the driver.

    Nested dicts, lists and tuples (optimizer and generator states) are rebuilt, other
    values pass through.  Copies even CPU tensors, so the result never aliases live weights
    that the next training step changes, and carries no device tag that a head without CUDA
    could not unpickle.
    """
    if isinstance(payload, torch.Tensor):
        return payload.detach().to("cpu", copy=True)
    if isinstance(payload, dict):
        return type(payload)((key, to_host(value)) for key, value in payload.items())
    if isinstance(payload, tuple) and hasattr(payload, "_fields"):  # a named tuple
        return type(payload)(*(to_host(value) for value in payload))
    if isinstance(payload, (list, tuple)):
        return type(payload)(to_host(value) for value in payload)
    return payload


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


@contextlib.contextmanager
def ieee_float32() -> Iterator[None]:
    """Inside, CUDA float32 matmuls and convolutions run in IEEE float32 whatever ``run.tf32`` set.

    Feature extractors run under it: IS and FID are defined in float32, and a worker that
    trains in TF32 shares its process flags with the extractor.  The flags are restored on exit.
    """
    saved = _fp32_precision()
    _set_fp32_precision("ieee")
    try:
        yield
    finally:
        _restore_fp32_precision(saved)


def _fp32_precision() -> tuple:
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        return (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision)
    return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)


def _restore_fp32_precision(saved: tuple) -> None:
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision = saved
    else:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


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
