"""The search end to end: rewards, beam and record; crash and resume; worker death; dynamic reset."""

import math
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from search_spaces import Architecture

from cli_contract import assert_one_line_error
from record_comparison import assert_same_record
from autogan.search import RunDirectory, Search, SearchHooks, run_search
from autogan.search._ranking import rescore_candidates


ROOT = Path(__file__).resolve().parents[2]


def expected_keys(config, candidates):
    search = config.search
    keys = set()
    for stage, iterations in enumerate(search.stage_iterations, start=1):
        for iteration in range(iterations):
            keys |= {(stage, iteration, "policy", i) for i in range(search.archs_per_iteration)}
        keys |= {(stage, iterations, "beam", i) for i in range(search.beam_candidates)}
    last = (search.num_cells, search.stage_iterations[-1])
    keys |= {(*last, "rescore", i) for i in range(len(candidates) * search.rescore_seeds)}
    return keys


def rescore_candidates_of(record, config):
    """What the final re-scoring must have scored: the final beam, then the run's best."""
    beam = [Architecture.parse(e["arch"]) for e in record.read_state()["beam"]]
    during_run = [r for r in record.evaluations() if r["kind"] != "rescore"]
    return rescore_candidates(beam, during_run, config.search.num_cells, 2 * config.search.top_k)


def keys_of(rows):
    return [(r["stage"], r["iteration"], r["kind"], r["index"]) for r in rows]


def check_complete_record(run_dir, config):
    record = RunDirectory.open(run_dir)
    rows = record.evaluations()
    keys = keys_of(rows)
    assert len(keys) == len(set(keys)), "an evaluation was recorded twice"
    candidates = rescore_candidates_of(record, config)
    assert set(keys) == expected_keys(config, candidates), "an evaluation is missing"
    rescored = sorted((r for r in rows if r["kind"] == "rescore"), key=lambda r: r["index"])
    seeds = config.search.rescore_seeds
    assert [Architecture.parse(r["arch"]) for r in rescored] == [a for a in candidates for _ in range(seeds)]
    for row in rows:
        arch = Architecture.parse(row["arch"])
        assert len(arch.cells) == row["stage"]
        assert row["autogan_vector"] == list(arch.to_autogan_vector())
        # A scored row, not a placeholder: no error, the reward is the Inception score it was
        # computed from (digits: 10 classes bound it), with its spread over the splits.
        assert row["error"] is None, row
        assert row["reward"] == row["is_mean"] and 1.0 <= row["reward"] <= 10.0 + 1e-6, row
        assert math.isfinite(row["is_std"]) and row["is_std"] >= 0.0, row
    # Different architectures on different weights score differently: a constant stands in for none.
    assert len({r["reward"] for r in rows}) > len(rows) // 2
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
    # The user's ranking is the final re-scoring alone: each candidate, every seed, one supernet.
    candidates = rescore_candidates_of(record, config)
    assert len(candidates) >= min(2 * config.search.top_k, len({r["arch"] for r in rows if r["stage"] == 2}))
    assert {r.arch for r in ranking} == set(candidates)
    assert all(r.basis == "final" and r.evaluations == config.search.rescore_seeds for r in ranking)
    iterations = [r for r in record.iterations() if r["phase"] == "policy"]
    assert len(iterations) == 4 and all(r["loss_d"] is not None for r in iterations)
    assert len(list(record.samples_dir.glob("stage*_iter*.png"))) == 4  # one grid per iteration
    assert len(list(record.samples_dir.glob("final_arch-*.png"))) == len(state["top"])  # one per ranked architecture
    assert list(record.tb_dir.glob("events.out.tfevents.*"))
    assert record.checkpoint_path.exists()


def _pid_of(actor) -> int:
    # Ray runs a function on the live actor instance: the process that holds it now.
    return actor.call("__ray_call__", lambda instance: os.getpid()).result()


def test_evaluator_death_loses_no_reward(ray_session, tiny_config, tmp_path):
    config = tiny_config("run.backend='ray'", "run.evaluators=2", "run.evaluator_cpus=0.5", "run.trainer_cpus=0.5", iterations=1)
    pid_before, killed = [], []

    def note_the_pid(row):
        if not pid_before:  # between iterations the evaluators are idle: the call answers at once
            pid_before.append(_pid_of(search.evaluators[0]))

    def kill_during_the_beam(backend, evaluators):
        # Stage 1's beam, the first scoring after iteration 0: its items 0 and 2 have just been
        # queued on evaluators[0], which dies before it can have finished them.
        if pid_before and not killed:
            killed.append(True)
            backend.kill(evaluators[0])

    search = Search(config, tmp_path / "run", hooks=SearchHooks(on_scoring=kill_during_the_beam, on_iteration=note_the_pid),
                    progress=False)
    try:
        search.run()
        pid_after = _pid_of(search.evaluators[0])
    finally:
        search.close()
    assert killed
    assert pid_after != pid_before[0], "the evaluator's process never died, or was never replaced"
    _, rows, _ = check_complete_record(tmp_path / "run", config)
    keys = keys_of(rows)
    for interrupted in [(1, 1, "beam", 0), (1, 1, "beam", 2)]:
        assert keys.count(interrupted) == 1, f"{interrupted} scored {keys.count(interrupted)} times"


CRASH_RUN = ROOT / "tests" / "crash_run.py"
CRASH_OVERRIDES = dict(cells=2, iterations=2)


def _search_command(*args):
    return [sys.executable, "-m", "autogan.cli", "search", *args]


@pytest.fixture(scope="module")
def uninterrupted_search(tmp_path_factory, tiny_overrides_for):
    """``(overrides, record)`` of an uninterrupted run, one per ``run.overlap``, made on first use."""
    made = {}

    def run(overlap: bool):
        if overlap not in made:
            # Pinned, not "auto": the same path on a 2-core laptop and a 64-core CI machine.
            overrides = tiny_overrides_for("run.backend='inprocess'", f"run.overlap={str(overlap).lower()}", **CRASH_OVERRIDES)
            reference = tmp_path_factory.mktemp("uninterrupted") / "run"
            subprocess.run(_search_command("--out", str(reference), *overrides), check=True, capture_output=True, cwd=ROOT)
            made[overlap] = overrides, RunDirectory(reference)
        return made[overlap]

    return run


# 26 evaluations in all: per stage, 2 iterations of 3 proposals, then 3 beam candidates;
# at the end 2 * top_k = 4 candidates re-scored with 2 seeds each.
EVALUATIONS = 26
# (run.overlap, point).  latest.pt is written at the start and after each step, so its third
# write is after iteration 1 of stage 1, whose row is then on disk but not committed.
CRASH_POINTS = {
    "mid-first-iteration": (False, ["evaluation", "2"]),
    "mid-last-beam": (False, ["evaluation", "16"]),
    "mid-final-rescoring": (False, ["evaluation", "22"]),
    "inside-a-checkpoint-write": (False, ["before-replace", "latest.pt", "3"]),
    # The first checkpoint: a resume does not log the config to TensorBoard again, so it must be there already.
    "inside-the-first-checkpoint": (False, ["before-replace", "state.json", "1"]),
    "between-checkpoint-and-state": (False, ["after-replace", "latest.pt", "4"]),
    # Overlapped, the checkpoint after iteration 0 holds the trainer from before iteration 1's
    # training, which was already running, and the architectures it trains on: a resume must
    # redo that training exactly.
    "overlap-after-a-checkpoint-with-training-in-flight": (True, ["after-replace", "latest.pt", "2"]),
    "random": (False, None),
}


def random_crash_point() -> list[str]:
    """Any point the run is sure to reach; AUTOGAN_CRASH_SEED replays a failure's draw."""
    seed = int(os.environ.get("AUTOGAN_CRASH_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    point = rng.choice([
        ["evaluation", str(rng.randint(1, EVALUATIONS))],
        [rng.choice(["before-replace", "after-replace"]), rng.choice(["latest.pt", "state.json"]), str(rng.randint(1, 4))],
    ])
    print(f"crash point {point} (AUTOGAN_CRASH_SEED={seed})")
    return point


@pytest.mark.parametrize("point", CRASH_POINTS.values(), ids=CRASH_POINTS.keys())
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, uninterrupted_search, point):
    overlap, point = point
    overrides, reference = uninterrupted_search(overlap)
    point = point or random_crash_point()
    reference_rows = dict(zip(keys_of(reference.evaluations()), reference.evaluations()))
    assert len(reference_rows) == EVALUATIONS

    crashed = tmp_path / "crashed"
    killed = subprocess.run([sys.executable, str(CRASH_RUN), *point, "--", "search", "--out", str(crashed), *overrides],
                            capture_output=True, text=True, cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached: {killed.stderr[-2000:]}"
    state = RunDirectory(crashed).read_state()
    assert state is None or state["phase"] != "done"
    recorded_before_resume = RunDirectory(crashed).evaluations()
    if point[0] == "before-replace":
        assert list(crashed.rglob(".*.tmp")), "the crash should have left the dead write's temporary file"

    resumed = subprocess.run(_search_command("--resume", str(crashed)), capture_output=True, text=True, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = RunDirectory(crashed).evaluations()
    keys = keys_of(rows)
    assert len(keys) == len(set(keys)), "an evaluation was counted twice"
    assert set(keys) == set(reference_rows), "an evaluation was lost"
    assert set(keys_of(recorded_before_resume)) <= set(keys)
    # CPU computation with a fixed thread count is deterministic: same architectures, same rewards.
    for key, row in zip(keys, rows):
        assert row["arch"] == reference_rows[key]["arch"], key
        assert row["reward"] == pytest.approx(reference_rows[key]["reward"], rel=1e-6, abs=1e-9), key
    assert RunDirectory(crashed).read_state()["beam"] == reference.read_state()["beam"]
    assert RunDirectory(crashed).read_state()["top"] == reference.read_state()["top"]
    assert not list(crashed.rglob(".*.tmp")), "the resume left a dead write's temporary file behind"
    # And everything else: iterations, checkpoint, sample grids, TensorBoard, bit for bit.
    assert_same_record(crashed, reference.path)


def test_the_record_comparison_sees_a_kept_uncommitted_row_and_ignores_the_clock(tmp_path, uninterrupted_search):
    # Guards the resume test's comparison: a resume that kept a row it then redid leaves that
    # row twice; a resume on a different day only changes the wall-clock fields.
    import shutil

    _, reference = uninterrupted_search(False)
    later = tmp_path / "later"
    shutil.copytree(reference.path, later)
    record = RunDirectory(later)
    record.rewrite_iterations([{**row, "time": row["time"] + 86400.0} for row in record.iterations()])
    record.rewrite_evaluations([{**row, "seconds": 2 * row["seconds"]} for row in record.evaluations()])
    assert_same_record(later, reference.path)
    rows = record.iterations()
    record.rewrite_iterations(rows[:2] + rows[1:])
    with pytest.raises(AssertionError, match="iterations.jsonl differs"):
        assert_same_record(later, reference.path)


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
    rows = [r for r in RunDirectory(tmp_path / "run").iterations() if r["phase"] == "policy"]
    assert all(r["collapsed"] and r["reset"] for r in rows)
    assert all(r["d_steps"] == 4 for r in rows)
    # One iteration a stage: each collapse waits for the stage's beam, and is reset before the
    # next stage trains; after the last stage no training follows, so its collapse is never reset.
    assert all(r["reset_deferred"] for r in rows)
    assert trainer.resets == len(rows) - 1 == len(snapshots)
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

    line = assert_one_line_error(main(["search", *args]), capsys.readouterr().err, "search")
    assert message in line


def test_search_refuses_a_run_directory_made_by_another_config(tiny_config, tiny_overrides_for, tmp_path, capsys):
    from autogan.cli import main

    RunDirectory.create(tmp_path / "run", tiny_config())
    code = main(["search", "--out", str(tmp_path / "run"), *tiny_overrides_for("run.seed=5")])
    assert "different config" in assert_one_line_error(code, capsys.readouterr().err, "search")


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
    reference = RunDirectory(tmp_path / "reference")
    assert [(r["arch"], r["reward"]) for r in rows] == [(r["arch"], r["reward"]) for r in reference.evaluations()]
    assert state["top"] == reference.read_state()["top"]


class _logged_messages:
    """The package logger's messages from now until ``close()``, whatever its handlers and level."""

    def __init__(self):
        import logging

        from autogan.log import logger

        self.lines: list[str] = []
        self._logger, self._level = logger, logger.level
        self._handler = logging.Handler()
        self._handler.emit = lambda record: self.lines.append(record.getMessage())
        logger.addHandler(self._handler)
        logger.setLevel(logging.INFO)

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)


@pytest.mark.parametrize("when", ["after-an-iterations-row", "during-the-final-rescoring"])
def test_trainer_death_after_an_iterations_row_leaves_the_record_an_uninterrupted_run_does(tiny_config, tmp_path, when):
    # After iteration 1's row, before its checkpoint: the iteration is redone from the checkpoint
    # before it, and its row must replace the first one, not follow it.  During the final
    # re-scoring: the rows before the re-scoring (the last beam's among them) stay as they are.
    # In this process, unlike the kill -9 tests, so that a mutation run sees it.
    config = tiny_config("run.backend='inprocess'", "run.overlap=false", **CRASH_OVERRIDES)
    run_search(config, tmp_path / "reference", progress=False)
    search = Search(config, tmp_path / "run", progress=False)
    killed = []

    def kill_the_trainer():
        if not killed:
            killed.append(True)
            search.backend.kill(search.trainer)

    if when == "after-an-iterations-row":
        search.hooks.on_iteration = lambda row: row["global_iteration"] == 1 and kill_the_trainer()
    else:
        search.hooks.on_scoring = lambda backend, evaluators: search.position.phase == "rescore" and kill_the_trainer()
    messages = _logged_messages()
    try:
        search.run()
    finally:
        search.close()
        messages.close()
    assert killed and search.recoveries == 1
    assert_same_record(tmp_path / "run", tmp_path / "reference")
    if when == "after-an-iterations-row":  # iteration 1's three rewards were on disk: the log says they are reused
        assert "resume: 3 evaluations recorded after the last checkpoint will be reused" in messages.lines


def test_trainer_death_on_ray_loses_nothing(ray_session, tiny_config, tmp_path):
    config = tiny_config("run.backend='ray'", "run.evaluator_cpus=0.5", "run.trainer_cpus=0.5", cells=2, iterations=1)
    assert run_with_trainer_killed_once(config, tmp_path / "run").recoveries == 1
    check_complete_record(tmp_path / "run", config)
