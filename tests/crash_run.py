"""Run the autogan CLI and SIGKILL it at an exact point of its work.

Crash tests that poll a run from outside and kill it race the process: on a fast
machine it can finish between the poll and the signal. Dying from inside, at a named
point, makes the crash land in the same place every time.

    python tests/crash_run.py evaluation COUNT -- CLI ARGS...
        dies right after the COUNT-th evaluation row is on disk
    python tests/crash_run.py before-replace FILENAME COUNT -- CLI ARGS...
        dies inside the COUNT-th atomic write of FILENAME: its temporary file is
        complete, the rename over FILENAME has not happened
    python tests/crash_run.py after-replace FILENAME COUNT -- CLI ARGS...
        dies right after the COUNT-th atomic write of FILENAME
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and its tests/search_spaces
# folder would shadow the real search_spaces package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm_evaluation(count: int) -> None:
    from autogan.search import RunDirectory

    original = RunDirectory.append_evaluation
    seen = 0

    def append_then_maybe_die(self, row):
        nonlocal seen
        original(self, row)
        seen += 1
        if seen == count:
            _die()

    RunDirectory.append_evaluation = append_then_maybe_die


def _arm_replace(filename: str, count: int, *, before: bool) -> None:
    import autogan.files

    original = os.replace
    seen = 0

    def replace(source, target, *args, **kwargs):
        nonlocal seen
        if Path(target).name != filename:
            return original(source, target, *args, **kwargs)
        seen += 1
        if before and seen == count:
            _die()
        original(source, target, *args, **kwargs)
        if not before and seen == count:
            _die()

    # Only autogan's atomic writes go through the trap; torch, tempfile and Ray keep the real one.
    autogan.files.os = type(sys)("os_with_crash_point")
    autogan.files.os.__dict__.update(os.__dict__)
    autogan.files.os.replace = replace


def main(argv: list[str]) -> None:
    split = argv.index("--")
    point, cli_args = argv[:split], argv[split + 1:]
    if point[0] == "evaluation":
        _arm_evaluation(int(point[1]))
    elif point[0] in ("before-replace", "after-replace"):
        _arm_replace(point[1], int(point[2]), before=point[0] == "before-replace")
    else:
        raise SystemExit(f"crash_run.py: unknown crash point {point[0]!r}")
    from autogan.cli import main as cli_main

    sys.argv = ["autogan", *cli_args]
    sys.exit(cli_main())


if __name__ == "__main__":
    main(sys.argv[1:])
