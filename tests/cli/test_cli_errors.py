"""The CLI's error contract: bad input of any kind ends in exit 2 and one line on stderr, never a traceback."""

from __future__ import annotations

import errno
import os
import pickle
import re
import warnings

import pytest
import torch

from cli_contract import assert_one_line_error

from autogan.cli import MESSAGE_LIMIT, main, one_line
from autogan.errors import describe_os_error, shown

TOP1 = "1 0 1 1 1 0 0 1 1 1 0 1 0 3"
TWELVE_CELLS = " | ".join(["pre,none,nearest,sc"] + ["pre,none,nearest,sc,skip=none"] * 11)


def one_error_line(capsys, *argv) -> str:
    """Run the CLI; the contract's one error line (nothing on stdout, exit 2, see cli_contract)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    command = str(argv[0]) if argv and not str(argv[0]).startswith("-") else None
    return assert_one_line_error(code, err, command, out=out)


class _Unrelated:
    """Pickled into a checkpoint, where a safe loader must refuse it."""


def test_twelve_cell_string_is_no_file_name(capsys):
    line = one_error_line(capsys, "arch", "show", TWELVE_CELLS)
    assert "12 cells but this space has 3" in line


def test_json_nested_200000_deep(capsys, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    line = one_error_line(capsys, "arch", "show", path)
    assert "nested too deeply" in line


def test_absurd_width_for_the_cost(capsys):
    line = one_error_line(capsys, "arch", "show", "--autogan-vector", TOP1, "--ch", 1_000_000_000)
    assert "--ch 1000000000" in line and "256" in line


def test_huge_architecture_file_is_refused_by_size(capsys, tmp_path):
    path = tmp_path / "arch.txt"
    path.write_text("x" * 2_000_000)
    line = one_error_line(capsys, "arch", "validate", path)
    assert f"ARCH file {path}" in line and "2,000,000 bytes" in line


def test_long_bad_value_is_echoed_cut(capsys, tmp_path):
    path = tmp_path / "arch.txt"
    path.write_text("y" * 200_000)
    line = one_error_line(capsys, "arch", "validate", path)
    assert "yyyy" in line and "(200,000 characters)" in line
    assert len(line) < 300


def test_pickle_checkpoint_is_refused_without_warnings_first(capsys, tmp_path):
    path = tmp_path / "pickled.pt"
    with open(path, "wb") as handle:
        pickle.dump({"model": _Unrelated()}, handle, protocol=4)  # protocol 4 makes torch warn before it refuses
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # whatever filters the test run sets, nothing may come before the line
        line = one_error_line(capsys, "sample", path)
    assert "Python objects besides tensors" in line or "corrupt or not an autogan checkpoint" in line


def test_checkpoint_of_foreign_objects_names_the_reason(capsys, tmp_path):
    path = tmp_path / "objects.pt"
    torch.save({"model": _Unrelated()}, path)
    line = one_error_line(capsys, "sample", path)
    assert "Python objects besides tensors" in line and "\x1b" not in line


@pytest.mark.parametrize("content", [b"", os.urandom(512)], ids=["empty", "random-bytes"])
def test_empty_or_random_checkpoint(capsys, tmp_path, content):
    path = tmp_path / "latest.pt"
    path.write_bytes(content)
    line = one_error_line(capsys, "sample", path)
    assert f"checkpoint {path}" in line


def test_search_out_naming_a_file(capsys, tmp_path):
    path = tmp_path / "taken"
    path.write_text("mine")
    line = one_error_line(capsys, "search", "--out", path, "run.backend='inprocess'")
    assert "is a file, not a directory" in line and "--out" in line
    assert path.read_text() == "mine"


def test_resume_naming_a_file(capsys, tmp_path):
    path = tmp_path / "taken"
    path.write_text("mine")
    assert "is a file, not a directory" in one_error_line(capsys, "search", "--resume", path)
    assert "is a file, not a directory" in one_error_line(capsys, "inspect", path)


@pytest.mark.parametrize(
    "override, expected",
    [
        ("search.num_cells=" + "[" * 100_000, "nested too deeply"),
        ("train.loss='hinge'\nrun.seed=3", "spans lines"),
        ("model.ch=" + "9" * 100_000, "far too long"),
        ("model.ch=" + "9" * 30, "64-bit integer"),
        ("run.evaluator_cpus=nan", "finite number"),
    ],
    ids=["deep", "two-lines", "huge-number", "int64-overflow", "nan"],
)
def test_bad_overrides(capsys, override, expected):
    assert expected in one_error_line(capsys, "search", override)


def test_config_file_problems(capsys, tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("[run]\nseed = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested too deeply" in one_error_line(capsys, "search", "--config", deep)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in one_error_line(capsys, "search", "--config", binary)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    assert f"config {folder}: cannot be read" in one_error_line(capsys, "search", "--config", folder)


@pytest.mark.parametrize(
    "code, fix",
    [
        (errno.ENOSPC, "free space"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "permissions"),
        (errno.ENOTDIR, "not a directory"),
    ],
)
def test_os_errors_reaching_the_cli_are_one_line(capsys, monkeypatch, code, fix):
    import autogan.commands.arch as arch_command

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), "/some/run/file.json")

    monkeypatch.setattr(arch_command, "describe_arch", fail)
    line = one_error_line(capsys, "arch", "show", "--autogan-vector", TOP1)
    assert "/some/run/file.json" in line and os.strerror(code) in line and fix in line


def test_library_warnings_come_after_a_result(capsys, monkeypatch):
    import autogan.commands.arch as arch_command

    real = arch_command.describe_arch

    def warn_then_describe(arch):
        warnings.warn("a library's remark", UserWarning)
        return real(arch)

    monkeypatch.setattr(arch_command, "describe_arch", warn_then_describe)
    with pytest.warns(UserWarning, match="a library's remark"):  # held back, not lost
        assert main(["arch", "show", "--autogan-vector", TOP1]) == 0
    assert capsys.readouterr().out.startswith("architecture: ")


def test_one_line_keeps_the_start_and_the_fix():
    message = "input X: " + "z" * 10_000 + "; do this to fix it"
    line = one_line(message + "\nsecond line")
    assert "\n" not in line and len(line) < MESSAGE_LIMIT + 60
    assert line.startswith("input X: ") and line.endswith("second line")


def test_echoes_are_cut():
    assert shown("ab") == "'ab'"
    cut = shown("q" * 1000)
    assert cut.endswith("(1,000 characters)") and len(cut) < 110
    long_path = OSError(errno.ENOSPC, "No space left on device", "/" + "d" * 5000)
    assert len(describe_os_error(long_path)) < 200


def test_library_warnings_never_precede_the_error_line(capsys, monkeypatch):
    import autogan.commands.arch as arch_command
    from autogan.errors import UserError

    def warn_then_fail(arch):
        warnings.warn("a library's remark", UserWarning)
        raise UserError("input X: broken; fix it")

    monkeypatch.setattr(arch_command, "describe_arch", warn_then_fail)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        line = one_error_line(capsys, "arch", "show", "--autogan-vector", TOP1)
    assert line == "autogan arch: input X: broken; fix it"


def test_directories_where_files_belong(capsys, tmp_path):
    assert "is a directory" in one_error_line(capsys, "arch", "show", tmp_path)
    assert "ARCH: it is empty" in one_error_line(capsys, "arch", "show", "")  # not the current directory
    assert "is a directory" in one_error_line(capsys, "sample", tmp_path)


def test_a_json_list_is_read_as_json(capsys, tmp_path):
    path = tmp_path / "arch.json"
    path.write_text("[1, 2]")
    assert "architecture JSON: expected an object, got list" in one_error_line(capsys, "arch", "show", path)


def test_unknown_loss_is_refused_before_the_search_starts(capsys, tmp_path):
    line = one_error_line(capsys, "search", "--out", tmp_path / "run", "train.loss=" + "z" * 20_000, "run.backend='inprocess'")
    assert line.startswith("autogan search: train.loss='zzz") and "choose one of" in line and len(line) < 300
    assert not (tmp_path / "run").exists()


def test_worker_errors_show_their_own_message(capsys, monkeypatch):
    import autogan.commands.arch as arch_command
    from autogan.errors import ConfigError

    class WrappedByABackend(ConfigError):
        """Like Ray's report of a worker's error: its text is a remote traceback, its cause the real error."""

        def __init__(self, cause):
            super().__init__("\x1b[36mray::Worker.run()\x1b[39m Traceback ... ^^^^")
            self.cause = cause

    def fail(arch):
        raise WrappedByABackend(ConfigError("train.loss='x': not a known loss; choose one of hinge"))

    monkeypatch.setattr(arch_command, "describe_arch", fail)
    line = one_error_line(capsys, "arch", "show", "--autogan-vector", TOP1)
    assert line == "autogan arch: train.loss='x': not a known loss; choose one of hinge"


def test_writing_under_a_file_names_the_file(tmp_path):
    from autogan.files import atomic_write_bytes

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError) as caught:
        atomic_write_bytes(blocker / "r.html", b"report")
    assert caught.value.filename == str(blocker) and blocker.read_text() == "x"
    assert "a part of the path is a file" in describe_os_error(caught.value)


def _named_switches(line: str) -> tuple[list[str], list[str]]:
    """The config keys (``section.key=``) and the flags (``--flag``) that a hint tells the user to use."""
    return re.findall(r"\b([a-z_]+\.[a-z_]+)=", line), re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", line)


def test_a_missing_dataset_names_switches_that_each_command_has(capsys, tmp_path):
    """The CIFAR-10 hint once said "Pass --download", a flag `autogan search` does not have."""
    from autogan.config import load_config

    line = one_error_line(capsys, "search", "--config", "cifar10", f"data.root={tmp_path}", "--out", tmp_path / "run")
    keys, flags = _named_switches(line)
    assert "data.download" in keys and "--download" in flags
    # Each key the hint names is one the search's config takes (it raises on an unknown key)...
    config = load_config("cifar10", [f"{key}=true" if key == "data.download" else f"{key}='{tmp_path}'" for key in keys])
    assert config.data.download is True
    # ... and each flag is one of `autogan metrics`, the command the hint names it for.
    with pytest.raises(SystemExit):
        main(["metrics", "--help"])
    help_text = capsys.readouterr().out
    assert all(flag in help_text for flag in flags), (flags, help_text)
