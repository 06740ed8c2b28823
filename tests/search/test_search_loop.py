"""The search end to end: rewards, beam and record; crash and resume; worker death; dynamic reset."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search_spaces import Architecture

from autogan.record import RunRecord
from autogan.search import Search, SearchHooks, run_search


ROOT = Path(__file__).resolve().parents[2]


def expected_keys(config):
    search = config.search
    keys = set()
    for stage, iterations in enumerate(search.stage_iterations, start=1):
        for iteration in range(iterations):
            keys |= {(stage, iteration, "policy", i) for i in range(search.archs_per_iteration)}
        keys |= {(stage, iterations, "beam", i) for i in range(search.beam_candidates)}
    return keys


def keys_of(rows):
    return [(r["stage"], r["iteration"], r["kind"], r["index"]) for r in rows]


def check_complete_record(run_dir, config):
    record = RunRecord.open(run_dir)
    rows = record.evaluations()
    keys = keys_of(rows)
    assert len(keys) == len(set(keys)), "an evaluation was recorded twice"
    assert set(keys) == expected_keys(config), "an evaluation is missing"
    for row in rows:
        arch = Architecture.parse(row["arch"])
        assert len(arch.cells) == row["stage"]
        assert row["reward"] is not None and 1.0 <= row["reward"] <= 10.0 + 1e-6
    state = record.read_state()
    assert state["phase"] == "done"
    assert len(state["beam"]) == config.search.beam_width
    assert all(len(Architecture.parse(e["arch"]).cells) == config.search.num_cells for e in state["beam"])
    return record, rows, state


def test_tiny_search_on_ray_end_to_end(ray_session, tiny_config, tmp_path):
    config = tiny_config("run.backend='ray'", "run.evaluators=2", "run.evaluator_cpus=0.5", "run.trainer_cpus=0.5")
    ranking = run_search(config, tmp_path / "run", progress=False)
    record, rows, state = check_complete_record(tmp_path / "run", config)
    # The beam holds the top K of the last stage's M candidates.
    beam_rows = sorted((r for r in rows if r["kind"] == "beam" and r["stage"] == 2), key=lambda r: -r["reward"])
    assert [e["score"] for e in state["beam"]] == pytest.approx([r["reward"] for r in beam_rows[:2]])
    # Stage 2 proposals start with a stage-1 beam prefix.
    stage1_beam = {Architecture.parse(r["arch"]) for r in rows if r["kind"] == "beam" and r["stage"] == 1}
    for row in rows:
        if row["stage"] == 2:
            prefix = Architecture(Architecture.parse(row["arch"]).cells[:1])
            assert prefix in stage1_beam
    assert ranking and ranking[0].mean_reward == max(r.mean_reward for r in ranking)
    assert state["top"][0]["arch"] == str(ranking[0].arch)
    iterations = [r for r in record.iterations() if r["phase"] == "policy"]
    assert len(iterations) == 4 and all(r["loss_d"] is not None for r in iterations)
    assert len(list(record.samples_dir.glob("*.png"))) == 4
    assert list(record.tb_dir.glob("events.out.tfevents.*"))
    assert record.checkpoint_path.exists()


def test_evaluator_death_loses_no_reward(ray_session, tiny_config, tmp_path):
    config = tiny_config("run.backend='ray'", "run.evaluators=2", "run.evaluator_cpus=0.5", "run.trainer_cpus=0.5", iterations=1)
    killed = []

    def kill_once(backend, evaluators):
        if not killed:
            killed.append(True)
            time.sleep(0.05)
            backend.kill(evaluators[0])

    run_search(config, tmp_path / "run", hooks=SearchHooks(on_scoring=kill_once), progress=False)
    assert killed
    check_complete_record(tmp_path / "run", config)


def _search_command(run_dir, *args):
    return [sys.executable, "-m", "autogan.cli", "search", *args]


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, tiny_overrides_for):
    overrides = tiny_overrides_for("run.backend='inprocess'", cells=2, iterations=2)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    reference = tmp_path / "reference"
    subprocess.run(_search_command(reference, "--out", str(reference), *overrides), check=True, env=env,
                   capture_output=True, cwd=ROOT)
    reference_rows = {k: r for k, r in zip(keys_of(RunRecord(reference).evaluations()), RunRecord(reference).evaluations())}

    crashed = tmp_path / "crashed"
    rng = random.Random()
    kill_after = rng.randint(2, len(reference_rows) - 6)  # evaluations recorded before the kill
    proc = subprocess.Popen(_search_command(crashed, "--out", str(crashed), *overrides), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    record = RunRecord(crashed)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if record.evaluations_path.exists() and len(record.evaluations()) >= kill_after:
            time.sleep(rng.uniform(0, 0.2))
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the search ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert RunRecord(crashed).read_state() is None or RunRecord(crashed).read_state()["phase"] != "done"

    resumed = subprocess.run(_search_command(crashed, "--resume", str(crashed)), env=env, capture_output=True,
                             text=True, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = RunRecord(crashed).evaluations()
    keys = keys_of(rows)
    assert len(keys) == len(set(keys)), "an evaluation was counted twice"
    assert set(keys) == set(reference_rows), "an evaluation was lost"
    # CPU computation with a fixed thread count is deterministic: same architectures, same rewards.
    for key, row in zip(keys, rows):
        assert row["arch"] == reference_rows[key]["arch"], key
        assert row["reward"] == pytest.approx(reference_rows[key]["reward"], rel=1e-6, abs=1e-9), key
    assert RunRecord(crashed).read_state()["beam"] == RunRecord(reference).read_state()["beam"]
    assert RunRecord(crashed).read_state()["top"] == RunRecord(reference).read_state()["top"]


def test_dynamic_reset_recreates_gan_and_keeps_the_controller(tiny_config, tmp_path):
    # A variance threshold no loss window can pass below forces a collapse every 4 D steps.
    config = tiny_config("run.backend='inprocess'", "train.reset_window=4", "train.reset_threshold=1e9", cells=2, iterations=1)
    search = Search(config, tmp_path / "run", progress=False)
    trainer = search.trainer.instance
    snapshots = []
    original_reset = trainer.reset

    def spying_reset(**kwargs):
        before = {k: v.clone() for k, v in search.controller.state_dict()["model"].items()} if "model" in search.controller.state_dict() else search.controller.state_dict()
        weights_before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
        count = original_reset(**kwargs)
        after = search.controller.state_dict()
        snapshots.append((before, after, weights_before, trainer.generator.state_dict()))
        return count

    trainer.reset = spying_reset
    try:
        search.run()
    finally:
        search.close()
    rows = [r for r in RunRecord(tmp_path / "run").iterations() if r["phase"] == "policy"]
    assert all(r["collapsed"] and r["reset"] for r in rows)
    assert all(r["d_steps"] == 4 for r in rows)
    assert trainer.resets == len(rows) == len(snapshots)
    for before, after, weights_before, weights_after in snapshots:
        model_after = after["model"] if "model" in after else after
        for key, value in before.items():
            if hasattr(value, "shape"):
                assert (value == model_after[key]).all(), f"reset touched controller state {key}"
        assert any(not (weights_before[k] == weights_after[k]).all() for k in weights_before if weights_before[k].is_floating_point())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--resume", "no/such/run"], "not found"),
        (["--config", "nope"], "no such preset"),
        (["train.n_critic=zero"], "not an integer"),
    ],
)
def test_search_cli_bad_input_exits_2(args, message, capsys):
    from autogan.cli import main

    assert main(["search", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_search_refuses_a_run_directory_made_by_another_config(tiny_config, tiny_overrides_for, tmp_path, capsys):
    from autogan.cli import main

    RunRecord.create(tmp_path / "run", tiny_config())
    assert main(["search", "--out", str(tmp_path / "run"), *tiny_overrides_for("run.seed=5")]) == 2
    assert "different config" in capsys.readouterr().err


def run_with_trainer_killed_once(config, run_dir):
    """Run a search whose trainer is killed while the first rewards are being scored."""
    search = Search(config, run_dir, hooks=SearchHooks(), progress=False)
    killed = []

    def kill_trainer_once(backend, evaluators):
        if not killed:
            killed.append(True)
            backend.kill(search.trainer)

    search.hooks.on_scoring = kill_trainer_once
    try:
        search.run()
    finally:
        search.close()
    assert killed
    return search


def test_trainer_death_continues_from_the_last_checkpoint_exactly(tiny_config, tmp_path):
    config = tiny_config("run.backend='inprocess'", cells=2, iterations=2)
    run_search(config, tmp_path / "reference", progress=False)
    search = run_with_trainer_killed_once(config, tmp_path / "run")
    assert search.recoveries == 1
    _, rows, state = check_complete_record(tmp_path / "run", config)
    reference = RunRecord(tmp_path / "reference")
    assert [(r["arch"], r["reward"]) for r in rows] == [(r["arch"], r["reward"]) for r in reference.evaluations()]
    assert state["top"] == reference.read_state()["top"]


def test_trainer_death_on_ray_loses_nothing(ray_session, tiny_config, tmp_path):
    config = tiny_config("run.backend='ray'", "run.evaluator_cpus=0.5", "run.trainer_cpus=0.5", cells=2, iterations=1)
    assert run_with_trainer_killed_once(config, tmp_path / "run").recoveries == 1
    check_complete_record(tmp_path / "run", config)
