"""``bucle retrain``: retrain on what production taught, gate against production, release.

1. **Why.** With ``--if-needed`` the triggers of ``retrain.triggers`` are read off the latest
   monitor report (``--report`` for another) and the production version's age; when none fires,
   nothing is retrained and the command says so. A trigger is consumed once per (report,
   production version): run again on a report already acted on, it does nothing and says which
   retraining acted (exit 0), so a scheduler's retry never churns production. Without
   ``--if-needed``, retraining is requested and always happens.
2. **On what.** Labelled production rows (predictions whose ground truth came back) and the
   source's original rows, per ``retrain.data.strategy``, written to
   ``<paths.state>/retrain/<id>/training.parquet``.
3. **How.** The whole pipeline runs as a new tracked run whose source is that file (every other
   setting as configured), so the run reproduces from its config like any other, and its tags
   name the monitor report (path and sha256) and the triggers that caused it.
4. **Gate.** The register stage's own gate decides the ``candidate`` alias as always; then the
   production model is scored on the retrained run's test rows with the same code, and the
   candidate must beat it on ``retrain.gate_metric`` by ``min_improvement`` (> 0 by default; a
   tie never wins, see :mod:`framework.retraining.promotion`). A loser loses the candidate alias.
5. **Release.** A winner goes through ``bucle release`` (staging smoke tests, then
   ``deploy.strategy``: promote, shadow or canary) when ``retrain.release`` is true.

Each retraining is recorded in ``<paths.state>/retrain/retrains.json`` with every fact above.
Exit code 0: nothing needed, or a new model was released (or left as candidate with
``retrain.release=false``); 1: the retrained model lost the gate or its release was refused.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework.errors import BucleError
from framework.retraining.journal import append_record


def retrain(
    overrides: Sequence[str] = (),
    if_needed: bool = False,
    report: str | None = None,
    url: str | None = None,
) -> int:
    from framework.commands.serve import command_config
    from framework.hooks.host import build_host
    from framework.monitoring.collect import production_version
    from framework.retraining.journal import acted_on
    from framework.retraining.promotion import check_margin
    from framework.retraining.triggers import Trigger, fired_triggers

    cfg = command_config(overrides)
    policy = cfg.retrain
    check_margin(float(policy.min_improvement))
    host = build_host(cfg, ["registry", "store", "tracker", "source"])
    production = production_version(cfg, host.hook)
    report_path, report_body = monitor_report(cfg, report)
    fired = fired_triggers(policy.triggers, report_body, production.created_at, datetime.now(UTC))
    if if_needed and not fired:
        said = f"the report {report_path}" if report_path else "no monitor report"
        print(f"no retraining needed: no trigger fired ({said}; production v{production.version})")
        return 0
    state = Path(str(cfg.paths.state)).resolve()
    if if_needed:
        earlier = acted_on(state, file_sha256(report_path), int(production.version))
        if earlier is not None:
            said = f"the report {report_path}" if report_path else "no monitor report"
            print(
                f"no retraining needed: retrain {earlier['id']} already acted on {said} for "
                f"production v{production.version} (outcome: {earlier.get('outcome')}); "
                "run `bucle monitor` for a new report"
            )
            return 0
    if not fired:
        fired = [Trigger("requested", "bucle retrain without --if-needed")]
    for trigger in fired:
        print(f"trigger {trigger.name}: {trigger.reason}")

    retrain_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    record: dict[str, Any] = {
        "id": retrain_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "production_before": int(production.version),
        "triggers": [{"name": t.name, "reason": t.reason} for t in fired],
        "report": str(report_path.resolve()) if report_path else None,
        "report_sha256": file_sha256(report_path),
        "outcome": "in progress",
    }
    try:
        training, counts = build_training_file(cfg, host, state / "retrain" / retrain_id)
        record.update(training=str(training), rows=counts, strategy=str(policy.data.strategy))
        print(
            f"training data ({policy.data.strategy}): {counts['original']} original + "
            f"{counts['production']} labelled production rows"
        )
        context = run_retraining(cfg, training, state / "retrain" / retrain_id, record)
        record["run_id"] = context.run_id
        verdict = gate_against_production(cfg, host, context, production, record)
        if not verdict:
            record["outcome"] = "lost the gate"
            return 1
        if not bool(policy.release):
            record["outcome"] = "candidate (retrain.release=false)"
            print(f"v{record['version']} is the candidate; release it with `bucle release`")
            return 0
        from framework.commands.release import release

        code = release(overrides, version=record["version"], url=url)
        record["outcome"] = "released" if code == 0 else "release refused or rolled back"
        return code
    except BucleError as error:
        record["outcome"] = f"failed: {error}"
        raise
    finally:
        record["ended_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        append_record(state, record)


def monitor_report(cfg: Any, given: str | None) -> tuple[Path | None, dict[str, Any] | None]:
    from framework.monitoring.report import latest_report

    path = Path(given) if given else latest_report(str(cfg.paths.state))
    if path is None:
        return None, None
    try:
        return path, json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BucleError(f"cannot read the monitor report {path}: {error}") from None


def file_sha256(path: Path | None) -> str | None:
    from framework.files import sha256_file

    return sha256_file(path) if path is not None and path.is_file() else None


def build_training_file(cfg: Any, host: Any, directory: Path) -> tuple[Path, dict[str, int]]:
    """Write the retraining table by the configured strategy; returns its path and counts."""
    from framework.files import write_with
    from framework.retraining.dataset import labelled_production_rows, training_table
    from framework.serving.app import inference_root

    target = str(cfg.data.target)
    root = inference_root(Path(str(cfg.paths.state)), str(cfg.serve.alias))
    production = labelled_production_rows(root, target)
    data = cfg.retrain.data
    original = host.hook.load_data(seed=int(cfg.seed))
    if data.strategy == "new_only":
        original = original.head(0)
    table, counts = training_table(
        str(data.strategy), original, production, int(data.window_rows), int(data.min_new_rows)
    )
    path = directory / "training.parquet"
    write_with(path, lambda temporary: table.to_parquet(temporary, index=False))
    return path, counts


def run_retraining(cfg: Any, training: Path, work: Path, record: dict[str, Any]) -> Any:
    """The whole pipeline on the retraining table, as a new tracked run with its lineage."""
    from omegaconf import OmegaConf

    from framework.commands.run import relocate
    from framework.config.compose import validate_config
    from framework.pipeline.runner import run_pipeline

    config = OmegaConf.to_container(cfg, resolve=True)
    config["data"] = {"name": "file", "path": str(training), "target": str(cfg.data.target)}
    config = relocate(config, work)
    tags = {
        "launcher": "bucle retrain",
        "retrain_id": record["id"],
        "triggers": ",".join(t["name"] for t in record["triggers"]),
        "monitor_report": record["report"] or "",
        "monitor_report_sha256": record["report_sha256"] or "",
        "production_before": str(record["production_before"]),
    }
    context = run_pipeline(validate_config(OmegaConf.create(config), "retrain config"), tags=tags)
    registration = json.loads(context.layout.registration.read_text())
    record["version"] = int(registration["version"])
    # "candidate": the gate passed and the alias moved; "passed": the gate passed but the current
    # candidate is better on the objective (the release below moves the alias if this one wins).
    passed = registration.get("gate_passed", registration.get("promoted_to") is not None)
    record["register_gate"] = registration.get("promoted_to") or ("passed" if passed else "failed")
    print(
        f"run {context.run_id}: {registration['model']} v{registration['version']} "
        f"(register gate: {record['register_gate']})"
    )
    return context


def gate_against_production(
    cfg: Any, host: Any, context: Any, production: Any, record: dict[str, Any]
) -> bool:
    """Score production's model on the new test rows; the candidate must beat it."""
    from framework.evaluation.metrics import positive_label, score
    from framework.evaluation.regression import regression_score
    from framework.modeling.artifact import load_model
    from framework.modeling.schema import prepare_inputs
    from framework.retraining.promotion import beats_production
    from framework.serving.models import load_version
    from framework.tables import read_table

    name, metric = str(cfg.project), str(cfg.retrain.gate_metric)
    test = read_table(context.layout.test)
    target = str(cfg.data.target)
    results = {}
    for who, bundle in (
        ("retrained", load_model(context.layout.model)),
        ("production", load_version(host, name, "production", production).bundle),
    ):
        inputs = prepare_inputs(test, bundle.schema)
        if bundle.regression:
            results[who] = regression_score(
                test[target].to_numpy(dtype=float), bundle.pipeline.predict(inputs)
            )
            continue
        proba = bundle.pipeline.predict_proba(inputs)
        classes = bundle.classes
        results[who] = score(
            test[target].to_numpy(),
            bundle.decide(proba),
            proba,
            classes,
            positive_label(classes, cfg.evaluate.positive_label),
        )
    new, old = results["retrained"].get(metric), results["production"].get(metric)
    if new is None or old is None:
        computed = ", ".join(sorted(results["retrained"]))
        raise BucleError(
            f"retrain.gate_metric={metric!r} could not be computed on the new test rows; "
            f"choose one of {computed}"
        )
    margin = float(cfg.retrain.min_improvement)
    record["gate"] = {"metric": metric, "retrained": new, "production": old, "margin": margin}
    better = beats_production(new, old, metric, margin)
    won = record["register_gate"] != "failed" and better
    said = (
        f"{metric} on the retrained run's {len(test)} test rows: v{record['version']} "
        f"{new:.4f} vs production v{production.version} {old:.4f}"
    )
    if won:
        print(f"gate: passed — {said}")
        return True
    why = (
        "the register gate failed"
        if record["register_gate"] == "failed"
        else f"{said}, not better by retrain.min_improvement={margin:g}"
    )
    print(f"gate: failed — {why}")
    if record["register_gate"] == "candidate":  # only the alias this retraining moved
        host.hook.delete_model_alias(name=name, alias="candidate")
    return False
