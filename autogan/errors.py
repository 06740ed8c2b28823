"""Errors a user can act on.

The CLI turns a ``UserError`` (and ``search_spaces.InvalidArchitecture``) into
one line on stderr and exit status 2.  Messages name the input, the problem
and the fix.
"""


class UserError(Exception):
    """Bad input or a missing file that the user can fix."""


class MissingFileError(UserError):
    """A dataset, weights file, checkpoint or run directory that is not there."""


class ConfigError(UserError):
    """A config file, preset or ``key=value`` override that cannot be used."""
