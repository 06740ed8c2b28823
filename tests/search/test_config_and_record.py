"""Config resolution (defaults < file < overrides) and the run record's durability rules."""

import json

import pytest

from cli_contract import assert_one_line_error

from autogan.config import Config, load_config, preset_names
from autogan.errors import ConfigError, MissingFileError, UserError
from autogan.search import RunDirectory


def test_presets_load_and_round_trip_through_toml(tmp_path):
    assert {"digits", "cifar10", "stl10"} <= set(preset_names())
    for name in ("digits", "cifar10", "stl10"):
        config = load_config(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(config.to_toml())
        assert load_config(str(path)) == config
    paper = load_config("cifar10")
    assert paper.search.stage_iterations == (15, 20, 30)
    assert (paper.model.ch, paper.model.df, paper.train.n_critic, paper.train.d_steps_per_iteration) == (128, 64, 5, 11730)
    assert paper.search.reward_samples == 5000 and paper.search.extractor == "inception-v3"


def test_overrides_beat_the_file_and_parse_as_toml():
    config = load_config("digits", ["train.n_critic=1", "search.stage_iterations=[1, 1, 1]", "train.loss=bce", "train.lr_g=1e-3"])
    assert config.train.n_critic == 1
    assert config.search.stage_iterations == (1, 1, 1)
    assert config.train.loss == "bce"
    assert config.train.lr_g == 1e-3


@pytest.mark.parametrize(
    "overrides, message",
    [
        # A misspelt override is blamed on the override, with the nearest name, not on the preset's file.
        (["train.n_critc=1"], "override 'train.n_critc=1': [train] has no key 'n_critc'; did you mean train.n_critic?"),
        (["trian.n_critic=1"], "override 'trian.n_critic=1': there is no section [trian]; did you mean train.n_critic?"),
        (["train.n_critic=fast"], "'fast' is not an integer"),
        (["search.stage_iterations=[1, 1]"], "2 entries but search.num_cells is 3"),
        (["search.beam_width=20"], "larger than search.beam_candidates"),
        (["n_critic=1"], "should be section.key"),
        (["train.step=three_stage"], "not one of ['one_stage', 'two_stage']"),
        (["train.stats_every=0"], "train.stats_every=0: must be at least 1"),
        (["search.reward_bf16=yes"], 'search.reward_bf16=\'yes\': not "auto", true or false; give "auto"'),
        (["search.reward_bf16='true'"], "search.reward_bf16='true': not \"auto\", true or false; give \"auto\" to let "
                                         "the device decide, or true or false without quotes"),
        (["search.reward_bf16=1"], "reward_bf16: 1 is not a string, nor true or false"),
        (["run.tf32=auto"], "tf32: 'auto' is not true or false"),
    ],
)
def test_bad_config_names_the_key_and_the_fix(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config("digits", overrides)
    assert message in str(info.value)


@pytest.mark.parametrize("value, parsed", [("auto", "auto"), ("true", True), ("false", False)])
def test_reward_bf16_takes_auto_or_a_boolean_and_round_trips(value, parsed, tmp_path):
    config = load_config("digits", [f"search.reward_bf16={value}"])
    assert config.search.reward_bf16 == parsed
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml())
    assert load_config(str(path)) == config


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="presets are .*digits"):
        load_config("imagenet")


def test_run_directory_refuses_a_different_config(tmp_path):
    run_dir = tmp_path / "run"
    RunDirectory.create(run_dir, Config())
    RunDirectory.create(run_dir, Config())  # the same config may start where it was made
    other = load_config("digits", ["run.seed=7"])
    with pytest.raises(ConfigError, match="different config.*--resume"):
        RunDirectory.create(run_dir, other)
    (tmp_path / "notarun").mkdir()
    (tmp_path / "notarun" / "x.txt").write_text("x")
    with pytest.raises(ConfigError, match="not an autogan run"):
        RunDirectory.create(tmp_path / "notarun", Config())
    with pytest.raises(MissingFileError, match="not found"):
        RunDirectory.open(tmp_path / "missing")


def test_appends_survive_a_line_cut_short(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    row = {"stage": 1, "iteration": 0, "kind": "policy", "arch": "pre,none,nearest,sc"}
    record.append_evaluation({**row, "index": 0, "reward": 1.5})
    with open(record.evaluations_path, "ab") as handle:
        handle.write(b'{"stage": 1, "iteration": 0, "ki')  # a kill -9 mid-write
    assert len(record.evaluations()) == 1
    record.repair_after_crash()
    record.append_evaluation({**row, "index": 1, "reward": 2.5})
    assert [r["index"] for r in record.evaluations()] == [0, 1]


def test_state_and_checkpoint_are_atomic_and_safe(tmp_path):
    import torch

    record = RunDirectory.create(tmp_path / "run", Config())
    record.write_state({"stage": 2})
    assert record.read_state()["stage"] == 2
    assert not list(record.path.glob(".*.tmp"))
    record.save_checkpoint({"w": torch.ones(2), "step": 3})
    assert record.load_checkpoint()["step"] == 3
    record.checkpoint_path.write_bytes(b"garbage")
    with pytest.raises(UserError, match="corrupt or not an autogan checkpoint"):
        record.load_checkpoint()
    record.state_path.write_text(json.dumps({"version": 99}))
    with pytest.raises(UserError, match="newer autogan"):
        record.read_state()


def test_a_second_writer_is_refused_and_nothing_is_touched(tmp_path, capsys):
    from autogan.cli import main

    record = RunDirectory.create(tmp_path / "run", Config())
    row = {"stage": 1, "iteration": 0, "kind": "policy", "arch": "pre,none,nearest,sc"}
    record.append_evaluation({**row, "index": 0, "reward": 1.5})
    lock = record.lock()
    before = {p.name: p.read_bytes() for p in record.path.iterdir() if p.is_file()}
    try:
        with pytest.raises(UserError, match=r"another autogan process \(pid \d+\) is writing it"):
            RunDirectory(record.path).lock()
        code = main(["search", "--resume", str(record.path)])
        assert "another autogan process" in assert_one_line_error(code, capsys.readouterr().err, "search")
        assert {p.name: p.read_bytes() for p in record.path.iterdir() if p.is_file()} == before
    finally:
        lock.release()
    RunDirectory(record.path).lock().release()  # free again once the holder lets go


def test_resume_repair_removes_the_temporary_file_of_a_dead_write(tmp_path):
    record = RunDirectory.create(tmp_path / "run", Config())
    dead = record.checkpoint_path.parent / ".latest.pt.abc123.tmp"
    dead.parent.mkdir(parents=True, exist_ok=True)
    dead.write_bytes(b"half a checkpoint")
    record.repair_after_crash()
    assert not dead.exists() and record.config_path.exists()


def test_show_config_prints_the_resolved_config_and_starts_nothing(capsys, tmp_path, monkeypatch):
    import tomllib

    from autogan.cli import main
    from autogan.config import Config, load_config

    monkeypatch.chdir(tmp_path)
    overrides = ["search.stage_iterations=[4,5,6]", "search.controller='random'"]
    assert main(["search", "--show-config", *overrides]) == 0
    shown = tomllib.loads(capsys.readouterr().out)
    assert Config.from_dict(shown) == load_config(None, overrides)
    assert shown["search"]["stage_iterations"] == [4, 5, 6] and shown["search"]["controller"] == "random"
    assert not (tmp_path / "runs").exists()
