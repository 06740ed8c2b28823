"""BeamSearch: top-K bookkeeping, its state, and multi-level search on a synthetic reward."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch

from controllers import BeamSearch
from controllers._rnn import RNNController
from controllers.testing import FixedController, match_fraction, run_synthetic

# Multi-level budget, per stage: 40 updates of 10 proposals, then M = 10 candidates for
# the beam (1,230 evaluations over 3 stages).  Over 30 seeds this found the target 30 times.
LEARNING_LR = 1e-3
UPDATES_PER_STAGE = 40
BATCH = 10


def test_keeps_the_true_top_k_of_its_candidates(space):
    rng = random.Random(0)
    for trial in range(20):
        beam = BeamSearch(space, size=5, num_candidates=12)
        candidates = [space.prefix(space.from_index(rng.randrange(space.size())), 2) for _ in range(12)]
        scores = [rng.choice([rng.random(), rng.random(), None, float("nan"), float("inf"), 0.5]) for _ in candidates]
        valid = [(s, i) for i, s in enumerate(scores) if s is not None and np.isfinite(s)]
        # Best first; equal scores keep candidate order.
        expected = sorted(valid, key=lambda pair: (-pair[0], pair[1]))[:5]
        entries = beam.update(candidates, scores)
        assert [(e.arch, e.score) for e in entries] == [(candidates[i], s) for s, i in expected], f"trial {trial}"
        assert beam.stage == 2 and beam.best == entries[0]


def test_keeps_duplicates_like_autogan(space):
    beam = BeamSearch(space, size=3, num_candidates=4)
    a, b = space.from_index(1), space.from_index(2)
    beam.update([a, b, a, b], [0.9, 0.1, 0.8, 0.2])
    assert beam.prefixes == (a, a, b)


def test_rejects_what_cannot_make_a_beam(space):
    beam = BeamSearch(space)
    arch = space.from_index(3)
    with pytest.raises(ValueError, match="one score per candidate"):
        beam.update([arch, arch], [0.5])
    with pytest.raises(ValueError, match="one stage"):
        beam.update([arch, space.prefix(arch, 2)], [0.5, 0.4])
    with pytest.raises(ValueError, match="all 2 candidates failed"):
        beam.update([arch, arch], [None, float("nan")])
    with pytest.raises(ValueError, match="empty"):
        beam.draw(0)
    with pytest.raises(ValueError, match="size <= num_candidates"):
        BeamSearch(space, size=6, num_candidates=5)


def test_state_round_trip(space):
    beam = BeamSearch(space, size=2, num_candidates=3)
    candidates = [space.prefix(space.from_index(i * 1000), 2) for i in range(3)]
    beam.update(candidates, [0.1, 0.7, 0.4])
    buffer = io.BytesIO()
    torch.save(beam.state_dict(), buffer)
    buffer.seek(0)
    restored = BeamSearch(space)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.entries == beam.entries and restored.stage == 2
    assert (restored.size, restored.num_candidates) == (2, 3)
    assert [restored.draw(np.random.default_rng(4)) for _ in range(3)] == [
        beam.draw(np.random.default_rng(4)) for _ in range(3)
    ]


def test_accepts_proposals_and_feeds_the_next_stage(space):
    target = space.from_index(123_456)
    controller = FixedController(space, [space.from_index(i * 7919) for i in range(10)] + [target], stage=1)
    beam = BeamSearch(space)
    candidates = controller.sample(11)
    beam.update(candidates, [match_fraction(space, p.arch, target) for p in candidates])
    controller.set_stage(2)
    for proposal in controller.sample(20, prefix=beam):
        assert proposal.prefix in beam.prefixes


def test_multi_level_search_finds_the_target_in_three_stages(space):
    target = space.from_index(314_159)
    controller = RNNController(space, 0, lr=LEARNING_LR)
    beam = BeamSearch(space)
    for stage in range(1, space.num_cells + 1):
        controller.set_stage(stage)
        prefix = beam if stage > 1 else None
        run = run_synthetic(controller, target, updates=UPDATES_PER_STAGE, batch_size=BATCH, prefix=prefix)
        candidates = controller.sample(beam.num_candidates, prefix=prefix)
        assert all(len(c.arch.cells) == stage for c in candidates)
        beam.update(candidates, [match_fraction(space, c.arch, target) for c in candidates])
        assert beam.stage == stage
        assert beam.best.arch == space.prefix(target, stage), f"stage {stage}: policy reached {run.final():.2f}"
    assert beam.best.arch == target and beam.best.score == 1.0
