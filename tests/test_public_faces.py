"""Each package's face (its ``__init__``) exports what callers outside it use, and its modules are private.

A name in a package's ``__all__`` must be imported by code outside that package (the product or
``bench/``; tests do not count, they may reach into private modules), or be declared below as an
extension point or a result type a caller receives, with the reason.  Test doubles and stand-ins
live in ``testing`` modules.  Inside a subpackage every module but ``__init__`` and ``testing``
is ``_private``; ``autogan/commands/`` is the exception, one entry-point module per subcommand
that ``autogan.cli`` loads by name.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FACES = ["autogan.config", "autogan.data", "autogan.metrics", "autogan.nn", "autogan.report", "autogan.retrain",
         "autogan.search", "autogan.train", "controllers", "search_spaces", "workers"]

_EXTENSION = "an extension point: registers, or is what a registered entry implements"
_RESULT = "a result type: what a public function hands its caller"
DECLARED = {
    "autogan.metrics": {"EXTRACTORS": _EXTENSION, "FeatureExtractor": _EXTENSION, "register_extractor": _EXTENSION},
    "autogan.nn": {"ConvOp": _EXTENSION, "register_conv_op": _EXTENSION, "register_norm_op": _EXTENSION,
                   "register_up_op": _EXTENSION},
    "autogan.train": {"Loss": _EXTENSION, "register_loss": _EXTENSION},
    "controllers": {"CONTROLLERS": _EXTENSION, "Controller": _EXTENSION, "Proposal": _EXTENSION,
                    "UpdateStats": _EXTENSION, "register_controller": _EXTENSION},
    "autogan.retrain": {"RetrainScore": _RESULT,
                        "Retrainer": "for tools that retrain without files: it computes and hands results to listeners",
                        "RetrainListener": "what such a tool passes to a Retrainer"},
    "autogan.search": {"FinishedIteration": "what a listener passed to Search(listeners=...) receives"},
}


def _source_files():
    for top in ("autogan", "controllers", "search_spaces", "workers", "bench"):
        yield from (ROOT / top).rglob("*.py")


def _package_dir(face: str) -> Path:
    return ROOT.joinpath(*face.split("."))


def used_outside(face: str) -> set[str]:
    """Names of ``face`` that non-test code outside the package imports or reads as attributes."""
    inside = _package_dir(face)
    used: set[str] = set()
    attribute = re.compile(rf"\b{re.escape(face)}\.(\w+)")
    for path in _source_files():
        if inside in path.parents:
            continue
        text = path.read_text()
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == face:
                used.update(alias.name for alias in node.names)
        used.update(attribute.findall(text))
    return used


@pytest.mark.parametrize("face", FACES)
def test_every_exported_name_has_a_caller_outside_or_a_declared_reason(face):
    exported = set(importlib.import_module(face).__all__)
    declared = DECLARED.get(face, {})
    unused = sorted(exported - used_outside(face) - set(declared))
    assert not unused, f"{face} exports {unused}, which nothing outside it uses: drop them from __all__ (tests import " \
                       f"the private module), move a test helper to a testing module, or declare why they are public"
    stale = sorted(set(declared) - exported)
    assert not stale, f"{face}: declared public but not exported: {stale}"


@pytest.mark.parametrize("face", FACES)
def test_exports_are_what_the_face_imports(face):
    module = importlib.import_module(face)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{face}.__all__ names what it does not define: {missing}"


def test_the_checker_sees_an_export_without_a_caller(monkeypatch):
    # Guards the guard: a name that only tests use must be reported.
    search_spaces = importlib.import_module("search_spaces")
    monkeypatch.setattr(search_spaces, "__all__", [*search_spaces.__all__, "registered_ops"], raising=True)
    monkeypatch.setattr(search_spaces, "registered_ops", lambda decision: (), raising=False)
    with pytest.raises(AssertionError, match="registered_ops"):
        test_every_exported_name_has_a_caller_outside_or_a_declared_reason("search_spaces")


def _subpackages() -> list[Path]:
    dirs = [p.parent for p in (ROOT / "autogan").glob("*/__init__.py")]
    return sorted(dirs + [ROOT / "controllers", ROOT / "search_spaces", ROOT / "workers"])


def test_modules_behind_a_face_are_private():
    public = []
    for package in _subpackages():
        if package.name == "commands":
            continue
        for path in package.glob("*.py"):
            if path.stem not in ("__init__", "testing") and not path.stem.startswith("_"):
                public.append(str(path.relative_to(ROOT)))
    assert not public, f"modules behind a package face must be _private (or the package's testing module): {public}"
