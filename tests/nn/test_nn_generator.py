"""Supernet and derived generators: every architecture runs, weights copy exactly, sizes add up."""

from __future__ import annotations

import random

import pytest
import torch

from autogan.nn import Generator, SupernetGenerator, cell_costs, generator_cost
from autogan.nn._ops import OpNotImplemented
from search_spaces import AUTOGAN_TOP1, Architecture, Cell, SearchSpace, register_op
from search_spaces._ops import registered_ops

SPACE = SearchSpace()


def _randomize_norm_statistics(module: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for layer in module.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.copy_(torch.randn(layer.num_features, generator=generator) * 0.3)
            layer.running_var.copy_(torch.rand(layer.num_features, generator=generator) + 0.5)
            layer.bias.data.copy_(torch.randn(layer.num_features, generator=generator) * 0.1)


@pytest.mark.parametrize("quirk", [False, True])
def test_derived_generator_computes_the_supernet_function(quirk):
    supernet = SupernetGenerator(SPACE, ch=16, latent_dim=16, bottom_width=2, skip_out_includes_skip_ins=quirk)
    _randomize_norm_statistics(supernet, seed=1)
    supernet.eval()
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))
    rng = random.Random(3)
    archs = [SPACE.sample(rng) for _ in range(20)] + [AUTOGAN_TOP1, SPACE.prefix(AUTOGAN_TOP1, 2)]
    with torch.no_grad():
        for arch in archs:
            derived = Generator.from_supernet(supernet, arch)
            assert not derived.training
            difference = (derived(z) - supernet(z, arch)).abs().max().item()
            assert difference <= 1e-5, f"{arch}: max abs diff {difference}"


def test_derived_copy_is_independent_and_matches_in_train_mode():
    supernet = SupernetGenerator(SPACE, ch=8, latent_dim=16, bottom_width=2)
    arch = Architecture.parse("post,bn,deconv,sc | pre,bn,deconv,sc,skip=1 | post,in,deconv,sc,skip=1+2")
    derived = Generator.from_supernet(supernet, arch)
    z = torch.randn(4, 16)
    torch.testing.assert_close(derived(z), supernet(z, arch), rtol=0, atol=1e-5)
    derived.cell1.c1.weight.data.add_(1.0)
    assert not torch.equal(derived.cell1.c1.weight, supernet.cells[0].conv1["post"].weight)


def test_the_skip_quirk_changes_what_a_later_cell_receives():
    arch = Architecture.parse("pre,none,nearest,nosc | pre,none,nearest,nosc,skip=1 | pre,none,nearest,nosc,skip=2")
    clean = SupernetGenerator(SPACE, ch=8, latent_dim=16, bottom_width=2, seed=5)
    quirky = SupernetGenerator(SPACE, ch=8, latent_dim=16, bottom_width=2, seed=5, skip_out_includes_skip_ins=True)
    z = torch.randn(2, 16)
    assert not torch.allclose(clean(z, arch), quirky(z, arch))
    # Without skip-ins into a skip source, the two semantics agree.
    plain = Architecture.parse("pre,none,nearest,nosc | pre,none,nearest,nosc,skip=1 | pre,none,nearest,nosc,skip=1")
    torch.testing.assert_close(clean(z, plain), quirky(z, plain))


@pytest.fixture(scope="module")
def tiny_supernet():
    return SupernetGenerator(SPACE, ch=4, latent_dim=8, bottom_width=2, seed=0)


def _forward_backward(supernet: SupernetGenerator, arch: Architecture, z: torch.Tensor) -> torch.Tensor:
    supernet.zero_grad(set_to_none=True)
    out = supernet(z, arch)
    # A non-uniform cotangent so that every path's gradient is exercised.
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return out


def test_every_architecture_runs_forward_and_backward(tiny_supernet):
    """A large random sample plus every cell-1 variant (the reference failed ~1 step in 5 here)."""
    z = torch.randn(2, 8)
    rng = random.Random(11)
    archs = [SPACE.sample(rng) for _ in range(200)] + list(SPACE.enumerate(stages=1))
    assert len(list(SPACE.enumerate(stages=1))) == 36
    for arch in archs:
        out = _forward_backward(tiny_supernet, arch, z)
        assert out.shape == (2, 3, 2 * 2 ** len(arch), 2 * 2 ** len(arch))
        assert torch.isfinite(out).all()
        assert tiny_supernet.l1.weight.grad is not None and torch.isfinite(tiny_supernet.l1.weight.grad).all()


def test_post_activation_cells_with_skips_survive_autograd(tiny_supernet):
    # The reference's in-place skip add into a ReLU output broke exactly these backward passes;
    # here each must give the true gradient (a float64 finite difference), through every skip.
    import copy

    supernet = copy.deepcopy(tiny_supernet).double()
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    direction = torch.randn(supernet.l1.weight.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    for norm in SPACE.norm:
        for up in SPACE.up:
            cells = tuple(Cell("post", norm, up, True, tuple(range(1, s))) for s in (1, 2, 3))
            arch = Architecture(cells)
            out = _forward_backward(supernet, arch, z)
            assert out.shape == (2, 3, 16, 16) and torch.isfinite(out).all()
            for cell in supernet.cells[1:]:
                for project in cell.skip_in_ops:
                    assert project.weight.grad is not None and project.weight.grad.abs().sum() > 0, arch
            analytic = float((supernet.l1.weight.grad * direction).sum())

            def objective(step: float) -> float:
                with torch.no_grad():
                    supernet.l1.weight.add_(step * direction)
                    out = supernet(z, arch)
                    supernet.l1.weight.sub_(step * direction)
                    return float((out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum())

            numeric = (objective(1e-6) - objective(-1e-6)) / 2e-6
            assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-8), f"{arch}: {analytic} vs {numeric}"


@pytest.mark.parametrize("stages,width", [(1, 8), (2, 16), (3, 32)])
def test_prefixes_output_their_stage_resolution(stages, width):
    supernet = SupernetGenerator(SPACE, ch=4, latent_dim=8)
    arch = SPACE.prefix(AUTOGAN_TOP1, stages)
    out = supernet(torch.randn(2, 8), arch)
    assert out.shape == (2, 3, width, width)
    assert supernet.output_size(arch) == width
    out.sum().backward()
    # Only this stage's output head is trained by this stage.
    heads = [head[2].weight.grad is not None for head in supernet.to_rgbs]
    assert heads == [s == stages for s in (1, 2, 3)]


def test_top1_parameter_count_at_paper_width():
    ch, latent, bottom, rgb = 256, 128, 4, 3
    conv3 = ch * ch * 9 + ch
    conv1 = ch * ch + ch
    expected = (
        latent * bottom**2 * ch + bottom**2 * ch  # l1
        + (2 * conv3 + conv1)  # cell 1: c1, c2, shortcut
        + (2 * conv3 + conv1 + conv1)  # cell 2: c1, c2, shortcut, one skip-in
        + (2 * conv3 + 2 * conv1)  # cell 3: c1, c2, two skip-ins, no shortcut
        + 2 * ch  # to_rgb batch norm
        + ch * rgb * 9 + rgb  # to_rgb conv
    )
    model = Generator(AUTOGAN_TOP1, ch=ch, latent_dim=latent, bottom_width=bottom, out_channels=rgb)
    assert sum(p.numel() for p in model.parameters()) == expected == 4_405_251
    cost = generator_cost(AUTOGAN_TOP1, ch=ch)
    assert cost.params == expected


def test_top1_macs_at_paper_width():
    ch = 256
    pixels = {1: 8 * 8, 2: 16 * 16, 3: 32 * 32}
    expected = (
        128 * 16 * ch  # l1
        + pixels[1] * ch * ch * (9 + 9 + 1)  # cell 1: two 3x3 convs, shortcut
        + pixels[2] * ch * ch * (9 + 9 + 1 + 1)  # cell 2: + shortcut + one skip-in
        + pixels[3] * ch * ch * (9 + 9 + 2)  # cell 3: two skip-ins
        + pixels[3] * ch * 3 * 9  # to_rgb
    )
    assert generator_cost(AUTOGAN_TOP1, ch=ch).macs == expected


def test_deconv_costs_count_every_transposed_conv():
    arch = Architecture.parse("pre,none,deconv,sc | pre,none,bilinear,nosc,skip=none | pre,none,deconv,nosc,skip=1")
    ch = 8
    base = generator_cost(Architecture.parse(str(arch).replace("deconv", "nearest")), ch=ch)
    cost = generator_cost(arch, ch=ch)
    # cell 1: first-conv and shortcut deconvs at 4x4 input; cell 3: first-conv deconv at 16x16
    # input and a two-deck skip resize from 8x8 (8 -> 16 -> 32).
    deconv = ch * ch * 4
    extra_macs = deconv * (16 + 16 + 256 + 64 + 256)
    extra_params = (deconv + ch) * (2 + 1 + 2)
    assert cost.macs - base.macs == extra_macs
    assert cost.params - base.params == extra_params
    model = Generator(arch, ch=ch)
    assert sum(p.numel() for p in model.parameters()) == cost.params


def test_seeded_construction_is_reproducible_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    first = SupernetGenerator(SPACE, ch=4, latent_dim=8, seed=7)
    assert torch.equal(state, torch.random.get_rng_state())
    second = SupernetGenerator(SPACE, ch=4, latent_dim=8, seed=7)
    third = SupernetGenerator(SPACE, ch=4, latent_dim=8, seed=8)
    for (name, a), b, c in zip(first.state_dict().items(), second.state_dict().values(), third.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(first.l1.weight, third.l1.weight)


def test_convs_are_xavier_uniform():
    model = SupernetGenerator(SPACE, ch=64, latent_dim=8)
    conv = model.cells[2].conv1["pre"]
    fan_in = fan_out = 64 * 9
    bound = (6 / (fan_in + fan_out)) ** 0.5
    assert conv.weight.abs().max() <= bound
    # Uniform on [-b, b] has standard deviation b / sqrt(3).
    assert conv.weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.02)
    head_norm = model.to_rgbs[0][0]
    assert head_norm.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(head_norm.bias, torch.zeros_like(head_norm.bias))


def test_an_op_the_networks_cannot_build_is_named():
    name = "pixelshuffle_untaught"
    if name not in registered_ops("up"):
        register_op("up", name, "registered only by this test")
    space = SearchSpace(up=("nearest", name))
    with pytest.raises(OpNotImplemented, match=f"up op '{name}'.*register_up_op"):
        SupernetGenerator(space, ch=4, latent_dim=8)
    with pytest.raises(OpNotImplemented, match="register_up_op"):
        Generator(Architecture((Cell("pre", "none", name, False),)), ch=4)


def test_supernet_rejects_architectures_outside_its_space():
    supernet = SupernetGenerator(SearchSpace(up=("nearest",)), ch=4, latent_dim=8)
    with pytest.raises(ValueError, match="decision up"):
        supernet(torch.randn(1, 8), AUTOGAN_TOP1)


def test_cell_costs_add_up_to_the_generators_cost_exactly():
    # The size budget's feasibility test is exact only because a generator's cost is its base plus
    # its cells' costs; any op that made a cell's cost depend on another cell would break this.
    for cells, ch, out in ((3, 32, 1), (4, 16, 3)):
        space = SearchSpace(num_cells=cells)
        table = cell_costs(space, ch, 64, 4, out)
        rng = random.Random(cells)
        for _ in range(12):
            arch = space.sample(rng)
            vector, start, (params, macs) = space.encode(arch), 0, table.base
            for stage in range(1, cells + 1):
                end = start + len(space.decisions(stage))
                cell_params, cell_macs = table.cells[stage - 1][tuple(vector[start:end])]
                params, macs, start = params + cell_params, macs + cell_macs, end
            cost = generator_cost(arch, ch, 64, 4, out)
            assert (params, macs) == (cost.params, cost.macs), str(arch)
