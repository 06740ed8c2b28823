"""The RNN controller learns at each preset's own schedule, through the API the search calls."""

import dataclasses
import statistics

import pytest

from controllers import get_controller
from controllers.testing import NoisyReward, run_schedule
from search_spaces import SearchSpace

from autogan.config import load_config, preset_names
from autogan.search import controller_options

SEEDS = range(6)
# The long presets' margin is wide (bench/controller_quality.py, 10 seeds: RNN 0.981, never
# below 0.955, against random 0.514, never above 0.59; one step per batch instead of per
# reward: 0.541): two seeds decide it, in about 10 s each.
LONG_SCHEDULE_SEEDS = range(2)
# The flipped-advantage guard fails by far: over seeds 0-5 it ended at 0.00-0.36 against random's
# 0.41-0.59 (2026-12-04), so two seeds show it, in a third of the time.
FLIPPED_SEEDS = range(2)
# What the controller's learning depends on: the schedule and the options the search builds.
SCHEDULE_KEYS = ("num_cells", "stage_iterations", "archs_per_iteration", "beam_width", "beam_candidates",
                 "controller_lr", "controller_epochs", "controller_update", "entropy_weight", "baseline_decay")


def _search(preset: str, **changes):
    return dataclasses.replace(load_config(preset, []).search, **changes)


def _final_matches(name: str, preset: str = "digits", seeds=SEEDS, **changes) -> list[float]:
    search = _search(preset, **changes)
    space = SearchSpace(num_cells=search.num_cells)
    schedule = dict(
        stage_iterations=search.stage_iterations,
        archs_per_iteration=search.archs_per_iteration,
        beam_width=search.beam_width,
        beam_candidates=search.beam_candidates,
    )
    matches = []
    for seed in seeds:
        controller = get_controller(name, space, seed, **controller_options(dataclasses.replace(search, controller=name)))
        run = run_schedule(controller, NoisyReward(space.sample(10_000 + seed)), seed=seed, **schedule)
        matches.append(run.final_match)
    return matches


def _schedule(preset: str) -> tuple:
    search = _search(preset)
    return tuple((key, getattr(search, key)) for key in SCHEDULE_KEYS)


def _presets_by_schedule() -> dict[tuple, list[str]]:
    groups: dict[tuple, list[str]] = {}
    for preset in preset_names():
        groups.setdefault(_schedule(preset), []).append(preset)
    return groups


LONG_SCHEDULES = [presets for presets in _presets_by_schedule().values() if "digits" not in presets]


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
    flipped = _final_matches("rnn", seeds=FLIPPED_SEEDS)
    assert statistics.mean(flipped) < statistics.mean(random_matches)


def test_every_preset_schedule_has_a_learning_test():
    # cifar10 and stl10 share one schedule today; a preset that gets its own is tested on it.
    covered = {preset for presets in LONG_SCHEDULES for preset in presets} | {"digits"}
    assert covered == set(preset_names())
    assert {"cifar10", "stl10"} <= covered


@pytest.mark.parametrize("presets", LONG_SCHEDULES, ids=["+".join(p) for p in LONG_SCHEDULES])
def test_rnn_beats_random_search_at_the_long_presets_schedule(presets):
    preset = presets[0]
    rnn = _final_matches("rnn", preset, LONG_SCHEDULE_SEEDS)
    random_ = _final_matches("random", preset, LONG_SCHEDULE_SEEDS)
    gain = statistics.mean(rnn) - statistics.mean(random_)
    assert gain >= 0.25, f"{preset}: RNN {rnn} vs random {random_}"


def test_controller_epochs_reach_the_controller_and_change_its_update():
    # search.controller_epochs passes over each batch: a search that dropped it on the way
    # to the controller would train with one pass whatever the config says.
    from autogan.search._setup import make_controller

    weights = {}
    for epochs in (1, 2):
        config = load_config("digits", [f"search.controller_epochs={epochs}", "search.controller='rnn'"])
        space = SearchSpace(num_cells=config.search.num_cells)
        controller = make_controller(config, space)
        assert controller.epochs == epochs
        assert controller.state_dict()["config"]["epochs"] == epochs
        controller.set_stage(1)
        proposals = controller.sample(6)
        controller.update(proposals, [1.0 + 0.2 * i for i in range(len(proposals))])
        weights[epochs] = [p.detach().clone() for p in controller.policy.parameters()]
    assert any(not a.equal(b) for a, b in zip(weights[1], weights[2])), "two passes over a batch moved the policy as one does"
