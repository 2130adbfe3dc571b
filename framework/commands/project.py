"""The project's config for commands that inspect state: params.yaml, else conf/ composed.

Inspection commands (``bucle models``, ``bucle runs``, ``bucle monitor``, ``bucle deploy status``)
take the same overrides as ``bucle run``: with any, ``conf/`` is composed with them, so a model
trained with ``bucle run data=file ... project=credit`` is listed and promoted with
``bucle models list project=credit`` without editing a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from framework.config.compose import compose_config, load_params, validate_config
from framework.hooks.host import PluginHost, build_host


def project_config(overrides: Sequence[str] = ()) -> DictConfig:
    """``conf/`` composed with ``overrides`` when there are any, else ``params.yaml`` as written
    (else ``conf/`` composed)."""
    if overrides:
        return validate_config(compose_config(list(overrides)), "conf/ with overrides")
    params = Path("params.yaml")
    if params.is_file():
        return load_params(params)
    return validate_config(compose_config(), "conf/")


def project_host(*roles: str, overrides: Sequence[str] = ()) -> tuple[DictConfig, PluginHost]:
    cfg = project_config(overrides)
    return cfg, build_host(cfg, roles)


def table(rows: list[list[str]], header: list[str]) -> str:
    """Rows as left-aligned columns under a header, for terminal output."""
    cells = [header, *rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)
