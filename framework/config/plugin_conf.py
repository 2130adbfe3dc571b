"""Which installed distributions ship config options, read from entry-point metadata alone.

A distribution declares a package holding ``<group>/<name>.yaml`` files::

    [project.entry-points."bucle.config"]
    foo = "bucle_foo.conf"

and its options become composable (``tracker=foo``) once it is installed. Bucle's own options
are declared the same way (``bucle = "plugins.conf"``) and come first, so a plugin cannot
replace a built-in option, even by naming its entry point ``bucle``; a project's ``conf/``
comes before all of them.

Building the list imports nothing, and neither does composing: :func:`search_path_entry` finds a
config package's directory on disk and gives Hydra a ``file://`` path, so a distribution whose
package fails to import (a missing GPU library) cannot break every command; only selecting its
plugin imports it, and that error names the distribution. ``pkg://`` (which imports the package
and its parents) is the fallback for a package not laid out as files, e.g. inside a zip.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

CONFIG_GROUP = "bucle.config"
DISTRIBUTION = "bucle"


def config_packages() -> list[tuple[str, str]]:
    """``(provider, module)`` per ``bucle.config`` entry point: Bucle's own, then by name."""
    found = []
    for entry_point in entry_points(group=CONFIG_GROUP):
        dist = entry_point.dist.metadata["Name"] if entry_point.dist is not None else ""
        builtin = dist == DISTRIBUTION
        found.append((not builtin, entry_point.name, dist, entry_point.module))
    packages = []
    for _, name, dist, module in sorted(set(found)):
        provider = f"{dist or 'unknown'}:{name}"
        if (provider, module) not in packages:
            packages.append((provider, module))
    return packages


def search_path_entry(module: str) -> str:
    """Hydra's search-path entry for config package ``module``, found without importing it.

    Only the top-level package is located (``find_spec`` of a top-level name imports nothing);
    the rest of the dotted name is followed as directories, which is what a package on disk is.
    """
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        directory = Path(location).joinpath(*rest)
        if directory.is_dir():
            return f"file://{directory.resolve()}"
    return f"pkg://{module}"
