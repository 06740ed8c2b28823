"""Errors a user can act on.

The CLI turns a ``UserError`` (and ``search_spaces.InvalidArchitecture``) into
one line on stderr and exit status 2.  Messages name the input, the problem
and the fix.  An ``OSError`` that reaches the CLI (a full disk, a read-only
directory) is described by :func:`describe_os_error` under the same contract.
"""

from __future__ import annotations

import errno
from typing import Any

#: Longest echo of a user's value inside a message: enough to recognise it, short enough to read.
ECHO_LIMIT = 80
#: Paths are quoted whole unless absurd: a user needs all of a real one.
PATH_LIMIT = 300


class UserError(Exception):
    """Bad input or a missing file that the user can fix."""


class MissingFileError(UserError):
    """A dataset, weights file, checkpoint or run directory that is not there."""


class ConfigError(UserError):
    """A config file, preset or ``key=value`` override that cannot be used."""


class DamagedRecordError(UserError):
    """A run file with a line or value that autogan did not write: edited, or damaged on disk."""


def shown(value: Any, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, saying how long the whole was."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, (str, bytes)) else len(text)
    return f"{text[: limit - 1]}… ({size:,} characters)"


def first_line(exc: BaseException, limit: int = 160) -> str:
    """``Type: first line of the message`` of a library's exception, for a one-line error."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else "no message"
    text = "".join(ch for ch in text if ch.isprintable())  # drop terminal colour codes
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}"


# What a user can do about the OS errors that reach the CLI; anything else is reported as it is.
_OS_ERROR_FIXES = {
    errno.ENOSPC: "free space on that disk",
    errno.EDQUOT: "free space within your disk quota",
    errno.EROFS: "the file system is read-only; make it writable or choose a path on a writable one",
    errno.EACCES: "fix its permissions or choose a path you can write",
    errno.EPERM: "fix its permissions or choose a path you can write",
    errno.ENOTDIR: "a part of the path is a file, not a directory; choose another path",
    errno.EISDIR: "it is a directory; pass a file",
    errno.ENAMETOOLONG: "the name is too long for the file system; choose a shorter path",
    errno.ENOENT: "check the path",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n) and run it again",
    errno.EIO: "the disk reported an I/O error; check the disk",
}


def describe_os_error(exc: OSError, fix: str | None = None) -> str:
    """One line for an OS error: the file, the problem, and ``fix`` (by default, what usually helps)."""
    where = str(exc.filename) if exc.filename is not None else "a file"
    where = where if len(where) <= PATH_LIMIT else shown(where)
    problem = exc.strerror or first_line(exc)
    fix = fix or _OS_ERROR_FIXES.get(exc.errno or -1, "check the path and its disk")
    return f"{where}: {problem}; {fix}"
