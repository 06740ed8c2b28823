"""Where and on how many threads torch runs, as a config's ``run`` section asks."""

from __future__ import annotations

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
