"""A damaged run record: every good row is still shown, the damage is named by file and line,
and nothing that would rewrite the record goes on from it."""

from __future__ import annotations

import json
import shutil

import pytest

from cli_contract import assert_one_line_error

from autogan.cli import main
from autogan.errors import DamagedRecordError
from autogan.search import RunDirectory


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def run_copy(synthetic_run, tmp_path):
    path = tmp_path / "run"
    shutil.copytree(synthetic_run, path)
    return path


def replace_line(path, number, text):
    lines = path.read_text().splitlines(keepends=True)
    lines[number - 1] = text + "\n"
    path.write_text("".join(lines))


def insert_line(path, number, text):
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(number - 1, text + "\n")
    path.write_text("".join(lines))


def ranked_archs(capsys, run):
    code, out, err = run_cli(capsys, "inspect", run, "--json")
    assert code == 0, err
    return json.loads(out), err


def evaluation_with(record, **changes):
    row = dict(json.loads(record.evaluations_path.read_text().splitlines()[0]))
    row.update(changes)
    return json.dumps({k: v for k, v in row.items() if v is not _DROP})


_DROP = object()


def test_garbage_in_the_middle_hides_no_row(capsys, run_copy, synthetic_run):
    record = RunDirectory(run_copy)
    good_rows = len(record.evaluations())
    insert_line(record.evaluations_path, 4, "{garbage")
    data, err = ranked_archs(capsys, run_copy)
    expected, _ = ranked_archs(capsys, synthetic_run)
    assert data["architectures"] == expected["architectures"]  # every good row still counts
    assert f"{record.evaluations_path} line 4: not a JSON row" in err
    assert data["warnings"] == [f"{record.evaluations_path} line 4: not a JSON row; skipped, every other row is shown"]
    rows, damage = record.read_evaluations()
    assert len(rows) == good_rows and [d.line for d in damage] == [4]


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"stage": _DROP}, "the row has no 'stage'"),
        ({"reward": "4.2"}, "'reward' is '4.2', not a number or null"),
        ({"kind": "other"}, "'kind' is 'other'"),
        ({"arch": "pre,none"}, "'arch' is not an architecture"),
        ({"iteration": -1}, "'iteration' is -1"),
    ],
    ids=["no-stage", "reward-string", "kind", "arch", "negative"],
)
def test_rows_of_the_wrong_shape_are_damage(capsys, run_copy, changes, problem):
    record = RunDirectory(run_copy)
    replace_line(record.evaluations_path, 5, evaluation_with(record, **changes))
    data, err = ranked_archs(capsys, run_copy)
    assert data["architectures"]
    assert f"line 5: {problem}" in err
    with pytest.raises(DamagedRecordError, match="line 5"):
        record.evaluations()


def test_iterations_row_missing_a_key(capsys, run_copy):
    record = RunDirectory(run_copy)
    row = json.loads(record.iterations_path.read_text().splitlines()[1])
    del row["global_iteration"]
    replace_line(record.iterations_path, 2, json.dumps(row))
    code, out, err = run_cli(capsys, "inspect", run_copy, "--report", run_copy / "report.html")
    assert code == 0
    assert f"{record.iterations_path} line 2: the row has no 'global_iteration'" in err
    assert "line 2: the row has no" in (run_copy / "report.html").read_text()


def test_torn_last_line_is_silent(capsys, run_copy):
    record = RunDirectory(run_copy)
    with open(record.evaluations_path, "a") as handle:
        handle.write('{"stage": 3, "iter')
    _, err = ranked_archs(capsys, run_copy)
    assert "line" not in err
    assert record.read_evaluations()[1] == []


def test_resume_refuses_a_damaged_record_and_leaves_it_as_it_is(capsys, run_copy):
    record = RunDirectory(run_copy)
    insert_line(record.evaluations_path, 4, "{garbage")
    before = record.evaluations_path.read_bytes()
    code, out, err = run_cli(capsys, "search", "--resume", run_copy)
    line = assert_one_line_error(code, err, "search", out=out)
    assert f"{record.evaluations_path} line 4" in line
    assert f"sed -i '4d' {record.evaluations_path}" in line and f"autogan search --resume {run_copy}" in line
    assert record.evaluations_path.read_bytes() == before


@pytest.mark.parametrize(
    "content, problem",
    [("[1, 2]", "a JSON list, not an object"), ('{"version": "1"}', "'version' is '1'"), ("{", "not JSON")],
    ids=["list", "version-string", "truncated"],
)
def test_damaged_state_json(capsys, run_copy, content, problem):
    RunDirectory(run_copy).state_path.write_text(content)
    data, err = ranked_archs(capsys, run_copy)  # the rows are still shown
    assert data["status"] == "unknown: state.json is damaged" and data["architectures"]
    assert problem in err
    code, out, err = run_cli(capsys, "search", "--resume", run_copy)
    line = assert_one_line_error(code, err, "search", out=out)
    assert problem in line and "autogan search --resume" in line


def test_run_files_that_are_directories(capsys, run_copy):
    record = RunDirectory(run_copy)
    record.evaluations_path.unlink()
    record.evaluations_path.mkdir()
    code, out, err = run_cli(capsys, "inspect", run_copy)
    line = assert_one_line_error(code, err, "inspect", out=out)
    assert f"run file {record.evaluations_path}: cannot be read (Is a directory)" in line


def test_missing_state_is_reported_not_shown_as_started(capsys, run_copy):
    RunDirectory(run_copy).state_path.unlink()
    data, err = ranked_archs(capsys, run_copy)
    assert data["status"] == "unknown: state.json is missing"
    assert "state.json: missing" in err and data["architectures"]


def test_a_run_that_has_not_checkpointed_is_started(run_copy):
    from autogan.report import load_run

    record = RunDirectory(run_copy)
    record.state_path.unlink()
    record.evaluations_path.unlink()
    record.iterations_path.unlink()
    summary = load_run(record.path)
    assert summary.status.startswith("started") and summary.notes == []
