"""Where a stage's state belongs when DVC runs it in a temporary workspace.

``dvc exp run --queue`` (and ``--temp``) runs the pipeline in a copy of the repository under
``.dvc/tmp/exps/``, which DVC deletes when the experiment ends. A relative ``paths.state``
(``.bucle``) would put the run's tracker, registry, store and locks in that copy, so the run and
its model version would vanish with it. DVC tells a stage where the project is: ``DVC_ROOT`` is
the parent repository's root for queued experiments and the stage's own repository root
otherwise. A relative state directory therefore resolves against ``DVC_ROOT`` (at the stage's
place inside it); stage outputs (``paths.data``, ``models``, ``reports``) stay in the workspace,
where DVC collects them.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path, PurePosixPath
from typing import Any

from omegaconf import DictConfig, OmegaConf

#: The variable DVC sets for every stage command: the root of the repository the run belongs to.
DVC_ROOT = "DVC_ROOT"


def dvc_root_of(directory: Path) -> Path | None:
    """The nearest directory at or above ``directory`` holding a ``.dvc`` directory."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".dvc").is_dir():
            return candidate
    return None


def state_base(cwd: Path | None = None) -> Path | None:
    """The directory a relative ``paths.state`` means, when it is not the current directory.

    ``None`` outside DVC, or when DVC runs the stage in the project itself (nothing to move).
    """
    root = os.environ.get(DVC_ROOT)
    if not root:
        return None
    here = (cwd or Path.cwd()).resolve()
    workspace = dvc_root_of(here)
    if workspace is None:
        return None
    base = Path(root).resolve() / here.relative_to(workspace)
    return None if base == here else base


def _under(value: str, state: PurePosixPath) -> bool:
    path = PurePosixPath(value)
    return path == state or state in path.parents


def anchor_state(cfg: DictConfig, base: Path) -> DictConfig:
    """``cfg`` with a relative ``paths.state``, and every path under it (tracker, registry,
    store, feature store, deploy state), made absolute under ``base``.

    ``params.yaml`` is resolved, so the paths derived from ``paths.state`` are literal strings
    there; each one that starts with the state directory moves with it.
    """
    state = PurePosixPath(str(cfg.paths.state))
    if state.is_absolute():
        return cfg

    anchored = copy.deepcopy(cfg)
    for key, value in _leaves(OmegaConf.to_container(cfg, resolve=False)):
        if isinstance(value, str) and _under(value, state):
            OmegaConf.update(anchored, key, str(base / PurePosixPath(value)), merge=False)
    return anchored


def _leaves(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every leaf of a config container as (dotted key, value)."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return [(prefix, node)]
    leaves: list[tuple[str, Any]] = []
    for key, value in items:
        leaves.extend(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return leaves


def stage_config(cfg: DictConfig) -> DictConfig:
    """The config a ``bucle stage`` runs with: its state in the project DVC runs it for."""
    base = state_base()
    return cfg if base is None else anchor_state(cfg, base)
