"""The run directory's contract, read from its files: what each refusal says, what each write leaves on disk.

Mutation testing of ``autogan/search/_run_directory.py`` found these untested: messages that
named nothing, a state file written in another layout, a failed start that removed too much.
"""

from __future__ import annotations

import json

import pytest
import torch

from autogan.config import Config
from autogan.errors import ConfigError, DamagedRecordError, MissingFileError, UserError
from autogan.search import RunDirectory

ROW = {"stage": 1, "iteration": 0, "kind": "policy", "arch": "pre,none,nearest,sc", "index": 0, "reward": 1.5}
STATE_FIX = "delete it and `autogan search --resume {run}` writes it again from the checkpoint"


def test_create_makes_missing_parents_and_writes_the_config_once(tmp_path):
    run = tmp_path / "runs" / "a" / "b"
    record = RunDirectory.create(run, Config())
    assert record.config_path.read_text() == Config().to_toml()
    assert record.config().to_toml() == Config().to_toml()


def test_create_refuses_a_file_and_a_started_search_with_the_fix(tmp_path):
    file = tmp_path / "plain"
    file.write_text("x")
    with pytest.raises(ConfigError) as refused:
        RunDirectory.create(file, Config())
    assert str(refused.value) == f"run directory {file}: is a file, not a directory; choose another --out"
    record = RunDirectory.create(tmp_path / "run", Config())
    record.write_state({"stage": 1})
    with pytest.raises(ConfigError) as refused:
        RunDirectory.create(record.path, Config())
    assert str(refused.value) == (f"run directory {record.path}: it already holds a search; "
                                  f"pass --resume {record.path} to continue it, or choose another --out")


def test_open_names_what_is_wrong_with_the_path(tmp_path):
    file = tmp_path / "plain"
    file.write_text("x")
    with pytest.raises(UserError) as refused:
        RunDirectory.open(file)
    assert str(refused.value) == (
        f"run directory {file}: is a file, not a directory; pass the directory that `autogan search` printed")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError) as refused:
        RunDirectory.open(tmp_path / "empty")
    assert str(refused.value) == (f"run directory {tmp_path / 'empty'}: has no config.toml, so it is not an autogan "
                                  "run (or it was never started)")


def test_a_bad_config_file_is_named_by_its_path(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    record.config_path.write_text("[nosuchsection]\nx = 1\n")
    with pytest.raises(ConfigError) as refused:
        RunDirectory.open(record.path).config()
    assert str(refused.value).startswith(f"{record.config_path}: unknown section(s) ")


@pytest.mark.parametrize("log", ["evaluations", "iterations"])
def test_a_damaged_log_is_refused_with_the_run_to_inspect_and_resume(tmp_path, log):
    record = RunDirectory.create(tmp_path / "run", Config())
    path = record.path / f"{log}.jsonl"
    path.write_bytes(b"not json\n")
    with pytest.raises(DamagedRecordError) as refused:
        getattr(record, log)()
    message = str(refused.value)
    assert message.startswith(f"{path} line 1: ")
    assert f"`autogan inspect {record.path}`" in message and f"`autogan search --resume {record.path}`" in message
    with pytest.raises(DamagedRecordError) as checked:
        record.check_damage()
    assert str(checked.value) == message


def test_an_undamaged_record_passes_the_check(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    record.append_evaluation(ROW)
    record.check_damage()
    assert record.evaluations() == [ROW]


def test_state_is_written_as_indented_sorted_json_with_its_version(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    record.write_state({"stage": 2, "beam": ["x"]})
    assert record.state_path.read_text() == '{\n  "beam": [\n    "x"\n  ],\n  "stage": 2,\n  "version": 1\n}\n'


def test_a_state_without_a_version_is_read_as_the_first_layout(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    record.state_path.write_text('{"stage": 3}')
    assert record.read_state() == {"stage": 3}


def test_each_damaged_state_file_is_named_with_the_fix(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    damaged = f"run state {record.state_path}: it is written atomically, so the file was edited or damaged"
    fix = STATE_FIX.format(run=record.path)
    cases = {
        # A nesting too deep for the decoder: its reason is longer than the 80 characters shown.
        "[" * 100_000: (f"{damaged} (not JSON: 'maximum recursion depth exceeded while decoding a JSON array from "
                        f"a unicode st… (82 characters)); {fix}"),
        "[1]": f"{damaged} (a JSON list, not an object); {fix}",
        json.dumps({"version": "x" * 50}): f"{damaged} ('version' is '{'x' * 38}… (50 characters)); {fix}",
    }
    for text, message in cases.items():
        record.state_path.write_text(text)
        with pytest.raises(DamagedRecordError) as refused:
            record.read_state()
        assert str(refused.value) == message


def test_a_checkpoint_and_a_lock_name_what_they_are(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    with pytest.raises(MissingFileError) as refused:
        record.load_checkpoint()
    assert str(refused.value) == f"search checkpoint {record.checkpoint_path}: not found"
    lock = record.lock()
    try:
        with pytest.raises(UserError) as refused:
            RunDirectory(record.path).lock()
        assert str(refused.value).startswith(f"run directory {record.path}: another autogan process (pid ")
    finally:
        lock.release()


def test_a_failed_start_removes_only_what_create_wrote(tmp_path):
    run = tmp_path / "run"
    record = RunDirectory.create(run, Config())  # no lock file and no TensorBoard directory yet
    record.discard_unstarted(remove_directory=True)
    assert not run.exists()

    record = RunDirectory.create(run, Config())
    (run / "notes.txt").write_text("mine")
    record.tb_dir.mkdir()
    (record.tb_dir / "events.out.tfevents.1").write_bytes(b"")
    record.discard_unstarted(remove_directory=True)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_a_started_search_is_never_discarded(tmp_path):
    for started in ("state", "checkpoint"):
        record = RunDirectory.create(tmp_path / started, Config())
        if started == "state":
            record.write_state({"stage": 1})
        else:
            record.save_checkpoint({"step": torch.tensor(1)})
        record.discard_unstarted(remove_directory=True)
        assert record.config_path.exists()


def test_logs_are_rewritten_whole_as_canonical_lines(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    record.append_evaluation(ROW)
    record.rewrite_evaluations([{"b": 1, "a": 2}, {"c": None}])
    assert record.evaluations_path.read_bytes() == b'{"a": 2, "b": 1}\n{"c": null}\n'
    record.rewrite_iterations([{"z": 1, "y": [2]}, {"x": "a"}])
    assert record.iterations_path.read_bytes() == b'{"y": [2], "z": 1}\n{"x": "a"}\n'
    assert not list(record.path.glob(".*.tmp"))


def test_sample_grids_are_listed_in_name_order(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    assert list(record.sample_grids()) == []
    record.samples_dir.mkdir()
    for name in ("s2_i1.png", "s1_i0.png", "notes.txt"):
        (record.samples_dir / name).write_bytes(b"")
    assert [p.name for p in record.sample_grids()] == ["s1_i0.png", "s2_i1.png"]

