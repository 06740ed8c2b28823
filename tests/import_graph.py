"""The project's structure drawn from its imports: units (a subpackage or a top-level module), layers, arrows.

    python tests/import_graph.py        # the layers from the top down, each unit with what it imports

Every import counts, the ones inside functions and under ``TYPE_CHECKING`` too: a lazy import
is still a dependency, only a later one.  A unit's layer is one above the highest unit it
imports, so the layering exists exactly when the units import each other without a cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autogan", "controllers", "search_spaces", "workers")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """``autogan.search._loop`` -> ``autogan.search``; ``autogan.files`` -> itself; ``controllers._rnn`` -> ``controllers``."""
    parts = module.split(".")
    if parts[0] != "autogan":
        return parts[0]
    if len(parts) >= 2 and (ROOT / "autogan" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return ".".join(parts[:2]) if len(parts) >= 2 else "autogan"


def module_imports(root: Path = ROOT) -> dict[str, set[str]]:
    """Each of our modules and the modules of ours it imports (``from P import name`` counts P.name if a module)."""
    known = {module_name(p) for top in PACKAGES for p in (root / top).rglob("*.py")} if root == ROOT else None
    graph: dict[str, set[str]] = {}
    for top in PACKAGES:
        for path in sorted((root / top).rglob("*.py")):
            name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            targets: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    targets.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    targets.add(node.module)
                    if known is not None:
                        targets.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known)
            graph[name] = {t for t in targets if t.split(".")[0] in PACKAGES and t != name}
    return graph


def unit_graph(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    units: dict[str, set[str]] = {}
    for module, targets in modules.items():
        unit = unit_of(module)
        units.setdefault(unit, set()).update(unit_of(t) for t in targets if unit_of(t) != unit)
    return units


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def layers(graph: dict[str, set[str]]) -> dict[str, int]:
    """Layer 1 imports none of the others; every other unit sits one above the highest it imports."""
    memo: dict[str, int] = {}

    def layer(node: str) -> int:
        if node not in memo:
            memo[node] = 1 + max((layer(t) for t in graph.get(node, ()) if t in graph), default=0)
        return memo[node]

    return {node: layer(node) for node in graph}


def module_cycles(modules: dict[str, set[str]]) -> dict[str, list[str]]:
    """Per unit, one cycle among its own modules, where there is one."""
    found = {}
    for unit in sorted({unit_of(m) for m in modules}):
        inside = {m: {t for t in ts if unit_of(t) == unit} for m, ts in modules.items() if unit_of(m) == unit}
        cycle = find_cycle(inside)
        if cycle:
            found[unit] = cycle
    return found


def main() -> int:
    modules = module_imports()
    units = unit_graph(modules)
    cycles = [" -> ".join(c) for c in module_cycles(modules).values()]
    cycle = find_cycle(units)
    if cycle:
        cycles.insert(0, " -> ".join(cycle))
    if cycles:
        print("\n".join(f"cycle: {c}" for c in cycles))
        return 1
    levels = layers(units)
    arrows = sum(len(t) for t in units.values())
    print(f"{len(units)} units on {max(levels.values())} layers, {arrows} arrows, no cycle")
    for level in sorted(set(levels.values()), reverse=True):
        for unit in sorted(u for u in units if levels[u] == level):
            print(f"layer {level:2d}  {unit:24s} -> {', '.join(sorted(units[unit])) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
