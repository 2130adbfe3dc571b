"""One exception hierarchy: every message names the thing, the bad value and the fix.

The CLI prints a :class:`BucleError` as one line on stderr and exits with its ``exit_code``;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, else ``""``: the hint an
    "unknown NAME" message ends with, worded the same everywhere."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


class BucleError(Exception):
    """Base of every error Bucle reports to a user as one line."""

    exit_code = 1


class ConfigError(BucleError):
    """A config key, value or override is wrong (exit code 2)."""

    exit_code = 2


class PluginError(BucleError):
    """A plugin is unknown, misconfigured, fails to import or breaks the hook contract."""

    exit_code = 2


class DataError(BucleError):
    """The data does not fit what the config says (a missing target column, too many bad rows)."""


class ArtifactError(BucleError):
    """An artifact is missing, corrupt (sha256 mismatch) or holds a type we do not trust."""


class StateError(BucleError):
    """A project's state under ``.bucle/`` (the tracking or registry database) cannot be read,
    or the disk is full while writing an output."""


class StageError(BucleError):
    """A pipeline stage cannot run: an input is missing or a stage name is unknown."""
