"""The run directory: everything a search leaves behind, durable across crashes.

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
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path
from typing import Any, Iterator

import torch

from autogan.config import Config
from autogan.errors import ConfigError, MissingFileError, UserError, first_line
from autogan.files import DirectoryLock, atomic_torch_save, atomic_write_bytes, remove_dead_temporaries

STATE_VERSION = 1
CHECKPOINT_NAME = "latest.pt"


def load_checkpoint_file(path: Path, *, what: str = "checkpoint") -> dict[str, Any]:
    """``torch.load(weights_only=True)`` with errors a user can act on."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{what} {path}: not found")
    if path.stat().st_size == 0:
        raise UserError(f"{what} {path}: the file is empty; it was cut off (a full disk?) or is not an autogan checkpoint")
    try:
        with warnings.catch_warnings():
            # The safe unpickler warns about pickle protocols before it refuses; the refusal is what we report.
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "allowed global" in str(exc):
            problem = "holds Python objects besides tensors, which autogan does not unpickle (that could run code)"
        else:
            problem = "is damaged, not a torch file, or holds objects that only an unsafe unpickler reads"
        raise UserError(f"{what} {path}: {problem}; pass a checkpoint that autogan wrote") from None
    except OSError:
        raise  # a disk or permission problem, not a damaged file: the CLI names it
    except Exception as exc:  # torch raises many types for a damaged file
        raise UserError(
            f"{what} {path}: cannot be read ({first_line(exc)}); it is corrupt or not an autogan checkpoint"
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"{what} {path}: holds a {type(data).__name__}, not an autogan checkpoint dict")
    return data


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    with open(path, "rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break  # cut short by a crash; the resume truncates it
            try:
                rows.append(json.loads(raw))
            except json.JSONDecodeError:
                break
    return rows


def _append_jsonl(path: Path, row: dict[str, Any]) -> None:
    line = (json.dumps(row, sort_keys=True) + "\n").encode()
    with open(path, "ab") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _truncate_partial_line(path: Path) -> None:
    if not path.exists():
        return
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with open(path, "r+b") as handle:
            handle.truncate(end)


class RunRecord:
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
    def create(cls, path: Path | str, config: Config) -> "RunRecord":
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
    def open(cls, path: Path | str) -> "RunRecord":
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
        return _read_jsonl(self.evaluations_path)

    def append_evaluation(self, row: dict[str, Any]) -> None:
        _append_jsonl(self.evaluations_path, row)

    def iterations(self) -> list[dict[str, Any]]:
        return _read_jsonl(self.iterations_path)

    def append_iteration(self, row: dict[str, Any]) -> None:
        _append_jsonl(self.iterations_path, row)

    def lock(self) -> DirectoryLock:
        return DirectoryLock(self.path, what="run directory").acquire()

    def repair_after_crash(self) -> None:
        """Drop a line that a crash cut short, so that appends start on a clean line, and dead temporary files."""
        _truncate_partial_line(self.evaluations_path)
        _truncate_partial_line(self.iterations_path)
        remove_dead_temporaries(self.path)

    def rewrite_evaluations(self, rows: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
        atomic_write_bytes(self.evaluations_path, data)

    def rewrite_iterations(self, rows: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
        atomic_write_bytes(self.iterations_path, data)

    # --- state and checkpoints ----------------------------------------------------------

    def read_state(self) -> dict[str, Any] | None:
        if not self.state_path.exists():
            return None
        try:
            state = json.loads(self.state_path.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"run state {self.state_path}: corrupt ({exc}); it is written atomically, so the file was edited or damaged") from None
        if state.get("version", 0) > STATE_VERSION:
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
