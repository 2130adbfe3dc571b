"""Register one plugin instance exactly as ``bucle`` would, for the role contracts."""

from __future__ import annotations

from typing import Any

from framework.hooks.host import ROLES, PluginHost, check_hook_names
from framework.hooks.markers import PROJECT_NAME


def implements(plugin: object, hook: str) -> bool:
    """True when ``plugin`` has a method marked ``@hookimpl`` for ``hook``."""
    return getattr(getattr(plugin, hook, None), f"{PROJECT_NAME}_impl", None) is not None


def host_with(role_name: str, plugin: object, name: str = "under_test") -> Any:
    """A plugin host holding ``plugin`` alone; returns its ``hook`` relay.

    Fails like ``bucle`` does when a method marked ``@hookimpl`` matches no spec, takes an
    argument the spec does not offer, or a "one" role's required hook is missing.
    """
    role = ROLES[role_name]
    check_hook_names(role, name, type(plugin))
    host = PluginHost()
    host.add(role, name, plugin)
    host.manager.check_pending()
    return host.hook
