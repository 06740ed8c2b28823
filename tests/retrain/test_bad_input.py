"""Bad input to retrain and sample: exit status 2 and one line that names the problem."""

from __future__ import annotations

import json

import pytest

from cli_contract import assert_one_line_error

from autogan.cli import main


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def corrupt_checkpoint(tmp_path):
    path = tmp_path / "latest.pt"
    path.write_bytes(b"PK\x03\x04 this is not a torch checkpoint")
    return path


@pytest.fixture()
def foreign_checkpoint(tmp_path):
    import torch

    path = tmp_path / "search.pt"
    torch.save({"version": 1, "trainer": {}}, path)
    return path


CASES = {
    "missing run": (["retrain", "{tmp}/no-such-run", "--rank", "1"], "not found"),
    "rank out of range": (["retrain", "{run}", "--rank", "3"], "--rank 3: run"),
    "rank zero": (["retrain", "{run}", "--rank", "0"], "pass 1..2"),
    "rank without run": (["retrain", "--rank", "1"], "needs the search's RUN_DIR"),
    "no architecture": (["retrain"], "exactly one of"),
    "two architectures": (["retrain", "--arch", "x", "--autogan-vector", "1 0 1 1"], "--arch and --autogan-vector"),
    "invalid vector": (["retrain", "--autogan-vector", "1 0 9 1 1 0 0 1 1 1 0 1 0 3"], "cell 1, decision up: value 9"),
    "invalid string": (["retrain", "--arch", "pre,none,nearest,sc | pre,none,sideways,sc,skip=1 | pre,none,nearest,nosc,skip=1+2"], "unknown up op 'sideways'"),
    "missing arch file": (["retrain", "--arch", "{tmp}/arch.json"], "not found"),
    "bad override": (["retrain", "--autogan-vector", "1 0 1 1 1 0 0 1 1 1 0 1 0 3", "train.g_steps=zero"], "train"),
    "unknown preset": (["retrain", "--autogan-vector", "1 0 1 1 1 0 0 1 1 1 0 1 0 3", "--config", "mnist"], "no such preset"),
    "resume nothing": (["retrain", "--resume", "{tmp}/nothing"], "config.toml"),
    "corrupt checkpoint": (["sample", "{corrupt}"], "corrupt or not an autogan checkpoint"),
    "search checkpoint": (["sample", "{foreign}"], "not an autogan retrain checkpoint"),
    "missing checkpoint": (["sample", "{tmp}/none.pt"], "not found"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_clear_line(case, capsys, tmp_path, run_dir, corrupt_checkpoint, foreign_checkpoint):
    argv, needle = CASES[case]
    argv = [a.format(tmp=tmp_path, run=run_dir, corrupt=corrupt_checkpoint, foreign=foreign_checkpoint) for a in argv]
    code, out, err = run_cli(capsys, *argv)
    line = assert_one_line_error(code, err, argv[0], out=out)
    assert needle in line, line


def test_existing_retrain_directory_is_refused(capsys, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "something").write_text("x")
    code, _, err = run_cli(capsys, "retrain", "--autogan-vector", "1 0 1 1 1 0 0 1 1 1 0 1 0 3", "--out", tmp_path / "out")
    assert "--resume" in assert_one_line_error(code, err, "retrain")


def test_truncation_must_be_positive(capsys, tmp_path):
    # Checked before anything is loaded, so no trained checkpoint is needed.
    from autogan.errors import UserError
    from autogan.retrain import truncated_latents
    import torch

    with pytest.raises(UserError, match="tau must be positive"):
        truncated_latents(2, 2, 0.0, torch.Generator())


def test_a_retrain_directory_in_use_is_refused(capsys, tmp_path):
    from search_spaces import Architecture

    from autogan.files import DirectoryLock
    from autogan.config import load_retrain_config

    out = tmp_path / "out"
    out.mkdir()
    (out / "config.toml").write_text(load_retrain_config("digits", []).to_toml())
    (out / "arch.json").write_text(json.dumps(Architecture.from_autogan_vector([1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 3]).to_dict()))
    holder = DirectoryLock(out, what="retrain directory").acquire()
    try:
        code, _, err = run_cli(capsys, "retrain", "--resume", out)
    finally:
        holder.release()
    line = assert_one_line_error(code, err, "retrain")
    assert "another autogan process" in line and "retrain directory" in line
