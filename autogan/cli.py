"""The ``autogan`` command.

Each subcommand lives in ``autogan/commands/<name>.py`` and exposes
``register(subparsers)``; the handler it sets as ``func`` returns an exit code.
Bad input (``UserError``, ``InvalidArchitecture``) and an OS error on a file
(a full disk, a read-only directory) become one line on stderr and exit status
2, never a traceback.  Warnings that libraries raise while a command runs are
held back and shown after its result, so that they never bury that line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from search_spaces import InvalidArchitecture

from autogan.errors import UserError, describe_os_error
from autogan.log import configure_cli_logging, logger

COMMAND_MODULES = (
    "autogan.commands.space",
    "autogan.commands.arch",
    "autogan.commands.metrics",
    "autogan.commands.search",
    "autogan.commands.inspect",
    "autogan.commands.compare",
    "autogan.commands.retrain",
    "autogan.commands.sample",
    "autogan.commands.export",
)

EXIT_USAGE = 2
# A message longer than this is cut in the middle: its start names the input, its end the fix.
MESSAGE_LIMIT = 600


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus a message; we keep the one-line contract."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # ``prog`` is the command's path ("autogan arch show"): the line names the command, and
        # the help it points to is that command's, where the refused option is described.
        print(f"{self.prog}: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, that command's parser in full and the others as their help line.

    Building a command's parser may import what it runs on (``metrics`` needs torch for its
    choices), so ``main`` builds only the one the arguments name.
    """
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
        command = name.rsplit(".", 1)[1]
        if only is None or command == only:
            module.register(subparsers)
        else:
            subparsers.add_parser(command, help=module.HELP)
    return parser


def _named_command(argv: list[str]) -> str:
    """The subcommand ``argv`` names ("" for none): the first word that is not an option (the top level has only flags)."""
    return next((word for word in argv if not word.startswith("-")), "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(only=_named_command(argv))
    args = parser.parse_args(argv)
    configure_cli_logging(args.verbose)
    with warnings.catch_warnings(record=True) as held:
        try:
            code = int(args.func(args) or 0)
        except (UserError, InvalidArchitecture) as exc:
            # A worker's error comes back wrapped in the backend's report; its own message is the one to act on.
            cause = getattr(exc, "cause", None)
            return _fail(args.command, str(cause if isinstance(cause, (UserError, InvalidArchitecture)) else exc), held)
        except OSError as exc:
            return _fail(args.command, describe_os_error(exc), held)
        except KeyboardInterrupt:
            print(f"autogan {args.command}: interrupted", file=sys.stderr)
            return 130
    _show_warnings(held)
    return code


def _fail(command: str, message: str, held: list[warnings.WarningMessage]) -> int:
    print(f"autogan {command}: {one_line(message)}", file=sys.stderr)
    for warning in held:  # the cause is in the line above; these only help a bug report
        logger.debug("warning: %s", one_line(str(warning.message)))
    return EXIT_USAGE


def _show_warnings(held: list[warnings.WarningMessage]) -> None:
    for warning in held:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def one_line(message: str) -> str:
    """``message`` as a single readable line, whatever a library put into it."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in message).split())
    if len(text) > MESSAGE_LIMIT:
        head, tail = MESSAGE_LIMIT * 2 // 3, MESSAGE_LIMIT // 3
        text = f"{text[:head]} … ({len(text) - head - tail:,} characters cut) … {text[-tail:]}"
    return text


if __name__ == "__main__":
    sys.exit(main())
