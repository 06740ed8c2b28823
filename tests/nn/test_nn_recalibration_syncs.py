"""BatchNorm recalibration gives today's statistics without reading the device back once per norm."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from autogan.nn import SupernetGenerator, recalibrate_batch_norms, running_statistics
from autogan.nn._norm_statistics import batch_norms
from search_spaces import AUTOGAN_TOP1, SearchSpace


def _host_reads():
    # The project's one definition of a host read, from the training steps' own check.
    path = Path(__file__).resolve().parents[1] / "train" / "test_train_host_syncs.py"
    spec = importlib.util.spec_from_file_location("_train_host_syncs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.host_reads


host_reads = _host_reads()
LATENT = 16


@pytest.fixture
def supernet():
    generator = SupernetGenerator(SearchSpace(), ch=8, latent_dim=LATENT, bottom_width=2, seed=3)
    assert len(batch_norms(generator)) > 1
    return generator


def _latents(samples: int) -> list[torch.Tensor]:
    return list(torch.randn(samples, LATENT, generator=torch.Generator().manual_seed(4)).split(8))


def _forward(generator, batches):
    source = iter(batches)
    return lambda n: generator(next(source)[:n], AUTOGAN_TOP1)


@torch.no_grad()
def _recalibrated_by_torchs_cumulative_average(generator, batches, samples, batch_size):
    """The previous implementation: momentum=None, which makes torch divide by num_batches_tracked."""
    norms = batch_norms(generator)
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    generator.train()
    forward = _forward(generator, batches)
    for start in range(0, samples, batch_size):
        forward(min(batch_size, samples - start))
    for norm in norms:
        norm.momentum = 0.1
    generator.eval()
    return running_statistics(generator)


def test_the_statistics_are_bit_identical_to_torchs_cumulative_average(supernet):
    samples, batch_size = 20, 8  # batches of 8, 8 and 4: unequal weights would show
    reference = _recalibrated_by_torchs_cumulative_average(supernet, _latents(samples), samples, batch_size)
    recalibrate_batch_norms(supernet, _forward(supernet, _latents(samples)), samples, batch_size=batch_size)
    ours = running_statistics(supernet)
    assert ours.keys() == reference.keys()
    for key in ours:
        assert torch.equal(ours[key], reference[key]), key
    assert all(norm.momentum == 0.1 for norm in batch_norms(supernet)) and not supernet.training
    assert not any(norm._forward_pre_hooks for norm in batch_norms(supernet))


def test_recalibration_reads_nothing_back_from_the_device(supernet):
    samples, batch_size = 20, 8
    batches = _latents(samples)
    reads = host_reads(
        lambda: recalibrate_batch_norms(supernet, _forward(supernet, batches), samples, batch_size=batch_size)
    )
    assert reads == []
