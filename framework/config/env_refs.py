"""Environment references (``${oc.env:NAME}``) kept as text wherever a config is written.

``params.yaml`` is committed and ``dvc repro`` copies it into ``dvc.lock``, so a secret read from
the environment must reach neither: both keep the *reference*, and only the process that runs
a stage or a server resolves it (``load_params``). DVC still sees a change when the reference
changes, because the text of ``params.yaml`` changes.

Two processes write ``params.yaml``: Bucle's (``bucle params``), which resolves everything else
inside :func:`env_references_kept`, and DVC's own for ``dvc exp run -S`` (its
``compose_and_dump`` resolves the composed config with ``OmegaConf.resolve``), which Bucle can
only reach through the Hydra plugin module DVC imports first. That module calls
:func:`keep_env_references_under_dvc`, which replaces ``oc.env`` with a resolver that returns
the reference text while DVC's ``compose_and_dump`` is on the stack and behaves exactly like
OmegaConf's own everywhere else. OmegaConf does not resolve a resolver's output again, so the
text lands in ``params.yaml`` as written.

Imports nothing beyond OmegaConf (Hydra imports this in every process it starts).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from omegaconf import OmegaConf
from omegaconf._utils import _DEFAULT_MARKER_
from omegaconf.basecontainer import BaseContainer

ENV_RESOLVER = "oc.env"
#: DVC's function that composes ``conf/`` into ``params.yaml`` for ``dvc exp run -S``.
DVC_COMPOSER = ("dvc.utils.hydra", "compose_and_dump")
_PLAIN_DEFAULT = re.compile(r"[A-Za-z0-9_./:-]*")


#: ``${oc.env:NAME}`` without a default: the variable must be set where the config resolves.
ENV_REFERENCE = re.compile(r"\$\{oc\.env:\s*([^,}\s]+)\s*\}")


def environment_references(raw: Any, path: str = "") -> dict[str, str]:
    """Every dotted key of an unresolved plain config whose text reads the environment."""
    found: dict[str, str] = {}
    if isinstance(raw, dict):
        for key, item in raw.items():
            found.update(environment_references(item, f"{path}{key}."))
    elif isinstance(raw, list):
        for index, item in enumerate(raw):
            found.update(environment_references(item, f"{path}{index}."))
    elif isinstance(raw, str) and "${oc.env:" in raw:
        found[path.rstrip(".")] = raw
    return found


def env_reference(key: str, default: Any = _DEFAULT_MARKER_) -> str:
    """The interpolation text ``${oc.env:KEY}`` (with its default) that resolved to this call."""
    if default is _DEFAULT_MARKER_:
        return f"${{{ENV_RESOLVER}:{key}}}"
    if default is None:
        shown = "null"
    elif isinstance(default, str) and _PLAIN_DEFAULT.fullmatch(default) and default:
        shown = default
    else:
        escaped = str(default).replace("\\", "\\\\").replace("'", "\\'")
        shown = f"'{escaped}'"
    return f"${{{ENV_RESOLVER}:{key},{shown}}}"


@contextmanager
def env_references_kept() -> Iterator[None]:
    """Within the block, resolving ``${oc.env:NAME}`` gives back that text, not the variable."""
    saved = BaseContainer._resolvers.get(ENV_RESOLVER)
    OmegaConf.register_new_resolver(ENV_RESOLVER, env_reference, replace=True)
    try:
        yield
    finally:
        if saved is None:
            OmegaConf.clear_resolver(ENV_RESOLVER)
        else:
            BaseContainer._resolvers[ENV_RESOLVER] = saved


def keep_env_references_under_dvc() -> bool:
    """Make ``oc.env`` give back its reference text while DVC composes ``params.yaml``.

    Registered only in a process that has imported DVC's composer, and even there every other
    caller gets the variable's value from OmegaConf's own ``oc.env``. Returns whether the
    replacement is in place; calling it again changes nothing.
    """
    global _replaced
    if DVC_COMPOSER[0] not in sys.modules:
        return False
    if not _replaced:
        OmegaConf.register_new_resolver(ENV_RESOLVER, _env_or_reference, replace=True)
        _replaced = True
    return True


_replaced = False


def _env_or_reference(key: str, default: Any = _DEFAULT_MARKER_) -> Any:
    """OmegaConf's ``oc.env``, except under DVC's composer, where it is the reference text."""
    from omegaconf.resolvers import oc

    if _inside_dvc_composer():
        return env_reference(key, default)
    return oc.env(key, default)


def _inside_dvc_composer() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == DVC_COMPOSER[1] and frame.f_globals.get("__name__") == DVC_COMPOSER[0]:
            return True
        frame = frame.f_back
    return False
