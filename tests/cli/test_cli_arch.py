"""`autogan space` and `autogan arch`: output, and the one-line exit-2 contract on bad input."""

import json
import subprocess
import sys

import pytest

from cli_contract import assert_one_line_error

from autogan.cli import main

TOP1 = "1 0 1 1 1 0 0 1 1 1 0 1 0 3"


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_space_json(capsys):
    code, out, _ = run_cli(capsys, "space", "--json")
    data = json.loads(out)
    assert code == 0 and data["size"] == 373_248
    assert [d["name"] for d in data["stages"][2]["decisions"]] == ["conv", "norm", "up", "shortcut", "skip"]


def test_arch_show_from_vector_string_and_file(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "arch", "show", "--autogan-vector", TOP1)
    assert code == 0
    assert "cell 3: conv pre-activation, norm none, up nearest, shortcut off, skip-ins from cell 1, cell 2" in out
    assert f"AutoGAN vector: {TOP1}" in out
    canonical = out.splitlines()[0].removeprefix("architecture: ")
    code, out2, _ = run_cli(capsys, "arch", "show", canonical)
    assert code == 0 and out2 == out
    path = tmp_path / "top1.json"
    from search_spaces import AUTOGAN_TOP1

    path.write_text(AUTOGAN_TOP1.to_json())
    code, out3, _ = run_cli(capsys, "arch", "show", str(path))
    assert code == 0 and out3 == out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["arch", "validate", "pre,none,nearest,sc | pre,none,nearest,sc,skip=2"], "skip from cell 2"),
        (["arch", "validate", "--autogan-vector", "1 0 1"], "length 3"),
        (["arch", "validate", "missing/file.json"], "not found"),
        (["arch", "validate", "--autogan-vector", "1 0 x"], "not a list of integers"),
        (["arch", "validate"], "no architecture given"),
    ],
)
def test_invalid_arch_exits_2_with_one_line(capsys, argv, expected):
    code, out, err = run_cli(capsys, *argv)
    assert expected in assert_one_line_error(code, err, "arch", out=out)


def test_console_script_exit_code_and_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "autogan.cli", "arch", "validate", "--autogan-vector", "9 9 9 9"],
        capture_output=True,
        text=True,
    )
    assert_one_line_error(proc.returncode, proc.stderr, "arch", out=proc.stdout)


def test_arch_diff(capsys):
    code, out, _ = run_cli(capsys, "arch", "diff", TOP1, "1 0 1 1 1 0 0 1 1 1 0 1 0 2", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["differences"] == [{"cell": 3, "decision": "skips", "a": [1, 2], "b": [1]}]
