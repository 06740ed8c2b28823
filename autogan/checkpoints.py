"""Reading a checkpoint file: tensors only, with errors that say what to pass instead."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from autogan.errors import MissingFileError, UserError, first_line


def load_checkpoint_file(path: Path, *, what: str = "checkpoint") -> dict[str, Any]:
    """``torch.load(weights_only=True)`` with errors a user can act on."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path}: is a directory; pass the checkpoint file inside it (such as latest.pt)")
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
            problem = "cannot be read safely: it is corrupt or not an autogan checkpoint"
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
