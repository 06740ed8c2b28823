"""The search checkpoint and ``state.json``: what a run needs to continue, written after every step."""

from __future__ import annotations

from typing import Any

from autogan.config import Config
from autogan.errors import UserError, shown
from autogan.search._run_directory import RunDirectory

CHECKPOINT_VERSION = 1
_REQUIRED_KEYS = {"trainer", "controller", "beam", "progress"}


def save_checkpoint(
    record: RunDirectory,
    config: Config,
    *,
    trainer_state: Any,
    controller: Any,
    beam: Any,
    progress: dict[str, Any],
    next_train_archs: list[str] | None,
    top: list[dict[str, Any]] | None = None,
    workers: list[dict[str, Any]] | None = None,
) -> None:
    """The checkpoint (atomic), then ``state.json``: the state file never runs ahead of the checkpoint."""
    checkpoint = {
        "version": CHECKPOINT_VERSION,
        "trainer": trainer_state.result(),
        "controller": controller.state_dict(),
        "beam": beam.state_dict(),
        "progress": dict(progress),
        "next_train_archs": next_train_archs,
        "config": config.to_dict(),
    }
    record.save_checkpoint(checkpoint)
    write_state(record, config, progress=progress, beam=beam, top=top, workers=workers)


def write_state(
    record: RunDirectory,
    config: Config,
    *,
    progress: dict[str, Any],
    beam: Any,
    top: list[dict[str, Any]] | None = None,
    workers: list[dict[str, Any]] | None = None,
) -> None:
    """``state.json``; ``workers``: where this run's workers run (their ``device_info()``), for ``inspect``."""
    record.write_state(
        {
            **progress,
            "beam": [{"arch": str(e.arch), "score": e.score} for e in beam.entries],
            "controller": config.search.controller,
            **({"top": top} if top is not None else {}),
            **({"workers": workers} if workers is not None else {}),
        }
    )


def load_checkpoint(record: RunDirectory) -> dict[str, Any] | None:
    """The last checkpoint, checked to be a search checkpoint of this version; None before the first."""
    if not record.checkpoint_path.exists():
        return None
    checkpoint = record.load_checkpoint()
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise UserError(
            f"search checkpoint {record.checkpoint_path}: version {shown(checkpoint.get('version'))} "
            f"is not {CHECKPOINT_VERSION}; resume it with the autogan version that wrote it"
        )
    missing = _REQUIRED_KEYS - checkpoint.keys()
    if missing:
        raise UserError(
            f"search checkpoint {record.checkpoint_path}: has no {sorted(missing)}, so it is not a "
            "search checkpoint; restore the file autogan wrote or start a new search"
        )
    return checkpoint
