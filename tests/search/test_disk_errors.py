"""A disk that fills up or turns read-only mid-run: one line that says how to go on, and a resume loses nothing."""

from __future__ import annotations

import errno
import os
import shutil

import pytest

from cli_contract import assert_one_line_error
from record_comparison import assert_same_record

from autogan.cli import main
from autogan.search import RunDirectory

# 2 cells, 1 iteration each: per stage 3 proposals and 3 beam candidates (then the final re-scoring).
DURING_RUN = 12


def during_run(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["kind"] in ("policy", "beam")]


def fail_on_call(monkeypatch, method: str, call: int, code: int, path_of) -> None:
    """Make ``RunDirectory.<method>`` raise ``OSError(code)`` on its ``call``-th use, as the kernel would."""
    real = getattr(RunDirectory, method)
    calls = {"n": 0}

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise OSError(code, os.strerror(code), str(path_of(self)))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RunDirectory, method, failing)


def failed_search_line(capsys, run, overrides: list[str]) -> str:
    """Start a search at ``run`` that must stop with exit status 2; the one line it printed."""
    code = main(["search", "--out", str(run), *overrides])
    return assert_one_line_error(code, capsys.readouterr().err, "search")


@pytest.fixture
def overrides(tiny_overrides_for) -> list[str]:
    """The search ``DURING_RUN`` counts for, run in this process."""
    return tiny_overrides_for("run.backend='inprocess'", cells=2, iterations=1)


def test_full_disk_mid_run_then_resume_keeps_every_result(capsys, monkeypatch, tmp_path, overrides):
    run = tmp_path / "run"
    fail_on_call(monkeypatch, "append_evaluation", 5, errno.ENOSPC, lambda record: record.evaluations_path)
    line = failed_search_line(capsys, run, overrides)
    assert f"{run / 'evaluations.jsonl'}: No space left on device; free space, then `autogan search --resume {run}`" in line
    recorded = RunDirectory(run).evaluations()
    assert len(recorded) == 4

    monkeypatch.undo()  # space was freed
    assert main(["search", "--resume", str(run)]) == 0
    rows = RunDirectory(run).evaluations()
    keys = [(r["stage"], r["iteration"], r["kind"], r["index"]) for r in rows]
    assert len(keys) == len(set(keys)) and len(during_run(rows)) == DURING_RUN
    assert RunDirectory(run).read_state()["phase"] == "done"
    assert all(row in rows for row in recorded)  # nothing recorded before the failure was dropped


def test_resume_writes_a_missing_state_again(capsys, tmp_path, overrides):
    run = tmp_path / "run"
    assert main(["search", "--out", str(run), *overrides]) == 0
    shutil.copytree(run, tmp_path / "as-finished")
    record = RunDirectory(run)
    finished = record.read_state()
    record.state_path.unlink()
    capsys.readouterr()
    assert main(["inspect", str(run), "--json"]) == 0
    assert '"status": "unknown: state.json is missing"' in capsys.readouterr().out
    assert main(["search", "--resume", str(run)]) == 0
    again = record.read_state()
    assert again["phase"] == "done" and again["beam"] == finished["beam"]
    assert again["top"] == finished["top"]
    assert len(during_run(record.evaluations())) == DURING_RUN
    # A finished run has nothing left to redo: its resume keeps every row and file as it was.
    assert_same_record(run, tmp_path / "as-finished")


@pytest.mark.parametrize(
    "code, fix",
    [(errno.EROFS, "make its file system writable again"), (errno.EACCES, "make the run directory writable again")],
)
def test_read_only_run_directory_mid_run(capsys, monkeypatch, tmp_path, overrides, code, fix):
    run = tmp_path / "run"
    fail_on_call(monkeypatch, "write_state", 2, code, lambda record: record.state_path)
    line = failed_search_line(capsys, run, overrides)
    assert f"{run / 'state.json'}: {os.strerror(code)}; {fix}, then `autogan search --resume {run}`" in line


def test_unwritable_before_the_first_checkpoint_leaves_nothing_behind(capsys, monkeypatch, tmp_path, overrides):
    run = tmp_path / "run"
    fail_on_call(monkeypatch, "save_checkpoint", 1, errno.ENOSPC, lambda record: record.checkpoint_path)
    line = failed_search_line(capsys, run, overrides)
    assert "free space on that disk, then run the same command again" in line
    assert not run.exists()  # a retry, with the same or a fixed config, starts clean
