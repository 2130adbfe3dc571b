"""Run stages with their lifecycle hooks: one stage (``bucle stage``) or all (``bucle run``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from framework.errors import StageError
from framework.pipeline import tracking
from framework.pipeline.context import RunContext
from framework.pipeline.stages import STAGES, get_stage


def run_stage(context: RunContext, name: str) -> dict[str, Path]:
    """Run one stage: check its inputs, call before/after hooks, and on_stage_error on failure."""
    stage = get_stage(name)
    for needed in stage.needs:
        path = context.path(needed)
        if not path.is_file():
            raise StageError(
                f"stage '{name}' needs {path}, which does not exist; "
                f"run `bucle stage {stage.upstream}` (or `dvc repro`) first"
            )
    context.stages_run.append(name)
    context.host.hook.before_stage(stage=name, context=context)
    try:
        outputs = stage.load()(context)
    except BaseException as error:
        context.host.hook.on_stage_error(stage=name, context=context, error=error)
        raise
    context.host.hook.after_stage(stage=name, context=context, outputs=outputs)
    return outputs


def run_pipeline(
    cfg: DictConfig,
    stages: Sequence[str] | None = None,
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> RunContext:
    """Run ``stages`` (all by default) in order in this process as one tracked run.

    A failing stage ends the run as ``failed`` in every tracker, then the error propagates.
    """
    names = list(stages or STAGES)
    for name in names:
        get_stage(name)
    extra = {"run_id": run_id} if run_id else {}
    context = RunContext.create(cfg, tags=dict(tags or {}), **extra)
    tracking.start(context)
    try:
        for name in names:
            run_stage(context, name)
    except Exception as error:
        tracking.finish(context, "failed", error)
        raise
    if "register" not in names:
        tracking.finish(context, "finished")
    return context


def run_single_stage(cfg: DictConfig, name: str) -> RunContext:
    """``bucle stage NAME``: one stage in this process, as DVC runs it.

    Tracking of the whole run happens in ``register``; a stage that fails is recorded as a
    failed run so the attempt is not lost.
    """
    get_stage(name)
    context = RunContext.create(cfg)
    try:
        run_stage(context, name)
    except Exception as error:
        tracking.finish(context, "failed", error)
        raise
    return context
