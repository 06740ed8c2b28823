"""The controller registry and the package's import rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import controllers
from controllers import CONTROLLERS, get_controller, register_controller
from controllers._optuna import OptunaController
from controllers._random import RandomController
from controllers._rnn import RNNController

PACKAGE = Path(controllers.__file__).parent
OURS = {"search_spaces", "controllers", "autogan", "workers", "bench", "tests"}


def test_registry_offers_the_three_controllers(space):
    assert sorted(CONTROLLERS) == ["random", "rnn", "tpe"]
    assert isinstance(get_controller("rnn", space, 0, hidden=16), RNNController)
    assert isinstance(get_controller("random", space, 0), RandomController)
    assert isinstance(get_controller("tpe", space, 0), OptunaController)


def test_unknown_and_duplicate_names_are_rejected(space):
    with pytest.raises(ValueError, match=r"choose one of \['random', 'rnn', 'tpe'\]"):
        get_controller("ppo", space, 0)
    with pytest.raises(ValueError, match="already registered"):
        register_controller("rnn", RNNController)
    with pytest.raises(TypeError):
        CONTROLLERS["mine"] = RNNController


def test_controllers_import_only_search_spaces_among_our_packages():
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom):
                pytest.fail(f"{path.name}: relative import; use absolute imports")
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in OURS - {"search_spaces", "controllers"}, f"{path.name} imports {name}"
