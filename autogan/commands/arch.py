"""``autogan arch show|validate|diff``: read an architecture in any of its forms."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from search_spaces import Architecture, InvalidArchitecture, SearchSpace

from autogan.errors import UserError, shown

# An architecture file is a few hundred bytes; anything far larger is the wrong file.
MAX_ARCH_FILE_BYTES = 1 << 20
# Wider than any trained GAN by far, and small enough that the size arithmetic cannot overflow.
MAX_CH = 1 << 20

ARCH_HELP = (
    "an architecture: a file (JSON or canonical string), a canonical string such as "
    "'pre,none,nearest,sc | pre,none,bilinear,sc,skip=1 | pre,none,nearest,nosc,skip=1+2', "
    "or use --autogan-vector"
)

HELP = "show, validate or compare architectures"


def add_arch_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("arch", nargs="?", metavar="ARCH", help=ARCH_HELP)
    parser.add_argument(
        "--autogan-vector", metavar="INTS", help="the published integer form, e.g. '1 0 1 1 1 0 0 1 1 1 0 1 0 3'"
    )
    parser.set_defaults(arch_required=required)


def parse_arch_text(text: str, *, source: str) -> Architecture:
    """An architecture from JSON, a canonical string or a whitespace-separated AutoGAN vector."""
    stripped = text.strip()
    if not stripped:
        raise InvalidArchitecture(f"{source}: it is empty; expected an architecture")
    if stripped.startswith(("{", "[")):
        return Architecture.from_json(stripped)
    if all(part.lstrip("-").isdigit() for part in stripped.replace(",", " ").split()):
        return Architecture.from_autogan_vector(parse_int_vector(stripped, source=source))
    return Architecture.parse(stripped)


def parse_int_vector(text: str, *, source: str) -> list[int]:
    parts = text.replace(",", " ").split()
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise InvalidArchitecture(
            f"{source}: {shown(text)} is not a list of integers such as '1 0 1 1 1 0 0 1 1 1 0 1 0 3'"
        ) from None


def load_arch_argument(args: argparse.Namespace, space: SearchSpace | None = None) -> Architecture:
    """Resolve ARCH / --autogan-vector and check it against ``space``."""
    space = space or SearchSpace()
    if args.autogan_vector is not None and args.arch is not None:
        raise UserError("give either ARCH or --autogan-vector, not both")
    if args.autogan_vector is not None:
        arch = Architecture.from_autogan_vector(parse_int_vector(args.autogan_vector, source="--autogan-vector"))
    elif args.arch is not None:
        path = Path(args.arch)
        kind = _kind(path) if args.arch.strip() else None  # Path("") is ".", the current directory
        if kind == "file":
            arch = parse_arch_text(_read_arch_file(path), source=f"ARCH file {path}")
        elif kind == "directory":
            raise UserError(f"ARCH file {path}: is a directory; pass an architecture file or a canonical string")
        elif path.suffix in {".json", ".txt"} or "/" in args.arch and "," not in args.arch:
            raise UserError(
                f"ARCH file {shown(str(path))}: not found; pass an existing file or a canonical architecture string"
            )
        else:
            arch = parse_arch_text(args.arch, source="ARCH")
    else:
        raise UserError(f"no architecture given; pass ARCH or --autogan-vector ({ARCH_HELP})")
    return space.validate(arch)


def _kind(path: Path) -> str | None:
    """"file", "directory" or None (nothing there, or no valid path at all)."""
    try:
        return "file" if path.is_file() else "directory" if path.is_dir() else None
    except OSError:  # a long canonical string is no valid file name: ENAMETOOLONG
        return None


def _read_arch_file(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_ARCH_FILE_BYTES:
            raise UserError(
                f"ARCH file {path}: {size:,} bytes, far more than an architecture (a few hundred bytes); "
                "pass the architecture's JSON or canonical string file"
            )
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"ARCH file {path}: cannot be read ({exc}); pass a readable text file") from None


def describe_arch(arch: Architecture) -> str:
    lines = [f"architecture: {arch}"]
    for number, cell in enumerate(arch.cells, start=1):
        skips = ", ".join(f"cell {s}" for s in cell.skips) if cell.skips else "none"
        parts = [
            f"conv {cell.conv}-activation" if cell.conv in ("pre", "post") else f"conv {cell.conv}",
            f"norm {cell.norm}",
            f"up {cell.up}",
            f"shortcut {'on' if cell.shortcut else 'off'}",
        ]
        if number > 1:
            parts.append(f"skip-ins from {skips}")
        lines.append(f"  cell {number}: " + ", ".join(parts))
    try:
        vector = " ".join(map(str, arch.to_autogan_vector()))
    except InvalidArchitecture:
        vector = "(custom ops: no AutoGAN vector)"
    lines.append(f"AutoGAN vector: {vector}")
    return "\n".join(lines)


def register(subparsers) -> None:
    parser = subparsers.add_parser("arch", help=HELP)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    show = actions.add_parser("show", help="readable per-cell description and the AutoGAN vector")
    add_arch_arguments(show)
    show.add_argument("--cells", type=int, default=3, help="cells in the space (default 3)")
    show.add_argument("--ch", type=int, help="also print the derived generator's parameters and MACs at this width")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)

    validate = actions.add_parser("validate", help="exit 0 if ARCH is a member of the space, else 2")
    add_arch_arguments(validate)
    validate.add_argument("--cells", type=int, default=3)
    validate.set_defaults(func=run_validate)

    diff = actions.add_parser("diff", help="which decisions differ between two architectures")
    diff.add_argument("a", metavar="A", help=ARCH_HELP)
    diff.add_argument("b", metavar="B", help=ARCH_HELP)
    diff.add_argument("--cells", type=int, default=3)
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(func=run_diff)


def run_show(args) -> int:
    space = SearchSpace(num_cells=args.cells)
    arch = load_arch_argument(args, space)
    cost = None
    if args.ch is not None:
        if not 1 <= args.ch <= MAX_CH:
            raise UserError(f"--ch {args.ch}: the width must be an integer from 1 to {MAX_CH:,}, such as 256")
        from autogan.nn import generator_cost

        cost = generator_cost(arch, ch=args.ch)
    if args.json:
        payload = {
            "arch": str(arch),
            "autogan_vector": list(arch.to_autogan_vector()),
            "json": arch.to_dict(),
            "index": space.index(arch),
        }
        if cost is not None:
            payload.update({"ch": args.ch, "params": cost.params, "macs": cost.macs})
        print(json.dumps(payload, indent=2))
        return 0
    print(describe_arch(arch))
    print(f"index in space: {space.index(arch)} of {space.size():,}")
    if cost is not None:
        print(f"derived generator at ch={args.ch}: {cost.params:,} parameters, {cost.macs / 1e9:.3f} GMACs per image")
    return 0


def run_validate(args) -> int:
    space = SearchSpace(num_cells=args.cells)
    arch = load_arch_argument(args, space)
    print(f"valid: {arch}")
    return 0


def run_diff(args) -> int:
    space = SearchSpace(num_cells=args.cells)
    first = load_arch_argument(argparse.Namespace(arch=args.a, autogan_vector=None), space)
    second = load_arch_argument(argparse.Namespace(arch=args.b, autogan_vector=None), space)
    differences = diff_architectures(space, first, second)
    if args.json:
        print(json.dumps({"a": str(first), "b": str(second), "differences": differences}, indent=2))
        return 0
    print(f"A: {first}\nB: {second}")
    if not differences:
        print("identical")
    for d in differences:
        print(f"  cell {d['cell']} {d['decision']}: {d['a']} -> {d['b']}")
    return 0


def diff_architectures(space: SearchSpace, first: Architecture, second: Architecture) -> list[dict]:
    differences = []
    for number, (cell_a, cell_b) in enumerate(zip(first.cells, second.cells), start=1):
        for name in ("conv", "norm", "up", "shortcut", "skips"):
            if number == 1 and name == "skips":
                continue
            value_a, value_b = getattr(cell_a, name), getattr(cell_b, name)
            if value_a != value_b:
                differences.append(
                    {"cell": number, "decision": name, "a": _plain(value_a), "b": _plain(value_b)}
                )
    return differences


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
