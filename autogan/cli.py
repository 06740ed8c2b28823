"""The ``autogan`` command.

Each subcommand lives in ``autogan/commands/<name>.py`` and exposes
``register(subparsers)``; the handler it sets as ``func`` returns an exit code.
Bad input (``UserError``, ``InvalidArchitecture``) becomes one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from search_spaces import InvalidArchitecture

from autogan.errors import UserError
from autogan.log import configure_cli_logging

COMMAND_MODULES = (
    "autogan.commands.space",
    "autogan.commands.arch",
    "autogan.commands.metrics",
    "autogan.commands.search",
    "autogan.commands.inspect",
    "autogan.commands.retrain",
    "autogan.commands.sample",
)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus a message; we keep the one-line contract."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"autogan: {message} (see 'autogan --help')", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="autogan",
        description="Neural architecture search for GAN generators: search, inspect, retrain, sample.",
        epilog="Quick start: 'autogan search' runs the digits preset here; 'autogan COMMAND --help' for more.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only a command that is not built yet may be absent; a broken import must surface.
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_cli_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except (UserError, InvalidArchitecture) as exc:
        print(f"autogan {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"autogan {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
