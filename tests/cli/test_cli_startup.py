"""`autogan --help` answers without loading torch, and lists the same commands as the full parser."""

from __future__ import annotations

import json
import subprocess
import sys

from autogan.cli import COMMAND_MODULES, build_parser, main

# What `autogan --help` and one command's run import, reported from a fresh interpreter.
_PROBE = """
import contextlib, io, json, sys
from autogan.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "torch": "torch" in sys.modules, "out": out.getvalue()}))
"""


def _probe(*argv: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _help_lines(parser) -> dict[str, str]:
    subparsers = next(action for action in parser._actions if action.dest == "command")
    return {choice.dest: choice.help for choice in subparsers._choices_actions}


def test_top_level_help_imports_no_torch():
    probe = _probe("--help")
    assert probe["code"] == 0
    assert probe["torch"] is False, "`autogan --help` imported torch: a command module builds heavy choices at import"
    for name in COMMAND_MODULES:
        assert f" {name.rsplit('.', 1)[1]} " in probe["out"]


def test_one_command_is_built_in_full_and_the_others_show_the_same_help():
    full = build_parser()
    for only in (name.rsplit(".", 1)[1] for name in COMMAND_MODULES):
        assert _help_lines(build_parser(only=only)) == _help_lines(full), only


def test_a_command_named_after_the_top_level_flags_still_parses(capsys):
    assert main(["-v", "space", "--cells", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["space"]["num_cells"] == 2


def test_the_heavy_command_still_offers_its_choices():
    probe = _probe("metrics", "--help")
    assert probe["code"] == 0
    assert "digits-classifier" in probe["out"] and "cifar10" in probe["out"]
