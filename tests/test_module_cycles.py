"""Inside a package no modules import each other in a cycle: e.g. the beam depends on proposals, never the reverse.

Every import counts, wherever it is written: under ``TYPE_CHECKING`` and inside functions too,
since a cycle hidden there is still a cycle in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from import_graph import find_cycle

ROOT = Path(__file__).resolve().parents[1]
# Every package with modules of its own.
PACKAGES = sorted(str(p.parent.relative_to(ROOT)) for top in ("autogan", "controllers", "search_spaces", "workers")
                  for p in (ROOT / top).rglob("__init__.py") if p.parent != ROOT / "autogan")


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        # A relative import counts from the module's own package.
        base = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def internal_imports(package_dir: Path, root: Path = ROOT) -> dict[str, set[str]]:
    """Each module of the package -> the modules of the same package it imports."""
    modules = {_module_name(path, root): path for path in package_dir.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets: set[str] = set()
        for node in ast.walk(tree):
            for name in _imported_names(node, module, path.name == "__init__.py"):
                # "pkg.mod.Name" is a name from pkg.mod: the longest known module wins.
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_the_package(package):
    graph = internal_imports(ROOT / package)
    assert len(graph) > 1, f"{package}: no modules found"
    cycle = find_cycle(graph)
    assert cycle is None, f"{package}: import cycle {' -> '.join(cycle or [])}"


def test_the_controller_interface_does_not_import_the_beam():
    graph = internal_imports(ROOT / "controllers")
    assert "controllers._beam" not in graph["controllers._base"]
    assert "controllers._base" in graph["controllers._beam"]


@pytest.mark.parametrize(
    "base_source",
    [
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg._beam import Beam\n",
        "def resolve():\n    from . import _beam\n",
        "import pkg._beam\n",
        "from pkg import Beam\n",  # through the package's __init__
    ],
)
def test_the_cycle_checker_sees_a_planted_cycle(tmp_path, base_source):
    # Guards the guard: each way of writing the import must be seen.
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg._base import Base\nfrom pkg._beam import Beam\n")
    (package / "_base.py").write_text(base_source)
    (package / "_beam.py").write_text("from ._base import Base\n")
    cycle = find_cycle(internal_imports(package, tmp_path))
    assert cycle is not None and "pkg._base" in cycle


def test_the_cycle_checker_passes_a_dag(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg._base import Base\nfrom pkg._beam import Beam\n")
    (package / "_base.py").write_text("import math\n")
    (package / "_beam.py").write_text("from ._base import Base\n")
    assert find_cycle(internal_imports(package, tmp_path)) is None
