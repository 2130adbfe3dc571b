"""``bucle run``: the whole pipeline as a Hydra app, and ``bucle runs reproduce``.

``hydra.main`` is applied to an inner function with ``sys.argv`` set to the overrides, which gives
users all of Hydra: ``-m`` sweeps with any launcher or sweeper, ``--cfg job``, ``--help``. With
version_base 1.3 the working directory stays put; stage outputs go to Hydra's run directory
(``paths.work``) while the tracker, registry and store stay in the project's ``paths.state``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from framework.config.compose import (
    CONFIG_NAME,
    compose_config,
    find_conf_dir,
    refuse_literal_secrets,
    validate_config,
)
from framework.config.schema import register_configs
from framework.errors import BucleError
from framework.hooks.host import build_host
from framework.pipeline.context import new_run_id
from framework.pipeline.runner import run_pipeline

#: The environment variable that carries a run's id into ``hydra.run.dir``.
RUN_ID_VARIABLE = "BUCLE_RUN_ID"
#: The file in a run directory that names the run it belongs to.
RUN_MARKER = ".bucle-run"

#: Flags after which Hydra prints something and exits without running the task.
HYDRA_INFO_FLAGS = {
    "--cfg",
    "-c",
    "--help",
    "-h",
    "--hydra-help",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
}
MULTIRUN_FLAGS = {"-m", "--multirun"}


def relocate(config: dict[str, Any], work: Path) -> dict[str, Any]:
    """Point a config's stage outputs at ``work``, keeping its shared state where it was."""
    paths = dict(config["paths"])
    paths["work"] = str(work)
    for name in ("data", "models", "reports"):
        paths[name] = str(work / name)
    paths["state"] = str(Path(paths["state"]).resolve())
    return {**config, "paths": paths}


def _job(cfg: DictConfig) -> float | None:
    """One pipeline run; returns the objective's value, which an optimising sweeper reads."""
    from hydra.core.hydra_config import HydraConfig

    from framework.files import write_text
    from framework.sweeps import RESULT_FILE, check_direction, objective_value

    hydra_cfg = HydraConfig.get()
    work = Path(hydra_cfg.runtime.output_dir)
    multirun = hydra_cfg.mode is not None and hydra_cfg.mode.name == "MULTIRUN"
    # A single run takes the id its directory was named after; each sweep job gets its own.
    run_id = None if multirun else os.environ.get(RUN_ID_VARIABLE)
    resolved = OmegaConf.to_container(cfg, resolve=False)
    try:
        refuse_literal_secrets(resolved, "config")
    except BucleError as error:
        print(f"bucle: error: {error}", file=sys.stderr)
        raise SystemExit(error.exit_code) from None
    plain = validate_config(OmegaConf.create(resolved), "config")
    config = relocate(OmegaConf.to_container(plain, resolve=True), work)
    tags = {"launcher": "bucle run", "hydra_output_dir": str(work)}
    if multirun:
        tags["sweep_job"] = str(hydra_cfg.job.num)
    objective = plain.objective
    try:
        check_direction(objective.direction)
        claim_output_dir(work, run_id)
        context = run_pipeline(validate_config(config, "config"), run_id=run_id, tags=tags)
        metrics = _read_json(context.layout.metrics)
        value = objective_value(metrics, objective.metric, required=multirun)
    except BucleError as error:
        print(f"bucle: error: {error}", file=sys.stderr)
        raise SystemExit(error.exit_code) from None
    result = {
        "run_id": context.run_id,
        "metric": objective.metric,
        "value": value,
        "overrides": list(hydra_cfg.overrides.task),
        "metrics": metrics,
    }
    write_text(work / RESULT_FILE, json.dumps(result, indent=2, sort_keys=True) + "\n")
    registration = _read_json(context.layout.registration)
    headline = ("roc_auc", "f1", "accuracy", "rmse", "mae", "r2")
    shown = " ".join(f"{k}={metrics[k]:.4f}" for k in headline if k in metrics)
    registered = ""
    if registration:
        passed = registration.get("gate_passed")
        alias = registration["promoted_to"] or (
            "gate passed, candidate unchanged" if passed else "gate failed, no alias"
        )
        registered = f"; {registration['model']} v{registration['version']} ({alias})"
    print(f"run {context.run_id} finished: {shown}{registered}", file=sys.stderr)
    print(f"outputs in {work}", file=sys.stderr)
    return value


def claim_output_dir(work: Path, run_id: str | None) -> None:
    """Make ``work`` this run's alone, or fail in one line: two runs must never share outputs.

    The run directory carries the run id (``hydra.run.dir`` in conf/config.yaml); a project
    whose config still names it by the second gets a clear error from the second run started
    in that second instead of two runs recording each other's hashes.
    """
    marker = work / RUN_MARKER
    work.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        owner = marker.read_text().strip() or "another run"
        raise BucleError(
            f"output directory {work} is already used by run {owner}; set hydra.run.dir to a "
            "path with the run id, e.g. outputs/runs/${now:%Y-%m-%d}/${oc.env:"
            f"{RUN_ID_VARIABLE}}}"
        ) from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"{run_id or ''}\n")


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def run_with_hydra(overrides: list[str]) -> int:
    import hydra

    register_configs()
    conf_dir = find_conf_dir()
    multirun = any(arg in MULTIRUN_FLAGS for arg in overrides)
    informational = any(arg.split("=")[0] in HYDRA_INFO_FLAGS for arg in overrides)
    if not multirun and not informational:
        # Fail fast, in one line, on a bad override or plugin, or a secret written as a value,
        # before Hydra makes a run directory and records the overrides in it.
        composed = compose_config(overrides, conf_dir)
        refuse_literal_secrets(OmegaConf.to_container(composed, resolve=False), "config")
        build_host(validate_config(composed, "config"))

    task = hydra.main(version_base="1.3", config_path=str(conf_dir), config_name=CONFIG_NAME)(_job)
    saved, saved_id = sys.argv, os.environ.get(RUN_ID_VARIABLE)
    sys.argv = ["bucle run", *overrides]
    # The run id exists before Hydra names the run directory, so the directory carries it
    # (``${oc.env:BUCLE_RUN_ID}`` in hydra.run.dir): two runs started in the same second
    # never share one. Sweep jobs launched in other processes inherit it as the sweep's id.
    os.environ[RUN_ID_VARIABLE] = new_run_id()
    try:
        task()
    finally:
        sys.argv = saved
        if saved_id is None:
            os.environ.pop(RUN_ID_VARIABLE, None)
        else:
            os.environ[RUN_ID_VARIABLE] = saved_id
    return 0


def reproduce_run(run_id: str, tolerance: float = 1e-9) -> int:
    """Re-run a tracked run from its stored config alone and say whether its metrics match."""
    from framework.commands.project import project_host, table
    from framework.commands.runs import tracked_run
    from framework.modeling.estimator import check_declared_targets, declared_model_targets
    from framework.secrets import restore_secrets

    project_cfg, host = project_host("tracker")
    original = tracked_run(host, run_id)
    config = original.manifest.get("config")
    if not config:
        raise BucleError(
            f"run {original.run_id} has no stored config (status {original.status}); "
            "only finished runs can be reproduced"
        )
    run_id = new_run_id()  # in the directory's name: two reproductions never share one
    work = Path("outputs", "reproduce", f"{original.run_id}-{run_id}").resolve()
    # The record is data: it may only name estimators a model option declares, as written and
    # once its interpolations are resolved.
    declared = declared_model_targets()
    check_declared_targets(config.get("model"), declared, f"run {original.run_id}")
    config = restore_secrets(config, OmegaConf.to_container(project_cfg, resolve=True))
    cfg = validate_config(OmegaConf.create(relocate(config, work)), f"run {original.run_id}")
    check_declared_targets(cfg.model, declared, f"run {original.run_id}")
    context = run_pipeline(cfg, run_id=run_id, tags={"reproduces": original.run_id})
    fresh = host.hook.get_run(run_id=context.run_id)

    rows, matches = [], True
    for name in sorted(set(original.metrics) | set(fresh.metrics)):
        before, after = original.metrics.get(name), fresh.metrics.get(name)
        same = (
            before is not None
            and after is not None
            and math.isclose(before, after, rel_tol=tolerance, abs_tol=tolerance)
        )
        matches &= same
        rows.append([name, _fmt(before), _fmt(after), "yes" if same else "NO"])
    print(table(rows, ["metric", original.run_id, context.run_id, "match"]))
    old_data = original.manifest.get("inputs", {}).get("raw", {}).get("sha256")
    new_data = fresh.manifest.get("inputs", {}).get("raw", {}).get("sha256")
    if old_data and new_data and old_data != new_data:
        print(f"input data differs: raw sha256 {old_data[:12]}… → {new_data[:12]}…")
    verdict = "reproduced: every metric matches" if matches else "NOT reproduced: metrics differ"
    model = _model_bytes(original, fresh, matches)
    print(f"{verdict}{model} (run {context.run_id}, outputs in {work})")
    return 0 if matches else 1


def _model_bytes(original: Any, fresh: Any, metrics_match: bool) -> str:
    """What the two runs' model hashes say: saved models are canonical (the same fit gives the
    same bytes), so equal hashes mean the very same model, not merely equal scores."""
    before, after = original.artifacts.get("model"), fresh.artifacts.get("model")
    if not before or not after:
        return "; no model hash to compare"
    if before == after:
        return f"; the model is bit-identical (sha256 {after[:12]}…)"
    but = "but " if metrics_match else ""
    return f"; {but}the model bytes differ (sha256 {before[:12]}… → {after[:12]}…)"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"
