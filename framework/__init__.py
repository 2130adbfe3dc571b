"""Bucle: one Hydra config for the whole machine-learning lifecycle.

This module is the public face a plugin author imports: the ``hookimpl`` marker, the error
types and the version. It must stay light: ``bucle --help`` imports it.
"""

from framework.errors import (
    ArtifactError,
    BucleError,
    ConfigError,
    DataError,
    PluginError,
    StageError,
)
from framework.hooks.markers import hookimpl, hookspec

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "BucleError",
    "ConfigError",
    "DataError",
    "PluginError",
    "StageError",
    "__version__",
    "hookimpl",
    "hookspec",
]
