"""The run context: what every stage and lifecycle hook gets — config, plugins, paths, run id."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from framework.hooks.host import PluginHost, build_host
from framework.pipeline.layout import Layout


def new_run_id() -> str:
    """A sortable, unique run id: UTC time of day plus random hex."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RunContext:
    """One run of (part of) the pipeline under one resolved, validated config."""

    cfg: DictConfig
    host: PluginHost
    run_id: str = field(default_factory=new_run_id)
    started_at: str = field(default_factory=utc_now)
    #: When this process began the run, to the nanosecond: a file older than this in the run's
    #: paths was written by an earlier run (see :func:`~framework.pipeline.manifest.run_outputs`).
    started_ns: int = field(default_factory=time.time_ns)
    tags: dict[str, str] = field(default_factory=dict)
    stages_run: list[str] = field(default_factory=list)
    tracking_started: bool = False

    @classmethod
    def create(cls, cfg: DictConfig, **kwargs: Any) -> RunContext:
        return cls(cfg=cfg, host=build_host(cfg), **kwargs)

    @property
    def layout(self) -> Layout:
        return Layout.from_config(self.cfg.paths)

    @property
    def project(self) -> str:
        return str(self.cfg.project)

    @property
    def target(self) -> str:
        return str(self.cfg.data.target)

    @property
    def seed(self) -> int:
        return int(self.cfg.seed)

    def config_dict(self) -> dict[str, Any]:
        return OmegaConf.to_container(self.cfg, resolve=True)  # type: ignore[return-value]

    def recorded_config(self) -> dict[str, Any]:
        """The resolved config as trackers, manifests and lineage keep it: secrets hidden."""
        from framework.secrets import redacted

        return redacted(self.config_dict())

    def path(self, name: str) -> Path:
        return getattr(self.layout, name)
