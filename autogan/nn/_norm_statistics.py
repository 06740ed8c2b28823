"""Which BatchNorm statistics a weight-shared supernet scores an architecture with.

Every architecture that passes through a supernet BatchNorm (``to_rgb``'s above all)
updates the same running statistics during training, so in eval mode an architecture
is normalised with a mixture of everyone's activations.  Single-path one-shot NAS
recomputes them per architecture before evaluating it; that is ``recalibrate`` here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

NORM_MODES = ("recalibrate", "batch", "running")

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, _BATCH_NORMS)]


def running_statistics(module: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every BatchNorm buffer (mean, var, count), to restore after a recalibration."""
    return {
        f"{name}.{buffer_name}": buffer.detach().clone()
        for name, norm in module.named_modules()
        if isinstance(norm, _BATCH_NORMS)
        for buffer_name, buffer in norm.named_buffers(recurse=False)
    }


def restore_running_statistics(module: nn.Module, saved: dict[str, torch.Tensor]) -> None:
    buffers = dict(module.named_buffers())
    with torch.no_grad():
        for key, value in saved.items():
            buffers[key].copy_(value)


def recalibrate_batch_norms(
    module: nn.Module, forward: Callable[[int], torch.Tensor], samples: int, batch_size: int = 500
) -> None:
    """Replace every BatchNorm's running statistics by their average over ``samples`` inputs.

    ``forward(n)`` runs ``n`` fresh inputs through ``module``, in batches of ``batch_size``.
    Each norm keeps an equal-weight average of its batches' statistics rather than an
    exponential one dominated by the last batch; with equal batches (or one, as with the
    search's default of 128 samples) the mean is exactly that of all the inputs.  Norms that
    ``forward`` never reaches keep zero mean and unit variance, and the module is left in eval mode.
    """
    # no_grad as a block, not a decorator: mutation testing (mutmut) skips decorated functions,
    # and this is the function whose exactness the reward rests on.
    with torch.no_grad():
        norms = batch_norms(module)
        momenta = [norm.momentum for norm in norms]
        # PyTorch's own equal-weight average (momentum=None) reads num_batches_tracked back to the
        # host at every batch of every norm, a device sync each; counting the batches here gives the
        # same factor 1/k, as the same Python float, without one.
        batches_seen: dict[nn.Module, int] = {}

        def cumulative_momentum(norm: nn.Module, inputs: tuple) -> None:
            batches_seen[norm] = batches_seen.get(norm, 0) + 1
            norm.momentum = 1.0 / batches_seen[norm]

        for norm in norms:
            norm.reset_running_stats()
        hooks = [norm.register_forward_pre_hook(cumulative_momentum) for norm in norms]
        module.train()
        try:
            for start in range(0, samples, batch_size):
                forward(min(batch_size, samples - start))
        finally:
            for hook in hooks:
                hook.remove()
            for norm, momentum in zip(norms, momenta):
                norm.momentum = momentum
            module.eval()


@contextlib.contextmanager
def batch_statistics(module: nn.Module) -> Iterator[None]:
    """Inside, BatchNorms normalise with each batch's own statistics; outside, as before.

    The running statistics are left exactly as they were.
    """
    norms = batch_norms(module)
    saved = running_statistics(module)
    modes = [norm.training for norm in norms]
    for norm in norms:
        norm.train()
    try:
        yield
    finally:
        for norm, mode in zip(norms, modes):
            norm.train(mode)
        restore_running_statistics(module, saved)
