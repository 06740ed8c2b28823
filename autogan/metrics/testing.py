"""Stand-ins for tests and benchmarks: what the real Inception weights look like, without them.

The weights cannot be downloaded on every machine that runs the tests or a speed benchmark, so
these build the published file's exact format with random values.  Nothing here belongs in a
score that anybody reads.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import torch
from torch import nn

from autogan.metrics._inception import _InceptionSkeleton


def random_inception_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict in the published file's exact format (names, shapes, dtypes) with seeded random values.

    For tests and speed benchmarks of the real network without the real weights;
    scores computed with it mean nothing.  Conv and linear weights are He-normal,
    batch norms the identity, so activations keep their scale through the depth.
    """
    with tempfile.TemporaryDirectory() as scratch, torch.device("meta"):
        empty = Path(scratch) / "empty.pth"
        with torch.device("cpu"):
            buffer = io.BytesIO()
            torch.save({}, buffer)
            empty.write_bytes(buffer.getvalue())
        skeleton = _InceptionSkeleton("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    skeleton = skeleton.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    for module in skeleton.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
            if module.bias is not None:
                nn.init.normal_(module.bias, std=0.01, generator=generator)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
            module.running_mean.zero_()
            module.running_var.fill_(1.0)
            module.num_batches_tracked.zero_()
    return {k: v.detach().clone() for k, v in skeleton.state_dict().items()}
