"""The CLI's error contract, asserted the same way by every test of a failing command.

Bad input ends in exit status 2 and exactly one line on stderr, ``autogan COMMAND: ...``,
with no traceback.  A command may have logged its progress (timestamped DEBUG and INFO
lines) before it failed; those are the run's log, not its error.  Anything else on stderr
(a second line, a warning, a traceback, text after the error) breaks the contract.
"""

from __future__ import annotations

import re

PROGRESS_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO) ")


def assert_one_line_error(code: int, err: str, command: str | None, *, out: str | None = None) -> str:
    """Assert the contract for one failed run; return its error line.

    ``command``: the subcommand the line names (``autogan search: ...``); None for a usage
    error caught before any subcommand runs (``autogan: ...``).  ``out``: the run's stdout,
    where the caller has it; a failed command prints no result.
    """
    assert code == 2, f"exit status {code}, not 2; stderr: {err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip() and not PROGRESS_LOG_LINE.match(line)]
    assert len(lines) == 1, f"{len(lines)} lines on stderr besides progress logs, not 1: {lines[:5]}"
    line = lines[0]
    prefix = f"autogan {command}: " if command else "autogan: "
    assert line.startswith(prefix), f"{line[:300]!r} does not start with {prefix!r}"
    assert err.rstrip().endswith(line.rstrip()), "the error line is not the last thing on stderr"
    if out is not None:
        assert out == "", f"a failed command printed a result: {out[:300]!r}"
    return line
