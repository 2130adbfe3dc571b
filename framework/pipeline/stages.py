"""The stage registry: every pipeline stage by name, in run order, with the files it needs.

Stage modules are imported only when the stage runs, so ``bucle --help`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from framework.errors import StageError, did_you_mean

if TYPE_CHECKING:
    from framework.pipeline.context import RunContext


@dataclass(frozen=True)
class Stage:
    """A stage: its name, the module holding its ``run(context)``, the files it reads."""

    name: str
    module: str
    needs: tuple[str, ...] = ()
    upstream: str | None = None

    def load(self) -> Callable[[RunContext], dict[str, Path]]:
        return importlib.import_module(self.module).run


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("ingest", "framework.stages.ingest"),
        Stage("validate", "framework.stages.validate", ("raw",), "ingest"),
        Stage("featurize", "framework.stages.featurize", ("validated",), "validate"),
        Stage("train", "framework.stages.train", ("train",), "featurize"),
        Stage("evaluate", "framework.stages.evaluate", ("model", "test"), "train"),
        Stage("register", "framework.stages.register", ("model", "metrics"), "evaluate"),
    )
}


def get_stage(name: str) -> Stage:
    """The stage called ``name``, or a StageError listing the stages."""
    if name not in STAGES:
        hint = did_you_mean(name, STAGES)
        raise StageError(f"unknown stage '{name}'; stages: {', '.join(STAGES)}{hint}")
    return STAGES[name]
