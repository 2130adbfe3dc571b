"""register: store the model by content, record a version with lineage, gate the candidate.

The ``candidate`` alias moves to the new version only when every gate threshold in
``evaluate.gate`` passes. This stage also closes the run in the trackers: under ``dvc repro`` it
is the one stage that sees every upstream output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from framework.errors import ArtifactError, ConfigError
from framework.files import sha256_file, write_json
from framework.pipeline import tracking
from framework.pipeline.context import RunContext
from framework.pipeline.manifest import config_hash, git_state

CANDIDATE = "candidate"


def check_gate(metrics: dict[str, float], gate: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Each gated metric with its value, its minimum and whether it passed."""
    results = {}
    for name, minimum in gate.items():
        if name not in metrics:
            available = ", ".join(sorted(k for k in metrics if k != "n_test"))
            raise ConfigError(
                f"evaluate.gate.{name}: no metric '{name}' was computed; metrics: {available}"
            )
        value = float(metrics[name])
        results[name] = {"value": value, "minimum": float(minimum), "passed": value >= minimum}
    return results


def run(context: RunContext) -> dict[str, Path]:
    layout = context.layout
    metrics = json.loads(layout.metrics.read_text())
    gate = check_gate(metrics, dict(context.cfg.evaluate.gate))
    sha256 = sha256_file(layout.model)
    uri = context.host.hook.put_artifact(path=layout.model, sha256=sha256)
    if uri is None:
        raise ArtifactError(f"store plugin '{context.cfg.store.name}' did not store {layout.model}")
    train_sha = sha256_file(layout.train) if layout.train.is_file() else None
    git = git_state()
    lineage = {
        "artifact_uri": uri,
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "config_sha256": config_hash(context.config_dict()),
        "data_sha256": train_sha,
        "model_target": context.cfg.model.get("_target_"),
    }
    numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
    version = context.host.hook.register_model(
        name=context.project, sha256=sha256, run_id=context.run_id, lineage=lineage, metrics=numeric
    )
    promoted = all(result["passed"] for result in gate.values())
    if promoted:
        version = context.host.hook.set_model_alias(
            name=context.project, alias=CANDIDATE, version=version.version
        )
    context.host.hook.on_model_registered(version=version, context=context, promoted=promoted)
    write_json(
        layout.registration,
        {
            "model": context.project,
            "version": version.version,
            "sha256": sha256,
            "run_id": version.run_id,
            "gate": gate,
            "promoted_to": CANDIDATE if promoted else None,
        },
    )
    tracking.finish(context, "finished")
    return {"registration": layout.registration}
