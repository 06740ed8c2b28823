"""``autogan compare RUN [RUN ...]``: runs side by side, as a table, JSON, CSV or an HTML page with the NAS plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autogan.log import logger

HELP = "compare runs: controller, seed, best reward, entropy drop, top-1 and its retrained FID"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help=HELP,
        description="Compare search runs side by side (they may still be running): evaluations, best reward, "
        "entropy drop per stage, final top-1 and its retrained FID where `autogan retrain` has scored it.",
    )
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories of `autogan search`")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON (with the best-so-far curves)")
    parser.add_argument("--csv", metavar="FILE", help="write the table as CSV ('-' for standard output)")
    parser.add_argument("--html", metavar="FILE.html", help="write a self-contained page with the best-so-far plot")
    parser.set_defaults(func=run)


def run(args) -> int:
    from autogan.compare import compare_runs, format_table, render_html, to_csv
    from autogan.files import atomic_write_bytes

    rows = compare_runs([Path(p) for p in args.run_dirs])
    if args.csv:
        text = to_csv(rows)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            atomic_write_bytes(Path(args.csv), text.encode())
            logger.info("CSV written to %s", args.csv)
    if args.html:
        atomic_write_bytes(Path(args.html), render_html(rows).encode())
        logger.info("comparison page written to %s", args.html)
    if args.json:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
    elif args.csv != "-":
        print(format_table(rows))
    return 0
