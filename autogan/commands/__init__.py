"""One module per ``autogan`` subcommand; see ``autogan.cli``.

Each module has ``HELP``, its line in ``autogan --help``, which the CLI reads without calling
``register``: building a command's parser may import what the command runs on.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable


def add_command(subparsers: Any, name: str, run: Callable[[argparse.Namespace], int], **texts: str) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``, wired to ``run``: ``autogan.cli`` calls it with the parsed args."""
    parser = subparsers.add_parser(name, **texts)
    parser.set_defaults(func=run)
    return parser
