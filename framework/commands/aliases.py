"""``bucle models promote | rollback``: move a registry alias, and move it back.

A running server follows its alias (``serve.alias``) without a restart, so these two commands
are how a model reaches production and how it leaves it. Only the three aliases the lifecycle
uses are accepted: a misspelt alias would otherwise be created silently and serve nothing.

Rollback reads the registry's alias history and returns the alias to the version it held before
the current one. Like ``kubectl rollout undo``, a second rollback undoes the first; to go
further back, promote that version explicitly.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from framework.commands.project import project_host
from framework.errors import BucleError

#: The aliases of the lifecycle: the champion, the challenger, and the release rehearsal.
ALIASES = ("production", "candidate", "staging")


def check_alias(alias: str) -> str:
    if alias not in ALIASES:
        close = difflib.get_close_matches(alias, ALIASES, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise BucleError(f"unknown alias '{alias}'; use one of {', '.join(ALIASES)}{hint}")
    return alias


def promote(version: int, alias: str, overrides: Sequence[str] = ()) -> int:
    """Point ``alias`` at ``version`` and say which version held it before."""
    check_alias(alias)
    cfg, host = project_host("registry", overrides=overrides)
    name = str(cfg.project)
    if host.hook.get_model_version(name=name, version=version) is None:
        raise BucleError(f"model '{name}' has no version {version}; see `bucle models list`")
    before = host.hook.get_model_alias(name=name, alias=alias)
    host.hook.set_model_alias(name=name, alias=alias, version=version)
    if before is not None and before.version == version:
        print(f"{name} v{version} already is {alias}")
    else:
        was = f" (was v{before.version})" if before is not None else ""
        print(f"{name} v{version} is now {alias}{was}")
    return 0


def previous_version(history: list[dict], current: int) -> int | None:
    """The version the alias held just before ``current`` took it, from newest-first history."""
    for entry in history:
        if int(entry["version"]) != current:
            return int(entry["version"])
    return None


def rollback(alias: str = "production", overrides: Sequence[str] = ()) -> int:
    """Return ``alias`` to the version it pointed at before its current one."""
    check_alias(alias)
    cfg, host = project_host("registry", overrides=overrides)
    name = str(cfg.project)
    current = host.hook.get_model_alias(name=name, alias=alias)
    if current is None:
        raise BucleError(
            f"model '{name}' has no {alias} version to roll back; promote one with "
            f"`bucle models promote VERSION --alias {alias}`"
        )
    history = host.hook.get_alias_history(name=name, alias=alias)
    if history is None:
        raise BucleError(
            f"registry plugin '{cfg.registry.name}' keeps no alias history; promote the version "
            f"you want with `bucle models promote VERSION --alias {alias}`"
        )
    # History is newest first and starts with the current holder; skip its repeated entries.
    target = previous_version(history, current.version)
    if target is None:
        raise BucleError(
            f"{alias} of '{name}' has only ever been v{current.version}; there is no earlier "
            "version to roll back to"
        )
    if host.hook.get_model_version(name=name, version=target) is None:
        raise BucleError(
            f"{alias} of '{name}' was v{target} before v{current.version}, but v{target} is no "
            "longer registered; promote a version explicitly"
        )
    host.hook.set_model_alias(name=name, alias=alias, version=target)
    print(f"{name} {alias} rolled back to v{target} (was v{current.version})")
    return 0
