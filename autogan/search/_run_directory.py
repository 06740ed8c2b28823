"""A search's run directory: everything a search leaves behind, durable across crashes.

```
runs/NAME/
  config.toml          resolved config, written once
  evaluations.jsonl    append-only: one line per scored architecture
  iterations.jsonl     append-only: one line per search iteration (losses, rewards, resets)
  state.json           progress: stage, iteration, beam, final ranking; written atomically
  checkpoints/         supernet, discriminator, controller and optimizer state; atomic
  samples/             image grids per iteration
  tb/                  TensorBoard scalars
```

Appends are flushed and fsynced line by line; a line cut short by a
``kill -9`` is dropped when the run is resumed, and any entry that was written
after the last checkpoint is matched against its recomputation so that
nothing is lost and nothing is counted twice.

Only that torn last line is repaired silently.  Any other line that autogan
did not write (not JSON, or a row of the wrong shape) is damage: readers that
show the record skip it and say where it is; readers that would rewrite the
record refuse, so that no good row is ever dropped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator

from autogan.checkpoints import load_checkpoint_file
from autogan.config import Config
from autogan.errors import ConfigError, DamagedRecordError, MissingFileError, UserError, shown
from autogan.files import DirectoryLock, atomic_torch_save, atomic_write_bytes, remove_dead_temporaries
from autogan.search._rows import (
    Damage,
    append_jsonl,
    damage_error,
    evaluation_row_problem,
    is_int,
    iteration_row_problem,
    read_jsonl,
    read_run_file,
    truncate_partial_line,
)

STATE_VERSION = 1
CHECKPOINT_NAME = "latest.pt"
# state.json is derived from the checkpoint, so a resume can always write it again.
_STATE_FIX = "delete it and `autogan search --resume {run}` writes it again from the checkpoint"


class RunDirectory:
    """Reads and writes one run directory."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    # --- layout -----------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def evaluations_path(self) -> Path:
        return self.path / "evaluations.jsonl"

    @property
    def iterations_path(self) -> Path:
        return self.path / "iterations.jsonl"

    @property
    def state_path(self) -> Path:
        return self.path / "state.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoints" / CHECKPOINT_NAME

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def tb_dir(self) -> Path:
        return self.path / "tb"

    # --- creation -----------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path | str, config: Config) -> "RunDirectory":
        """A new run directory, or an existing one made by the very same config.

        A directory made by a different config is refused: mixing two searches
        in one record would make its rewards meaningless.
        """
        record = cls(path)
        text = config.to_toml()
        if record.path.exists() and not record.path.is_dir():
            raise ConfigError(f"run directory {record.path}: is a file, not a directory; choose another --out")
        if record.config_path.exists():
            if record.config_path.read_text() != text:
                raise ConfigError(
                    f"run directory {record.path}: it was made by a different config; "
                    f"pass --resume {record.path} to continue it, or choose another --out"
                )
            if record.state_path.exists():
                raise ConfigError(
                    f"run directory {record.path}: it already holds a search; "
                    f"pass --resume {record.path} to continue it, or choose another --out"
                )
        elif record.path.exists() and any(record.path.iterdir()):
            raise ConfigError(
                f"run directory {record.path}: exists and is not an autogan run (no config.toml); choose another --out"
            )
        record.path.mkdir(parents=True, exist_ok=True)
        if not record.config_path.exists():
            atomic_write_bytes(record.config_path, text.encode())
        return record

    @classmethod
    def open(cls, path: Path | str) -> "RunDirectory":
        record = cls(path)
        if record.path.exists() and not record.path.is_dir():
            raise UserError(
                f"run directory {record.path}: is a file, not a directory; pass the directory that `autogan search` printed"
            )
        if not record.path.is_dir():
            raise MissingFileError(f"run directory {record.path}: not found; pass the directory that `autogan search` printed")
        if not record.config_path.is_file():
            raise MissingFileError(
                f"run directory {record.path}: has no config.toml, so it is not an autogan run (or it was never started)"
            )
        return record

    def config(self) -> Config:
        from autogan.config import read_toml

        return Config.from_dict(read_toml(self.config_path), source=str(self.config_path))

    # --- append-only logs ---------------------------------------------------------------

    def evaluations(self) -> list[dict[str, Any]]:
        """Every evaluation row; a damaged line is a :class:`DamagedRecordError`."""
        rows, damage = self.read_evaluations()
        if damage:
            raise damage_error(damage, self.path)
        return rows

    def read_evaluations(self) -> tuple[list[dict[str, Any]], list[Damage]]:
        """The good evaluation rows, and where the damaged lines are: for showing a record, never rewriting it."""
        return read_jsonl(self.evaluations_path, evaluation_row_problem)

    def append_evaluation(self, row: dict[str, Any]) -> None:
        append_jsonl(self.evaluations_path, row)

    def iterations(self) -> list[dict[str, Any]]:
        """Every iteration row; a damaged line is a :class:`DamagedRecordError`."""
        rows, damage = self.read_iterations()
        if damage:
            raise damage_error(damage, self.path)
        return rows

    def read_iterations(self) -> tuple[list[dict[str, Any]], list[Damage]]:
        return read_jsonl(self.iterations_path, iteration_row_problem)

    def check_damage(self) -> None:
        """Refuse a damaged record before anything rewrites it."""
        self.read_state()
        damage = self.read_evaluations()[1] + self.read_iterations()[1]
        if damage:
            raise damage_error(damage, self.path)

    def append_iteration(self, row: dict[str, Any]) -> None:
        append_jsonl(self.iterations_path, row)

    def lock(self) -> DirectoryLock:
        return DirectoryLock(self.path, what="run directory").acquire()

    def repair_after_crash(self) -> None:
        """Drop a line that a crash cut short, so that appends start on a clean line, and dead temporary files."""
        truncate_partial_line(self.evaluations_path)
        truncate_partial_line(self.iterations_path)
        remove_dead_temporaries(self.path)

    def discard_unstarted(self, *, remove_directory: bool) -> None:
        """Remove what :meth:`create` wrote, for a search that failed before its first checkpoint.

        Only files autogan names are removed, and the directory (if ``create`` made it) only if empty.
        """
        if self.state_path.exists() or self.checkpoint_path.exists():
            return
        for path in (self.config_path, self.path / DirectoryLock.FILENAME):
            path.unlink(missing_ok=True)
        # The config's TensorBoard text goes out before the first checkpoint (see the search loop).
        if self.tb_dir.is_dir() and all(p.name.startswith("events.out.tfevents.") for p in self.tb_dir.iterdir()):
            shutil.rmtree(self.tb_dir)
        if not remove_directory:
            return
        try:
            self.path.rmdir()
        except OSError:
            pass  # not empty: it holds something that is not ours to remove

    def rewrite_evaluations(self, rows: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
        atomic_write_bytes(self.evaluations_path, data)

    def rewrite_iterations(self, rows: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
        atomic_write_bytes(self.iterations_path, data)

    # --- state and checkpoints ----------------------------------------------------------

    def read_state(self) -> dict[str, Any] | None:
        """``state.json``, or None before the search has written it."""
        data = read_run_file(self.state_path)
        if data is None:
            return None
        damaged = f"run state {self.state_path}: it is written atomically, so the file was edited or damaged"
        try:
            state = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise DamagedRecordError(f"{damaged} (not JSON: {shown(str(exc), 80)}); {_STATE_FIX.format(run=self.path)}") from None
        if not isinstance(state, dict):
            raise DamagedRecordError(f"{damaged} (a JSON {type(state).__name__}, not an object); {_STATE_FIX.format(run=self.path)}")
        version = state.get("version", 0)
        if not is_int(version):
            raise DamagedRecordError(f"{damaged} ('version' is {shown(version, 40)}); {_STATE_FIX.format(run=self.path)}")
        if version > STATE_VERSION:
            raise UserError(f"run state {self.state_path}: written by a newer autogan (version {state['version']}); upgrade autogan")
        return state

    def write_state(self, state: dict[str, Any]) -> None:
        state = {**state, "version": STATE_VERSION}
        atomic_write_bytes(self.state_path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode())

    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        atomic_torch_save(checkpoint, self.checkpoint_path)

    def load_checkpoint(self) -> dict[str, Any]:
        return load_checkpoint_file(self.checkpoint_path, what="search checkpoint")

    def sample_grids(self) -> Iterator[Path]:
        return iter(sorted(self.samples_dir.glob("*.png")))
