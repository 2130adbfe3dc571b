"""``bucle runs list | show | compare``: read tracked runs back from the trackers."""

from __future__ import annotations

import json
from collections.abc import Sequence

from framework.commands.project import project_host, table
from framework.errors import BucleError
from framework.pipeline.liveness import INTERRUPTED
from framework.pipeline.tracking import flatten
from framework.records import RunRecord
from framework.secrets import masked_value, redacted_params


def tracked_run(host, run_id: str) -> RunRecord:
    """The run ``run_id`` from the tracker, or a one-line error pointing at `bucle runs list`."""
    run = host.hook.get_run(run_id=run_id)
    if run is None:
        raise BucleError(f"no run '{run_id}' in the tracker; see `bucle runs list`")
    return run


def list_runs(limit: int, every_project: bool, overrides: Sequence[str] = ()) -> int:
    cfg, host = project_host("tracker", overrides=overrides)
    project = None if every_project else str(cfg.project)
    runs = host.hook.list_runs(project=project, limit=limit) or []
    if not runs:
        print("no runs yet; `bucle run` or `dvc repro` records one")
        return 0
    metric_names = sorted({k for run in runs for k in run.metrics if not k.startswith("validate.")})
    headline = ("roc_auc", "f1", "accuracy", "rmse", "mae", "r2")
    shown = [m for m in headline if m in metric_names][:3] or metric_names[:3]
    rows = [
        [
            run.run_id,
            run.status,
            run.started_at,
            str(run.params.get("model._target_", "")).rsplit(".", 1)[-1],
            *[f"{run.metrics[m]:.4f}" if m in run.metrics else "-" for m in shown],
        ]
        for run in runs
    ]
    print(table(rows, ["run", "status", "started", "model", *shown]))
    return 0


def show_run(run_id: str, overrides: Sequence[str] = ()) -> int:
    _, host = project_host("tracker", overrides=overrides)
    run = tracked_run(host, run_id)
    manifest = run.manifest
    git = manifest.get("git", {})
    print(f"run       {run.run_id}  ({run.status})")
    print(f"project   {run.project}")
    print(f"started   {run.started_at}   ended {run.ended_at or '-'}")
    print(f"git       {git.get('commit') or '-'}{' (dirty)' if git.get('dirty') else ''}")
    if run.status == INTERRUPTED:
        print("          its process ended without finishing it (killed or crashed); re-run it")
    if manifest.get("error"):
        print(f"error     {masked_value(str(manifest['error']))}")
    if run.tags:
        print("tags      " + ", ".join(f"{k}={v}" for k, v in sorted(run.tags.items())))
    print("\nmetrics")
    for name, value in sorted(run.metrics.items()):
        print(f"  {name:<28} {value:.6g}")
    print("\nartifacts")
    for name, sha in sorted(run.artifacts.items()):
        print(f"  {name:<28} {sha[:16]}")
    print("\nparams")  # a record written before a rule existed is shown through it anyway
    for key, value in sorted(redacted_params(run.params).items()):
        print(f"  {key:<40} {json.dumps(value, default=str)}")
    return 0


def compare_runs(first: str, second: str, overrides: Sequence[str] = ()) -> int:
    _, host = project_host("tracker", overrides=overrides)
    a, b = tracked_run(host, first), tracked_run(host, second)
    rows = []
    for key in sorted(set(a.metrics) | set(b.metrics)):
        va, vb = a.metrics.get(key), b.metrics.get(key)
        delta = f"{vb - va:+.4f}" if va is not None and vb is not None else "-"
        rows.append([key, _num(va), _num(vb), delta])
    print(table(rows, ["metric", a.run_id, b.run_id, "change"]))
    params_a, params_b = redacted_params(flatten(a.params)), redacted_params(flatten(b.params))
    differing = [
        [key, json.dumps(params_a.get(key)), json.dumps(params_b.get(key))]
        for key in sorted(set(params_a) | set(params_b))
        if params_a.get(key) != params_b.get(key) and not key.startswith("paths.")
    ]
    print()
    if differing:
        print(table(differing, ["param", a.run_id, b.run_id]))
    else:
        print("params: identical (apart from paths)")
    return 0


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
