"""The SN-ResNet discriminator: stage-aware, per-sample, spectrally normalized."""

from __future__ import annotations

import pytest
import torch

from autogan.nn import Discriminator

from torch_probes import top_level_aten_ops


@pytest.mark.parametrize("stage,width,blocks", [(1, 8, 1), (2, 16, 2), (3, 32, 3)])
def test_each_stage_runs_only_its_blocks(stage, width, blocks):
    D = Discriminator(df=8)
    ran = []
    for index, block in enumerate(D.staged):
        block.register_forward_hook(lambda module, inputs, output, index=index: ran.append((index, output.shape[-1])))
    out = D(torch.randn(2, 3, width, width), stage=stage)
    assert out.shape == (2, 1)
    assert [index for index, _ in ran] == list(range(blocks))
    # The reference: 8 -> 4; 16 -> 8 -> 4; 32 -> 16 -> 8 -> 8.
    assert ran[-1][1] == {1: 4, 2: 4, 3: 8}[stage]


def test_full_forward_is_the_last_stage_and_deeper_variant_runs():
    D = Discriminator(df=8, seed=1)
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(D.eval()(x), D(x, stage=3))
    deeper = Discriminator(df=8, extra_blocks=1, extra_downsample=True)
    assert deeper(torch.randn(2, 3, 48, 48)).shape == (2, 1)
    assert sum(p.numel() for p in deeper.parameters()) > sum(p.numel() for p in D.parameters())
    with pytest.raises(ValueError, match="stage 4 does not exist"):
        D(x, stage=4)
    with pytest.raises(ValueError, match="in_channels=1"):
        D(torch.randn(2, 1, 32, 32))


def test_samples_are_processed_independently():
    D = Discriminator(df=8).eval()
    x = torch.randn(6, 3, 32, 32)
    torch.testing.assert_close(D(x)[2:4], D(x[2:4]), rtol=1e-5, atol=1e-6)


def test_spectral_norm_bounds_weights_and_freezes_in_eval():
    D = Discriminator(df=16, seed=3)
    x = torch.randn(2, 3, 8, 8)
    conv = D.staged[1].c1
    for _ in range(30):  # each training-mode access runs one power iteration
        conv.weight
    sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2).item()
    assert sigma == pytest.approx(1.0, rel=1e-3)
    u = conv.parametrizations.weight[0]._u.clone()
    D.eval()(x, stage=1)
    conv.weight
    assert torch.equal(u, conv.parametrizations.weight[0]._u)
    D.train()(x, stage=1)
    assert D.l5.weight.shape == (1, 16)
    assert D.l5.bias is None


def test_seeded_and_global_rng_untouched():
    state = torch.random.get_rng_state()
    a, b = Discriminator(df=8, seed=4), Discriminator(df=8, seed=4)
    assert torch.equal(state, torch.random.get_rng_state())
    for (name, first), second in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(first, second), name


def _reference_spectral_norm(weight: torch.Tensor, u: torch.Tensor, v: torch.Tensor, eps: float):
    """One power iteration and the normalized weight, as torch's spectral_norm writes them (F.normalize)."""
    import torch.nn.functional as F

    matrix = weight.flatten(1)
    v = F.normalize(torch.mv(matrix.t(), u), dim=0, eps=eps)
    u = F.normalize(torch.mv(matrix, v), dim=0, eps=eps)
    return weight / torch.dot(u, torch.mv(matrix, v)), u, v


@pytest.mark.parametrize("layer", ["conv3x3", "conv1x1", "linear", "zero"])
def test_spectral_norm_is_bit_for_bit_the_f_normalize_power_iteration(layer):
    # The power iteration writes into its buffers with fewer ops; the search's CPU results must not move.
    D = Discriminator(df=8, seed=5)
    module = {"conv3x3": D.staged[1].c1, "conv1x1": D.staged[0].c_sc, "linear": D.l5, "zero": D.final.c2}[layer]
    if layer == "zero":  # the norm is 0: eps takes over
        with torch.no_grad():
            module.parametrizations.weight.original.zero_()
    sn = module.parametrizations.weight[0]
    weight = module.parametrizations.weight.original
    u, v = sn._u.clone(), sn._v.clone()
    for _ in range(3):
        want, u, v = _reference_spectral_norm(weight.detach(), u, v, sn.eps)
        got = module.weight
        assert torch.equal(got, want) or (layer == "zero" and torch.equal(got.isnan(), want.isnan()))
        assert torch.equal(sn._u, u) and torch.equal(sn._v, v)


def test_a_spectral_norm_training_forward_dispatches_at_most_15_ops():
    # Every D layer runs it every training forward: 20 ops before, most of a D step's host time.
    D = Discriminator(df=8, seed=5)
    conv = D.staged[1].c1
    conv.weight  # first access outside the count
    assert top_level_aten_ops(lambda: conv.weight) <= 15


def test_spectral_norm_graphs_survive_later_power_iterations():
    # The buffers change in place (fixed addresses for CUDA graphs); a graph built earlier must still backward.
    D = Discriminator(df=8, seed=5)
    x = torch.randn(2, 3, 8, 8)
    first = D(x, stage=1).sum()
    D(x, stage=1)  # another training forward: one more power iteration per layer
    first.backward()  # a buffer saved by the graph and changed since would raise here
    assert D.staged[0].c1.parametrizations.weight.original.grad is not None
