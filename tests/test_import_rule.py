"""DESIGN.md's import DAG: search_spaces <- controllers, workers standalone, autogan on top."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"autogan", "search_spaces", "controllers", "workers"}
ALLOWED = {
    "search_spaces": set(),
    "controllers": {"search_spaces"},
    "workers": set(),
    "autogan": {"search_spaces", "controllers", "workers"},
}


def imported_packages(package: str) -> dict[str, set[str]]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in OURS and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_follow_the_dag(package):
    illegal = {k: v for k, v in imported_packages(package).items() if k not in ALLOWED[package]}
    assert not illegal, f"{package} must not import {sorted(illegal)}: {illegal}"


def test_search_spaces_never_loads_torch():
    code = "import sys, search_spaces; search_spaces.SearchSpace().sample(0); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_the_rule_checker_sees_a_violation(tmp_path, monkeypatch):
    # Guards the guard: a planted import must be reported.
    fake = tmp_path / "search_spaces"
    fake.mkdir()
    (fake / "bad.py").write_text("import autogan.nn\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert "autogan" in imported_packages("search_spaces")


def test_library_code_does_not_print():
    offenders = []
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            if "commands" in path.parts or path.name == "cli.py":
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"library code prints (use autogan.log.logger): {offenders}"


def test_units_import_each_other_without_a_cycle():
    # A cycle between units is an upward import: no layering of the house exists with it.
    from import_graph import find_cycle, module_imports, unit_graph

    cycle = find_cycle(unit_graph(module_imports()))
    assert cycle is None, "units import each other in a cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_sees_a_planted_upward_import():
    # Guards the guard: the search importing the report (which imports the search) is a cycle.
    from import_graph import find_cycle, module_imports, unit_graph

    modules = module_imports()
    modules["autogan.search._size"] = modules["autogan.search._size"] | {"autogan.report._size"}
    assert find_cycle(unit_graph(modules)) is not None


SEARCH_ONLY = {"autogan.search"}


def imported_modules(directory: Path) -> dict[str, set[str]]:
    found = {}
    for path in directory.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_retraining_does_not_import_the_search():
    illegal = {k: v for k, v in imported_modules(ROOT / "autogan" / "retrain").items() if k in SEARCH_ONLY}
    assert not illegal, f"autogan.retrain must not import the search loop, its workers or its record: {illegal}"


def test_retraining_does_not_load_the_search():
    code = (
        "import sys, autogan.retrain, autogan.train, autogan.nn, autogan.metrics, autogan.data; "
        f"print(sorted(m for m in sys.modules if m in {sorted(SEARCH_ONLY)}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
