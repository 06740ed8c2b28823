"""The RNN controller learns at the digits preset's own schedule, through the API the search calls."""

import dataclasses
import statistics

import pytest

from controllers import get_controller
from controllers.testing import NoisyReward, run_schedule
from search_spaces import SearchSpace

from autogan.config import load_config
from autogan.search import controller_options

SEEDS = range(6)


def _final_matches(name: str, **changes) -> list[float]:
    search = dataclasses.replace(load_config("digits", []).search, **changes)
    space = SearchSpace(num_cells=search.num_cells)
    schedule = dict(
        stage_iterations=search.stage_iterations,
        archs_per_iteration=search.archs_per_iteration,
        beam_width=search.beam_width,
        beam_candidates=search.beam_candidates,
    )
    matches = []
    for seed in SEEDS:
        controller = get_controller(name, space, seed, **controller_options(dataclasses.replace(search, controller=name)))
        run = run_schedule(controller, NoisyReward(space.sample(10_000 + seed)), seed=seed, **schedule)
        matches.append(run.final_match)
    return matches


@pytest.fixture(scope="module")
def random_matches():
    return _final_matches("random")


def test_rnn_beats_random_search_at_the_digits_schedule(random_matches):
    rnn = _final_matches("rnn")
    gain = statistics.mean(rnn) - statistics.mean(random_matches)
    assert gain >= 0.25, f"RNN {statistics.mean(rnn):.3f} vs random {statistics.mean(random_matches):.3f}"


def test_a_flipped_advantage_ends_below_random_at_that_schedule(random_matches, monkeypatch):
    # Guards the test above: a controller that learns the wrong way must fail it.
    from controllers import _rnn

    monkeypatch.setattr(_rnn, "_policy_loss", lambda log_probs, advantages: (log_probs * advantages).sum())
    flipped = _final_matches("rnn")
    assert statistics.mean(flipped) < statistics.mean(random_matches)
