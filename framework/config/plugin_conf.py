"""Which installed distributions ship config options, read from entry-point metadata alone.

A distribution declares a package holding ``<group>/<name>.yaml`` files::

    [project.entry-points."bucle.config"]
    foo = "bucle_foo.conf"

and its options become composable (``tracker=foo``) once it is installed. Bucle's own options
are declared the same way (``bucle = "plugins.conf"``) and come first, so a plugin cannot
replace a built-in option, even by naming its entry point ``bucle``; a project's ``conf/``
comes before all of them. Building the list imports nothing; Hydra imports a config package
(and so its parent package) when it looks for an option there.
"""

from __future__ import annotations

from importlib.metadata import entry_points

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
