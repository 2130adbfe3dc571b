"""Tell the active trackers about a run: start, params, metrics, artifacts, end with manifest.

``bucle run`` starts tracking before the first stage, so trackers see metrics as stages produce
them. Under ``dvc repro`` each stage is its own process, so the ``register`` stage, which runs
whenever anything upstream changed, records the whole run at once. Both end the same way.
"""

from __future__ import annotations

import json
from typing import Any

from framework.files import sha256_file
from framework.pipeline.context import RunContext
from framework.pipeline.manifest import build_manifest, run_outputs
from framework.quality.score import quality_metrics
from framework.records import RunInfo


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested config to dotted scalar keys (``model.C``); lists become JSON strings."""
    flat: dict[str, Any] = {}
    if isinstance(config, dict):
        for key, value in config.items():
            flat.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(config, list):
        flat[prefix[:-1]] = json.dumps(config, default=str)
    else:
        flat[prefix[:-1]] = config
    return flat


def start(context: RunContext) -> None:
    """Start the run in every tracker and log its params; does nothing the second time."""
    if context.tracking_started:
        return
    from framework.secrets import redacted

    context.tracking_started = True
    tags = redacted(dict(context.tags))
    run = RunInfo(context.run_id, context.project, context.started_at, tags)
    context.host.hook.start_run(run=run)
    context.host.hook.log_params(run_id=context.run_id, params=flatten(context.recorded_config()))


def log_metrics(context: RunContext, metrics: dict[str, float]) -> None:
    """Stream metrics to a run in progress; a lone ``bucle stage`` leaves them to ``finish``."""
    if context.tracking_started:
        context.host.hook.log_metrics(run_id=context.run_id, metrics=metrics)


def collect_metrics(context: RunContext, files: tuple[str, ...]) -> dict[str, float]:
    """Every metric the run's report files among ``files`` hold, by the names stages stream
    them under."""
    metrics: dict[str, float] = {}
    report = context.layout.validation_report
    if "validation_report" in files and report.is_file():
        metrics.update(quality_metrics(json.loads(report.read_text())))
    if "metrics" in files and context.layout.metrics.is_file():
        for key, value in json.loads(context.layout.metrics.read_text()).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                metrics[key] = float(value)
    return metrics


def finish(context: RunContext, status: str, error: BaseException | None = None) -> dict:
    """Log the run's files as artifacts and end it with its manifest; returns the manifest.

    A run that did not finish is recorded only with the files it wrote itself (``run_outputs``).
    """
    start(context)
    files = run_outputs(context, status)
    metrics = collect_metrics(context, files)
    if metrics:
        context.host.hook.log_metrics(run_id=context.run_id, metrics=metrics)
    for name in files:
        path = context.path(name)
        if path.is_file():
            context.host.hook.log_artifact(
                run_id=context.run_id, name=name, path=path, sha256=sha256_file(path)
            )
    manifest = build_manifest(context, status, error)
    context.host.hook.end_run(run_id=context.run_id, status=status, manifest=manifest)
    return manifest
