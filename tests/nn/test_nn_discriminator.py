"""The SN-ResNet discriminator: stage-aware, per-sample, spectrally normalized."""

from __future__ import annotations

import pytest
import torch

from autogan.nn import Discriminator


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
