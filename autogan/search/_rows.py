"""The rows of a search's record: their schema, and the append-only JSONL files they live in.

Appends are flushed and fsynced line by line.  A line cut short by a ``kill -9`` is not a row
and not damage: the reader leaves it and a resume truncates it.  Any other line that autogan
did not write (not JSON, or a row of the wrong shape) is damage, with its file and line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from search_spaces import Architecture, InvalidArchitecture

from autogan.errors import DamagedRecordError, UserError, shown

# What an evaluation row scored: a policy sample, a beam candidate, or a final re-scoring.
EVALUATION_KINDS = ("policy", "beam", "rescore")


@dataclass(frozen=True)
class Damage:
    """A line of a run file that autogan did not write."""

    path: Path
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path} line {self.line}: {self.problem}"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _position_problem(row: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key not in row:
            return f"the row has no '{key}'"
        if not is_int(row[key]) or row[key] < (1 if key == "stage" else 0):
            return f"'{key}' is {shown(row[key], 40)}, not a {'positive' if key == 'stage' else 'non-negative'} integer"
    return None


def _arch_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"'arch' is {shown(value, 40)}, not an architecture string"
    try:
        Architecture.parse(value)
    except InvalidArchitecture as exc:
        return f"'arch' is not an architecture ({shown(str(exc), 80)})"
    return None


def evaluation_row_problem(row: Any) -> str | None:
    """Why ``row`` is not an evaluation row as the search writes it, or None."""
    if not isinstance(row, dict):
        return f"a JSON {type(row).__name__} where an object belongs"
    problem = _position_problem(row, ("stage", "iteration", "index"))
    if problem:
        return problem
    if row.get("kind") not in EVALUATION_KINDS:
        return f"'kind' is {shown(row.get('kind'), 40)}, not one of {list(EVALUATION_KINDS)}"
    if "reward" not in row:
        return "the row has no 'reward'"
    if row["reward"] is not None and not _is_number(row["reward"]):
        return f"'reward' is {shown(row['reward'], 40)}, not a number or null"
    # Written where a soft size term shapes the reward: what the evaluator measured, and the multiplier.
    for key in ("raw_reward", "size_factor"):
        if row.get(key) is not None and not _is_number(row[key]):
            return f"'{key}' is {shown(row[key], 40)}, not a number or null"
    return _arch_problem(row.get("arch"))


_ITERATION_NUMBERS = ("d_steps", "loss_d", "loss_g", "reward_mean", "reward_max", "entropy", "baseline", "policy_loss")


def iteration_row_problem(row: Any) -> str | None:
    """Why ``row`` is not an iteration row as the search writes it, or None."""
    if not isinstance(row, dict):
        return f"a JSON {type(row).__name__} where an object belongs"
    problem = _position_problem(row, ("stage", "iteration", "global_iteration"))
    if problem:
        return problem
    phase = row.get("phase")
    if phase == "policy":
        for key in _ITERATION_NUMBERS:
            if row.get(key) is not None and not _is_number(row[key]):
                return f"'{key}' is {shown(row[key], 40)}, not a number or null"
        return None
    if phase == "beam":
        beam = row.get("beam")
        if not isinstance(beam, list):
            return f"'beam' is {shown(beam, 40)}, not a list"
        for entry in beam:
            if not isinstance(entry, dict):
                return f"a 'beam' entry is {shown(entry, 40)}, not an object"
            if entry.get("score") is not None and not _is_number(entry["score"]):
                return f"a beam 'score' is {shown(entry['score'], 40)}, not a number or null"
            problem = _arch_problem(entry.get("arch"))
            if problem:
                return "a beam entry's " + problem
        return None
    return f"'phase' is {shown(phase, 40)}, not 'policy' or 'beam'"


def read_run_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(
            f"run file {path}: cannot be read ({exc.strerror}); it must be the file that `autogan search` wrote"
        ) from None


def read_jsonl(path: Path, row_problem: Callable[[Any], str | None]) -> tuple[list[dict[str, Any]], list[Damage]]:
    """The good rows of ``path`` and where the damaged ones are; a torn last line is neither."""
    data = read_run_file(path)
    if data is None:
        return [], []
    rows: list[dict[str, Any]] = []
    damage: list[Damage] = []
    # The piece after the last newline, if any, is an append that a crash cut short.
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            problem: str | None = "not a JSON row" if raw.strip() else "an empty line"
        else:
            problem = row_problem(row)
        if problem is None:
            rows.append(row)
        else:
            damage.append(Damage(path, number, problem))
    return rows, damage


def damage_error(damage: list[Damage], run_dir: Path) -> DamagedRecordError:
    """The one-line refusal to go on from a damaged record, saying how to proceed."""
    first = damage[0]
    more = f" (and {len(damage) - 1} more damaged line(s))" if len(damage) > 1 else ""
    return DamagedRecordError(
        f"{first}{more}; the search will not rewrite a damaged record, so no row is lost. "
        f"`autogan inspect {run_dir}` shows every good row; to continue, repair or delete that line "
        f"(sed -i '{first.line}d' {first.path}), then `autogan search --resume {run_dir}`"
    )


def append_jsonl(path: Path, row: dict[str, Any]) -> None:
    line = (json.dumps(row, sort_keys=True) + "\n").encode()
    with open(path, "ab") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def truncate_partial_line(path: Path) -> None:
    if not path.exists():
        return
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with open(path, "r+b") as handle:
            handle.truncate(end)
