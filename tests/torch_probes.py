"""What tests measure of torch itself: the ops a call dispatches, and the float32 precision switches."""

from __future__ import annotations

import torch


def top_level_aten_ops(call) -> int:
    """Aten ops dispatched by ``call()`` from Python or the autograd engine, not nested in another
    aten op: each is a kernel launch on a GPU."""
    from torch.profiler import profile

    with profile() as prof:
        call()
    count = 0
    for event in prof.events():
        parent = event.cpu_parent
        while parent is not None and not parent.name.startswith("aten::"):
            parent = parent.cpu_parent
        count += event.name.startswith("aten::") and parent is None
    return count


def precision_flags() -> tuple[str, str]:
    """CUDA matmuls' and cuDNN convolutions' float32 precision ("tf32" or "ieee"); settable on any build."""
    return torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision
