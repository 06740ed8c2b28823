"""Inception computes IS and FID in IEEE float32 even in a worker that trains in TF32 (``run.tf32``)."""

from __future__ import annotations

import torch

from torch_probes import precision_flags


def test_the_inception_forward_runs_in_ieee_float32_under_run_tf32(metrics_inception_extractor, tf32_on):
    extractor = metrics_inception_extractor
    seen = []
    hook = extractor.module.register_forward_pre_hook(lambda module, args: seen.append(precision_flags()))
    try:
        features, logits = extractor(torch.zeros(2, 3, 32, 32))
    finally:
        hook.remove()
    assert seen == [("ieee", "ieee")]
    assert precision_flags() == ("tf32", "tf32")  # the trainer's choice is back for its own work
    assert features.dtype == logits.dtype == torch.float32
