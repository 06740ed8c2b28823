"""Every input of ``tests/bad_inputs_table.py`` as a test: the table is the evidence, this is the check.

Each case runs through ``autogan.cli.main`` as the console script does and must keep the
error contract (``cli_contract``), except the few damaged run directories that ``inspect``
is meant to show anyway, with a warning that names the damage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bad_inputs_table as table
from cli_contract import assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]


class _Names(dict):
    """Stands in for the fixture paths when only the cases' names are wanted (at collection)."""

    def __missing__(self, key: str) -> Path:
        return Path(key)


CASE_NAMES = [name for name, _ in table.cases(_Names(), Path("scratch"))]

# `inspect` shows a damaged record (every good row, the damage named in a warning): exit 0.
SHOWN_WITH_A_WARNING = {
    "inspect: '{garbage' as line 4": "evaluations.jsonl line 4",
    "inspect: a row without 'stage'": "evaluations.jsonl line 5",
    "inspect: 'reward' a string": "evaluations.jsonl line 6",
    "inspect: iterations row missing a key": "iterations.jsonl line 2",
    "inspect: state.json a JSON list": "state.json",
    "inspect: state.json missing": "state.json: missing",
}
# A line cut short by a crash is repaired without a word.
SHOWN_SILENTLY = {"inspect: torn last line"}
# Refused by the argument parser, before any subcommand runs: the line names the command the
# parser stopped in ("autogan arch show: ..."; "autogan: ..." at the top level) and its --help.
USAGE_ERRORS = {"arch show --ch abc": "arch show", "unknown command": None}
# These start an embedded Ray instance: run in a process of their own, so that the test
# process's Ray (a session fixture of other tests) is neither joined nor shut down.
STARTS_RAY = {"run.evaluators=3 on 2 cores (embedded Ray)", "run.evaluator_gpus=1 without a GPU", "run.trainer_cpus=64"}
# `--address auto` joins whatever cluster runs on this machine (another search's, say), so
# its outcome depends on the machine, not on autogan: the table shows it, no test asserts it.
MACHINE_DEPENDENT = {"--address auto without a cluster"}
# Two of the embedded-Ray refusals take the same path as a test that asserts more of it, at about
# 11 s of Ray start each: the table still runs them (bad_inputs_table.py); pytest runs the third.
COVERED_BY_A_STRONGER_TEST = {
    "run.evaluators=3 on 2 cores (embedded Ray)":
        "tests/workers/test_ray_limits.py::test_over_asked_cpus_end_at_once_with_one_line (the same command; "
        "its line's content, no wait, no run directory left)",
    "run.trainer_cpus=64":
        "that test (the same refusal path) and test_shortfalls_name_the_keys[trainer-wider-than-a-node] (its line)",
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("bad-inputs")
    return folder, table.build_fixtures(folder)


def _argv(name: str, scratch) -> list[str]:
    folder, paths = scratch
    return [str(a) for a in dict(table.cases(paths, folder))[name]]


def _run_in_process(argv: list[str], capsys) -> tuple[int, str, str]:
    from autogan.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # what the console script would exit with
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _run_in_a_process_of_its_own(argv: list[str]) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "autogan.cli", *argv], capture_output=True, text=True, env=env, timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_the_case_lists_name_real_cases():
    named = (SHOWN_WITH_A_WARNING.keys() | SHOWN_SILENTLY | USAGE_ERRORS.keys() | STARTS_RAY | MACHINE_DEPENDENT
             | COVERED_BY_A_STRONGER_TEST.keys())
    assert named <= set(CASE_NAMES), named - set(CASE_NAMES)
    assert len(CASE_NAMES) == len(set(CASE_NAMES)) >= 120


@pytest.mark.parametrize("name", [n for n in CASE_NAMES if n not in MACHINE_DEPENDENT | COVERED_BY_A_STRONGER_TEST.keys()])
def test_bad_input_keeps_the_error_contract(name, scratch, capsys, monkeypatch):
    argv = _argv(name, scratch)
    # A search that gets further than it should writes its runs/ here, not in the checkout.
    monkeypatch.chdir(scratch[0])
    if name in STARTS_RAY:
        code, out, err = _run_in_a_process_of_its_own(argv)
    else:
        code, out, err = _run_in_process(argv, capsys)
    if name in SHOWN_WITH_A_WARNING:
        assert code == 0 and "Traceback" not in err, err[-3000:]
        warnings = [line for line in err.splitlines() if " WARNING " in line[:20]]
        assert any(SHOWN_WITH_A_WARNING[name] in line for line in warnings), err[-3000:]
    elif name in SHOWN_SILENTLY:
        assert code == 0 and err.strip() == "", err[-3000:]
    else:
        command = USAGE_ERRORS[name] if name in USAGE_ERRORS else argv[0]
        line = assert_one_line_error(code, err, command)
        if name in USAGE_ERRORS:
            assert line.endswith(f"(see '{' '.join(['autogan', *filter(None, [command])])} --help')"), line
