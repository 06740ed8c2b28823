"""The embedded default fits the machine: threads, overlap and evaluators from the cores there are."""

import json

import pytest

from autogan.config import load_config
from autogan.errors import ConfigError
from autogan.search._cpu_plan import plan_for_cores, resolve
from workers import Resources

AUTO_KEYS = ("threads", "overlap", "evaluators", "trainer_cpus", "evaluator_cpus")


def node(cpus: float) -> Resources:
    return Resources(num_cpus=cpus, num_gpus=0.0)


@pytest.mark.parametrize(
    "cores, overlap, evaluators, trainer_threads, evaluator_threads",
    [
        (1, False, 1, 1, 1),
        (2, False, 1, 2, 2),  # the measured 2-core plan: take turns, each on both cores
        (4, True, 1, 3, 1),
        (8, True, 2, 6, 1),
        (16, True, 8, 8, 1),  # the trainer stops at 8 threads; the rest score
    ],
)
def test_the_plan_for_each_machine_size(cores, overlap, evaluators, trainer_threads, evaluator_threads):
    plan = plan_for_cores(cores, archs_per_iteration=12)
    assert (plan.overlap, plan.evaluators, plan.trainer_threads, plan.evaluator_threads) == (
        overlap, evaluators, trainer_threads, evaluator_threads)
    # Ray places what the plan asks for on a node of that size, and no core is left idle when they overlap.
    assert plan.trainer_cpus + plan.evaluators * plan.evaluator_cpus <= cores
    if plan.overlap:
        assert plan.trainer_threads + plan.evaluators * plan.evaluator_threads == cores


def test_no_more_evaluators_than_an_iteration_scores():
    assert plan_for_cores(64, archs_per_iteration=3).evaluators == 3


def test_the_digits_preset_is_resolved_from_the_largest_node_and_keeps_auto_on_disk():
    config = load_config("digits")
    assert all(getattr(config.run, key) == "auto" for key in AUTO_KEYS)
    driver, trainer, plan = resolve(config, [node(2), node(8)])
    assert plan.cores == 8
    assert (driver.run.overlap, driver.run.evaluators, driver.run.threads, trainer.run.threads) == (True, 2, 1, 6)
    assert (driver.run.trainer_cpus, driver.run.evaluator_cpus) == (6.0, 1.0)
    # Only the thread count differs between the roles' configs.
    assert trainer.replace(run=driver.run) == driver
    assert config.run.threads == "auto"  # the config asked for stays as asked


@pytest.mark.parametrize("cores", [2, 4, 8, 16])
def test_a_key_given_a_value_overrides_the_plan(cores):
    config = load_config("digits", ["run.threads=1", "run.evaluators=3"])
    driver, trainer, plan = resolve(config, [node(cores)])
    assert (driver.run.threads, trainer.run.threads, driver.run.evaluators) == (1, 1, 3)
    assert driver.run.overlap == plan_for_cores(cores, 12).overlap


def test_choosing_the_schedule_brings_that_schedules_plan():
    taking_turns = load_config("digits", ["run.overlap=false"])
    driver, trainer, _ = resolve(taking_turns, [node(8)])
    assert (driver.run.overlap, driver.run.evaluators, trainer.run.threads, driver.run.threads) == (False, 1, 8, 8)
    overlapped = load_config("digits", ["run.overlap=true"])
    driver, trainer, _ = resolve(overlapped, [node(2)])
    assert (driver.run.overlap, trainer.run.threads, driver.run.threads) == (True, 1, 1)
    assert driver.run.trainer_cpus + driver.run.evaluator_cpus <= 2


def test_in_process_workers_take_turns_on_this_machine():
    driver, trainer, plan = resolve(load_config("digits"), None)
    assert not driver.run.overlap and driver.run.evaluators == 1
    assert trainer.run.threads == driver.run.threads == plan.cores >= 1


def test_a_config_without_auto_is_left_alone():
    config = load_config("digits", [f"run.{key}={value}" for key, value in
                                    (("threads", 2), ("overlap", "false"), ("evaluators", 1),
                                     ("trainer_cpus", 1), ("evaluator_cpus", 1))])
    driver, trainer, plan = resolve(config, [node(16)])
    assert plan is None and driver is config and trainer is config


@pytest.mark.parametrize("key", AUTO_KEYS)
def test_a_misspelt_auto_is_one_clear_error_and_its_fix_works(key):
    with pytest.raises(ConfigError) as caught:
        load_config("digits", [f"run.{key}='atuo'"])
    message = str(caught.value)
    assert message.startswith(f"run.{key}='atuo'") and '"auto"' in message
    load_config("digits", [f"run.{key}='auto'"])  # the fix the message names


def test_a_search_records_the_threads_its_workers_ran_with(tmp_path, tiny_overrides_for):
    from autogan.search import run_search

    overrides = [o for o in tiny_overrides_for(cells=2, iterations=1) if not o.startswith("run.threads")]
    config = load_config("digits", [*overrides, "run.backend='inprocess'", "run.threads='auto'"])
    run_search(config, tmp_path / "run")
    import tomllib

    stored = tomllib.loads((tmp_path / "run" / "config.toml").read_text())
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    _, _, plan = resolve(config, None)
    assert {w["role"]: w["threads"] for w in state["workers"]} == {"trainer": plan.trainer_threads, "evaluator": plan.evaluator_threads}
    assert stored["run"]["threads"] == "auto"
