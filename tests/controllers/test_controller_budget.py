"""A hard size budget: controllers propose only architectures that can be completed within it."""

from __future__ import annotations

import io
import itertools
import math

import numpy as np
import pytest
import torch

from controllers import CONTROLLERS, BeamSearch, SizeBudget, get_controller
from controllers._rnn import RNNController
from search_spaces import Architecture, SearchSpace


def _cell_tables(space: SearchSpace):
    """A made-up additive cost: params and MACs that differ per decision, so masks bite at every token."""
    tables = []
    for stage in range(1, space.num_cells + 1):
        sizes = [d.size for d in space.decisions(stage)]
        table = {}
        for option in itertools.product(*(range(size) for size in sizes)):
            params = 100 * stage + 40 * option[0] + 25 * option[1] + 60 * option[2] + 30 * option[3]
            macs = 1000 * stage + 500 * option[2] + (300 * bin(option[4]).count("1") if stage > 1 else 0)
            table[option] = (params, macs)
        tables.append(table)
    return tables


def _budget(space: SearchSpace, params: float = math.inf, macs: float = math.inf) -> SizeBudget:
    return SizeBudget(space, ("params", "macs"), (1000, 5000), _cell_tables(space), (params, macs))


def _all_costs(space: SearchSpace, budget: SizeBudget):
    """Every full architecture's choice indices and costs, by brute force."""
    indices = np.asarray(list(itertools.product(*(range(d.size) for d in space.all_decisions()))))
    costs = np.asarray([budget.cost(row) for row in indices])
    return indices, costs


@pytest.fixture
def small_space():
    return SearchSpace(num_cells=2)


@pytest.fixture
def tight(small_space):
    # Floors of 1,300 params and 8,000 MACs; both limits bind, and 29% of the space is left.
    return _budget(small_space, params=1520, macs=8800)


def test_feasibility_and_masks_match_brute_force_enumeration(small_space, tight):
    indices, costs = _all_costs(small_space, tight)
    within = np.all(costs <= np.asarray(tight.limits), axis=1)
    assert 0.05 < within.mean() < 0.6  # the budget bites, and leaves something
    assert tight.feasible_fraction() == pytest.approx(within.mean())
    rng = np.random.default_rng(0)
    for length in range(indices.shape[1]):
        for _ in range(15):
            head = list(indices[rng.integers(len(indices)), :length])
            matches = np.all(indices[:, :length] == head, axis=1)
            assert tight.feasible(head) == bool(within[matches].any())
            assert (tight.violation(head) <= 0) == bool(within[matches].any())
            allowed = tight.allowed(head)
            for choice in range(len(allowed)):
                assert allowed[choice] == bool(within[matches & (indices[:, length] == choice)].any())


def test_floor_and_ceiling_are_the_extremes_of_the_space(small_space, tight):
    _, costs = _all_costs(small_space, tight)
    assert tight.floor() == tuple(costs.min(axis=0))
    assert tight.ceiling() == tuple(costs.max(axis=0))


def _within(space, budget, arch):
    return budget.feasible(space.encode(arch))


# Every registered controller: the search hands the configured one its budget.
@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_every_proposal_is_within_the_budget(name, small_space, tight):
    controller = get_controller(name, small_space, 3, budget=tight)
    unconstrained = get_controller(name, small_space, 3)
    proposals = controller.sample(150)
    assert all(tight.within(small_space.encode(p.arch)) for p in proposals)
    assert all(tight.within(small_space.encode(a)) for a in controller.sample_architectures(150))
    # Without the budget the same controller would have proposed outside it.
    assert not all(tight.within(small_space.encode(p.arch)) for p in unconstrained.sample(150))


@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_stage_one_proposals_can_be_completed_and_prefixed_ones_stay_within(name, small_space, tight):
    controller = get_controller(name, small_space, 1, budget=tight, stage=1)
    firsts = [p.arch for p in controller.sample(30)]
    assert all(_within(small_space, tight, arch) for arch in firsts)
    controller.set_stage(2)
    for first in firsts[:5]:
        for proposal in controller.sample(10, prefix=first):
            assert proposal.arch.cells[0] == first.cells[0]
            assert tight.within(small_space.encode(proposal.arch))


def test_tpe_learns_the_budget_and_keeps_refused_trials_in_its_state(small_space, tight):
    controller = get_controller("tpe", small_space, 0, budget=tight)
    proposals = []
    for _ in range(4):
        batch = controller.sample(5)
        controller.update(batch, [float(small_space.index(p.arch) % 7) for p in batch])
        proposals += batch
    states = [t["state"] for t in controller.state_dict()["trials"]]
    assert states.count("infeasible") > 0  # refused asks were told to the sampler
    assert all(tight.within(small_space.encode(p.arch)) for p in proposals)
    restored = get_controller("tpe", small_space, 0, budget=tight)
    restored.load_state_dict(controller.state_dict())
    assert [p.arch for p in restored.sample(4)] == [p.arch for p in controller.sample(4)]


def test_random_search_is_uniform_over_the_architectures_within_the_budget(small_space):
    # 500 params above the base: a first cell with a deconv (120 more) leaves few second cells.
    budget = _budget(small_space, params=1500)
    controller = get_controller("random", small_space, 0, budget=budget)
    archs = controller.sample_architectures(3000)
    indices, costs = _all_costs(small_space, budget)
    within = np.all(costs <= np.asarray(budget.limits), axis=1)
    first_up = indices[within][:, 2]
    expected = np.bincount(first_up, minlength=3) / within.sum()
    seen = np.bincount([small_space.encode(a)[2] for a in archs], minlength=3) / len(archs)
    assert expected.max() - expected.min() > 0.2  # the budget skews the marginal, so uniformity is tested
    np.testing.assert_allclose(seen, expected, atol=0.03)


def _unmasked_log_softmax(controller: RNNController, indices: list[int]) -> list[torch.Tensor]:
    """The policy's own distribution at each decision along ``indices``, teacher-forced, no budget."""
    with torch.no_grad():
        return _teacher_forced(controller, indices)


def _teacher_forced(controller: RNNController, indices: list[int]) -> list[torch.Tensor]:
    h = torch.zeros(1, controller.hidden)
    c = torch.zeros(1, controller.hidden)
    x = torch.zeros(1, controller.hidden)
    out = []
    for position, index in enumerate(indices):
        h, c = controller.policy.lstm(x, (h, c))
        out.append(torch.log_softmax(controller._logits(position, h)[0], dim=-1))
        x = controller.policy.embedding(torch.tensor([index + controller._offsets[position]]))
    return out


def test_masked_log_probs_are_those_of_the_renormalised_distribution(small_space, tight):
    controller = RNNController(small_space, 5, budget=tight)
    proposals = controller.sample(20)
    log_prob, entropy = controller.log_probs(proposals)
    for proposal, lp, ent in zip(proposals, log_prob, entropy):
        indices = list(small_space.encode(proposal.arch))
        expected_lp, expected_ent = 0.0, 0.0
        for position, full in enumerate(_unmasked_log_softmax(controller, indices)):
            allowed = torch.from_numpy(tight.allowed(indices[:position]))
            renormalised = full[allowed] - torch.logsumexp(full[allowed], dim=0)
            expected_lp += float(renormalised[int(allowed[: indices[position]].sum())])
            expected_ent += float(-(renormalised.exp() * renormalised).sum())
        assert float(lp.detach()) == pytest.approx(expected_lp, abs=1e-5)
        assert float(ent.detach()) == pytest.approx(expected_ent, abs=1e-5)
        # The log-probability recorded when sampling is the one the update recomputes.
        assert proposal.log_prob == pytest.approx(float(lp.detach()), abs=1e-6)


def test_masked_updates_keep_every_weight_finite(small_space, tight):
    controller = RNNController(small_space, 2, budget=tight, lr=1e-2)
    for _ in range(3):
        proposals = controller.sample(6)
        stats = controller.update(proposals, [float(i) for i in range(6)])
        assert stats.stepped
    assert all(bool(torch.isfinite(p).all()) for p in controller.policy.parameters())


def test_rnn_learns_within_a_budget_that_excludes_first_cell_choices(small_space):
    # 1,400 params exclude a deconv in cell 1 (1,000 + 220 + at least 200), and allow "nearest" only
    # after a cheap conv and norm.  "nearest" is rewarded: the policy must learn to choose those.
    budget = _budget(small_space, params=1400)
    assert not budget.allowed([0, 0])[2]
    controller = RNNController(small_space, 0, budget=budget, lr=5e-3, entropy_weight=0.0)
    share_before = np.mean([small_space.encode(p.arch)[2] == 1 for p in controller.sample(200)])
    for _ in range(40):
        proposals = controller.sample(8)
        controller.update(proposals, [float(small_space.encode(p.arch)[2] == 1) for p in proposals])
    after = controller.sample(200)
    assert all(budget.within(small_space.encode(p.arch)) for p in after)
    assert share_before < 0.4
    assert np.mean([small_space.encode(p.arch)[2] == 1 for p in after]) > 0.8


def test_beam_keeps_only_prefixes_the_budget_can_complete(small_space, tight):
    beam = BeamSearch(small_space, size=2, num_candidates=4, budget=tight)
    cheap, dear = Architecture.parse("post,none,bilinear,nosc"), Architecture.parse("pre,in,deconv,sc")
    assert tight.feasible(small_space.encode(cheap)) and not tight.feasible(small_space.encode(dear))
    entries = beam.update([dear, cheap], [9.0, 1.0])
    assert [e.arch for e in entries] == [cheap]
    with pytest.raises(ValueError, match="within the size budget"):
        beam.update([dear], [9.0])


def test_a_prefix_outside_the_budget_is_refused(small_space, tight):
    controller = RNNController(small_space, 0, budget=tight, stage=2)
    with pytest.raises(ValueError, match="no completion of prefix .* is within the size budget"):
        controller.sample(1, prefix=Architecture.parse("pre,in,deconv,sc"))


def test_budgeted_rnn_state_round_trip_continues_identically(small_space, tight):
    controller = RNNController(small_space, 4, budget=tight)
    controller.update(controller.sample(4), [1.0, 2.0, 3.0, 4.0])
    buffer = io.BytesIO()
    torch.save(controller.state_dict(), buffer)
    buffer.seek(0)
    restored = RNNController(small_space, 4, budget=tight)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert [p.arch for p in restored.sample(5)] == [p.arch for p in controller.sample(5)]
