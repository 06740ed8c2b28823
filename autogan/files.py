"""Atomic file writes: a reader sees the old file or the complete new one, never half.

Every file that autogan rewrites (run state, checkpoints, caches, reports, grids)
goes through here: a temporary file in the same directory, fsync, then ``os.replace``.
A run directory also has one writer at a time (:class:`DirectoryLock`).
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import torch

from autogan.log import logger


_TEMPORARY_SUFFIX = ".tmp"


def _default_mode() -> int:
    # mkstemp creates 0600 files; a record others may read gets the usual umask-based mode.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path | str, write: Callable[[BinaryIO], Any]) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it over ``path``.

    Safe when two processes build the same file at once: the last rename wins whole.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file stands where a folder of the path should be
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)) from None
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, _default_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    atomic_write(path, lambda out: out.write(data))


def atomic_torch_save(obj: Any, path: Path | str) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def remove_dead_temporaries(directory: Path | str) -> None:
    """Delete the temporary files of atomic writes that a crash cut off before their rename.

    Call it only while holding the directory's :class:`DirectoryLock`: then no live
    writer can own one of these files.
    """
    for temporary in Path(directory).rglob(f".*{_TEMPORARY_SUFFIX}"):
        if temporary.is_file():
            temporary.unlink(missing_ok=True)
            logger.info("resume: removed %s, a write that a crash cut off before it completed", temporary)


class DirectoryLock:
    """One writer per run directory: a second `autogan` process on it stops with a clear error.

    ``flock`` is dropped by the kernel when its holder dies, SIGKILL included, so a
    crashed run never leaves a stale lock that blocks its own ``--resume``.
    """

    FILENAME = ".lock"

    def __init__(self, directory: Path | str, *, what: str):
        self.path = Path(directory) / self.FILENAME
        self.what = what
        self._handle: Any = None

    def acquire(self) -> "DirectoryLock":
        import fcntl

        from autogan.errors import UserError

        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise UserError(
                f"{self.what} {self.path.parent}: another autogan process (pid {holder}) is writing it; "
                "wait for it to finish or stop it, then run this again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    @classmethod
    def holder(cls, directory: Path | str) -> int | None:
        """The pid of the live process that holds ``directory``'s lock, or None where nothing does."""
        import fcntl

        path = Path(directory) / cls.FILENAME
        try:
            handle = open(path)
        except OSError:
            return None
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = handle.read().strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return None

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the flock
            self._handle = None
