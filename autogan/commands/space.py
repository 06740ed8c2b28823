"""``autogan space``: the decisions, choices and size of a search space."""

from __future__ import annotations

import json

from search_spaces import SearchSpace

from autogan.commands import add_command

HELP = "print the search space's decisions, choices and size"


def register(subparsers) -> None:
    parser = add_command(subparsers, "space", run, help=HELP)
    parser.add_argument("--cells", type=int, default=3, help="number of cells (2 to 6; default 3, AutoGAN's)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    space = SearchSpace(num_cells=args.cells)
    if args.json:
        stages = []
        for stage in range(1, space.num_cells + 1):
            stages.append(
                {
                    "stage": stage,
                    "options": space.stage_size(stage),
                    "decisions": [{"name": d.name, "choices": list(d.choices)} for d in space.decisions(stage)],
                }
            )
        print(json.dumps({"space": space.to_dict(), "size": space.size(), "stages": stages}, indent=2))
    else:
        print(space.describe())
    return 0
