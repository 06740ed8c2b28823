"""The contract every controller keeps, run against each registered implementation."""

from __future__ import annotations

import io
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from controllers import CONTROLLERS, BeamSearch, Proposal, UpdateStats, get_controller
from controllers.testing import match_fraction
from search_spaces import Architecture, SearchSpace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=sorted(CONTROLLERS))
def make(request, space):
    """``make(seed)`` builds the controller under test."""
    name = request.param

    def build(seed: int = 0):
        return get_controller(name, space, seed)

    build.name = name
    return build


def _archs(proposals):
    return [p.arch for p in proposals]


def _rewards(space, proposals):
    target = space.from_index(12345)
    return [match_fraction(space, p.arch, target) for p in proposals]


def _through_torch_save(state):
    """A checkpoint as the search loop writes it: torch.save, then a weights-only load."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


class TestControllerContract:
    def test_samples_are_full_architectures_of_the_space(self, make, space):
        controller = make()
        proposals = controller.sample(6)
        assert len(proposals) == 6
        for proposal in proposals:
            assert isinstance(proposal, Proposal)
            assert space.validate(proposal.arch) is proposal.arch
            assert proposal.fixed_cells == 0 and proposal.prefix is None
            assert isinstance(proposal.log_prob, float) and isinstance(proposal.entropy, float)

    @pytest.mark.parametrize("stage", [1, 2, 3])
    def test_samples_have_stage_cells(self, make, space, stage):
        controller = make()
        controller.set_stage(stage)
        for proposal in controller.sample(4):
            space.validate(proposal.arch, partial=True)
            assert len(proposal.arch.cells) == stage == proposal.stage

    def test_prefix_is_honoured(self, make, space):
        controller = make()
        full = space.from_index(200_000)
        for stage in (2, 3):
            controller.set_stage(stage)
            prefix = space.prefix(full, stage - 1)
            proposals = controller.sample(5, prefix=prefix)
            for proposal in proposals:
                space.validate(proposal.arch, partial=True)
                assert proposal.arch.cells[: stage - 1] == prefix.cells
                assert len(proposal.arch.cells) == stage
                assert proposal.fixed_cells == stage - 1 and proposal.prefix == prefix
            controller.update(proposals, _rewards(space, proposals))

    def test_prefixes_are_drawn_from_a_beam(self, make, space):
        controller = make()
        beam = BeamSearch(space, size=3, num_candidates=3)
        entries = [space.prefix(space.from_index(i * 50_000), 2) for i in range(3)]
        beam.update(entries, [0.3, 0.2, 0.1])
        controller.set_stage(3)
        proposals = controller.sample(30, prefix=beam)
        drawn = {p.prefix for p in proposals}
        assert drawn <= set(entries)
        assert len(drawn) > 1, "every proposal drew the same beam entry: draws are not per proposal"
        for proposal in proposals:
            space.validate(proposal.arch)

    def test_training_draws_honour_the_prefix_and_need_no_update(self, make, space):
        controller = make()
        controller.set_stage(3)
        beam = BeamSearch(space, size=2, num_candidates=2)
        beam.update([space.prefix(space.from_index(i * 90_000), 2) for i in range(2)], [0.5, 0.4])
        before = controller.state_dict()
        archs = controller.sample_architectures(50, prefix=beam)
        assert len(archs) == 50
        for arch in archs:
            space.validate(arch)
            assert Architecture(arch.cells[:2]) in beam.prefixes
        # Supernet training draws thousands of these; none may pile up in the state.
        assert len(controller.state_dict().get("trials", [])) == len(before.get("trials", []))
        proposals = controller.sample(2)
        assert controller.update(proposals, _rewards(space, proposals)).valid == 2

    def test_a_prefix_as_long_as_the_stage_is_rejected(self, make, space):
        controller = make()
        controller.set_stage(2)
        with pytest.raises(ValueError, match="set_stage"):
            controller.sample(1, prefix=space.prefix(space.from_index(0), 2))

    def test_same_seed_same_samples(self, make, space):
        first, second, other = make(7), make(7), make(8)
        for _ in range(3):
            a, b = first.sample(5), second.sample(5)
            assert _archs(a) == _archs(b)
            first.update(a, _rewards(space, a))
            second.update(b, _rewards(space, b))
        assert _archs(first.sample(5)) == _archs(second.sample(5))
        assert _archs(make(7).sample(8)) != _archs(other.sample(8)), "seed has no effect"

    def test_state_dict_round_trip_continues_identically(self, make, space):
        original = make(3)
        original.set_stage(2)
        for _ in range(2):
            proposals = original.sample(4)
            original.update(proposals, _rewards(space, proposals))
        # One proposal is still waiting for its reward when the checkpoint is written.
        pending = original.sample(2)
        state = _through_torch_save(original.state_dict())

        restored = make(99)
        restored.load_state_dict(state)
        assert restored.stage == 2
        for controller in (original, restored):
            controller.update(pending, _rewards(space, pending))
        for round_ in range(3):
            a, b = original.sample(4), restored.sample(4)
            assert _archs(a) == _archs(b), f"round {round_} after restore differs"
            for x, y in zip(a, b):
                assert (math.isnan(x.log_prob) and math.isnan(y.log_prob)) or x.log_prob == pytest.approx(y.log_prob)
            rewards = _rewards(space, a)
            stats_a, stats_b = original.update(a, rewards), restored.update(b, rewards)
            assert stats_a.valid == stats_b.valid == 4
            assert stats_a.baseline == pytest.approx(stats_b.baseline)

    def test_same_seed_same_samples_in_a_subprocess(self, make, space):
        snippet = (
            "import controllers, search_spaces\n"
            f"c = controllers.get_controller({make.name!r}, search_spaces.SearchSpace(), 11)\n"
            "for p in c.sample(5): print(p.arch)\n"
        )
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        result = subprocess.run(
            [sys.executable, "-c", snippet], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        printed = [Architecture.parse(line) for line in result.stdout.splitlines()]
        assert printed == _archs(make(11).sample(5))

    def test_invalid_rewards_are_counted_and_do_not_crash(self, make, space):
        controller = make()
        proposals = controller.sample(6)
        stats = controller.update(proposals, [float("nan"), float("inf"), -float("inf"), None, 0.5, np.float64(0.25)])
        assert isinstance(stats, UpdateStats)
        assert (stats.valid, stats.invalid) == (2, 4)
        assert stats.mean_reward == pytest.approx(0.375)
        failed = controller.sample(3)
        stats = controller.update(failed, [None, None, float("nan")])
        assert (stats.valid, stats.invalid) == (0, 3) and math.isnan(stats.mean_reward)
        for proposal in controller.sample(4):
            space.validate(proposal.arch)

    def test_update_needs_one_reward_per_proposal(self, make):
        controller = make()
        proposals = controller.sample(3)
        with pytest.raises(ValueError, match="one reward per proposal"):
            controller.update(proposals, [0.1, 0.2])
        with pytest.raises(TypeError, match="not a number"):
            controller.update(proposals, [0.1, "high", 0.2])

    def test_state_of_another_kind_is_rejected(self, make, space):
        controller = make()
        other = next(name for name in sorted(CONTROLLERS) if name != make.name)
        with pytest.raises(ValueError, match="load_state_dict"):
            controller.load_state_dict(get_controller(other, space, 0).state_dict())
        with pytest.raises(ValueError, match="search space"):
            controller.load_state_dict(get_controller(make.name, SearchSpace(num_cells=4), 0).state_dict())

    def test_global_random_state_is_untouched(self, make, space):
        torch_state, numpy_state, python_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
        controller = make(5)
        controller.set_stage(2)
        proposals = controller.sample(4, prefix=space.prefix(space.from_index(7), 1))
        controller.update(proposals, _rewards(space, proposals))
        # Drawing prefixes from a beam is the controller's own randomness too.
        beam = BeamSearch(space, size=3, num_candidates=3)
        beam.update([space.prefix(space.from_index(i * 40_000), 1) for i in range(3)], [0.3, 0.2, 0.1])
        drawn = controller.sample(6, prefix=beam)
        assert {p.prefix for p in drawn} <= set(beam.prefixes)
        controller.load_state_dict(controller.state_dict())
        assert torch.equal(torch.get_rng_state(), torch_state)
        after = np.random.get_state()
        assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]
        assert random.getstate() == python_state

    def test_bad_stage_and_n_are_rejected(self, make):
        controller = make()
        with pytest.raises(ValueError, match="stages are 1..3"):
            controller.set_stage(4)
        with pytest.raises(ValueError, match="non-negative integer"):
            controller.sample(-1)
        assert controller.sample(0) == []
