"""register: store the model by content, record a version with lineage and a model card, gate.

The ``candidate`` alias means "the best challenger so far": it moves to the new version only when
every threshold in ``evaluate.gate`` passes and, per metric in ``evaluate.slice_gate``, its lowest
value over the ranked slices (``slice_worst_<metric>`` from the evaluate stage) does too, *and*
the version beats the current candidate on ``objective`` (metric and direction) — an exact tie
keeps the current one. A run that reproduces another (``bucle runs reproduce``) may register a
version but never moves an alias. ``registration.json`` records the decision and its reason
(``candidate``), so a sweep's jobs, whichever order they finish in, leave the candidate at the
best of them. This stage also closes the run in the trackers: under ``dvc repro`` it is the one
stage that sees every upstream output.

Every new version gets a model card (``reports/model_card.md``), stored by sha256 in the
artifact store with the hash in the version's lineage (``model_card_sha256``). The card names
its version, so the number is worked out before registering: the version that already holds the
artifact, else one past the newest (registries number versions 1, 2, 3 … per model).
Registering the same artifact again changes nothing in the registry, and writes that version's
stored card back to ``reports/model_card.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from framework.errors import ArtifactError, ConfigError
from framework.evaluation.business import CELLS, is_configured
from framework.evaluation.metrics import METRIC_NAMES
from framework.evaluation.model_card import CardFacts, render_model_card
from framework.evaluation.regression import LOWER_IS_BETTER, REGRESSION_METRICS
from framework.evaluation.slices import check_slice_config, worst_key
from framework.files import exclusive_lock, sha256_file, sha256_text, write_json, write_text
from framework.pipeline import tracking
from framework.pipeline.context import RunContext
from framework.pipeline.manifest import config_hash, git_state
from framework.records import ModelVersion

CANDIDATE = "candidate"


#: Metrics a gate may name that only the other task computes.
OTHER_TASK_METRICS = {
    "classification": frozenset(REGRESSION_METRICS),
    "regression": frozenset(METRIC_NAMES),
}


def check_gate(
    metrics: dict[str, float], gate: dict[str, float], task: str = "classification"
) -> dict[str, dict[str, Any]]:
    """Each gated metric with its value, its bound and whether it passed.

    The bound is a minimum, or a maximum for an error metric (MAE, RMSE, MAPE). A gate entry
    for the other task's metric (``roc_auc`` when the task is regression) does not apply: it
    is recorded as such and neither passes nor fails, so one ``evaluate.gate`` serves both.
    """
    results: dict[str, dict[str, Any]] = {}
    for name, bound in gate.items():
        if name not in metrics:
            if name in OTHER_TASK_METRICS[task]:
                results[name] = {"value": None, "passed": True, "applies": False}
                continue
            available = ", ".join(sorted(k for k in metrics if k != "n_test"))
            raise ConfigError(
                f"evaluate.gate.{name}: no metric '{name}' was computed; metrics: {available}"
            )
        results[name] = bounded(float(metrics[name]), name, float(bound))
    return results


def bounded(value: float | None, name: str, bound: float) -> dict[str, Any]:
    """``{"value", "minimum" | "maximum", "passed"}`` for one gated metric."""
    if name in LOWER_IS_BETTER:
        passed = value is not None and value <= bound
        return {"value": value, "maximum": bound, "passed": passed}
    return {"value": value, "minimum": bound, "passed": value is not None and value >= bound}


def check_slice_gate(
    metrics: dict[str, Any], gate: dict[str, float], slices: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Each slice-gated metric: its worst value over the ranked slices, which slice, passed.

    No ranked slice with a value (every slice smaller than ``evaluate.min_slice_size``) is a
    failure, not a pass: the gate was asked to vouch for every slice and cannot.
    """
    results = {}
    lowest = (slices or {}).get("lowest") or {}
    for name, minimum in gate.items():
        value = metrics.get(worst_key(name))
        entry = lowest.get(name)
        where = f"{entry['column']}={entry['value']}" if entry else None
        value = None if value is None else float(value)
        results[name] = {**bounded(value, name, float(minimum)), "slice": where}
    return results


def candidate_decision(
    number: int,
    metrics: dict[str, float],
    current: ModelVersion | None,
    objective: Any,
    gate_passed: bool,
    reproduces: str | None,
) -> tuple[bool, str]:
    """Whether ``candidate`` moves to version ``number`` (with ``metrics``), and why, in words.

    ``current`` is the version the alias points at now (None when unset); ``objective`` holds
    ``metric`` and ``direction``. Strictly better only: a tie is not a reason to churn the alias.
    """
    if not gate_passed:
        return False, "the gate failed"
    if reproduces:
        return False, f"this run reproduces {reproduces}; reproducing never moves an alias"
    if current is None:
        return True, "no candidate yet"
    if current.version == number:
        return True, f"v{number} is already the candidate"
    metric, direction = str(objective.metric), str(objective.direction)
    if direction not in ("maximize", "minimize"):
        raise ConfigError(
            f"objective.direction={direction!r} is not a direction; use maximize or minimize"
        )
    new, old = metrics.get(metric), current.metrics.get(metric)
    if new is None:
        return False, (
            f"objective.metric={metric!r} was not computed for v{number}, so it cannot "
            f"be compared with candidate v{current.version}; set objective.metric"
        )
    if old is None:
        return True, f"candidate v{current.version} has no {metric} to compare"
    better = new > old if direction == "maximize" else new < old
    said = f"{metric} {new:.4f} vs candidate v{current.version} {old:.4f} ({direction})"
    if better:
        return True, f"better on the objective: {said}"
    return False, f"not better on the objective: {said}; the candidate stays"


def read_json(path: Path) -> dict[str, Any] | None:
    """A report another stage wrote, or None when it is absent or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def card_facts(
    context: RunContext,
    version: int,
    aliases: list[str],
    lineage: dict[str, Any],
    metrics: dict[str, Any],
    gate: dict[str, Any],
    slice_gate: dict[str, Any],
    slices: dict[str, Any] | None,
    promoted: bool,
) -> CardFacts:
    """Gather what the card says from the config, the model bundle and the stage reports."""
    from framework.modeling.artifact import load_model

    cfg, layout = context.cfg, context.layout
    data = context.recorded_config()["data"]
    business = cfg.evaluate.business
    economics = None
    if is_configured(business) or float(business.over) or float(business.under):
        economics = {
            "currency": business.currency,
            "period": business.period,
            "population": int(business.population),
            "optimize_threshold": bool(business.optimize_threshold),
            "cells": {name: float(business[name]) for name in CELLS} if not business.matrix else {},
        }
        if "business_quantile" in metrics:  # regression: value per unit over and under
            economics["cells"] = {}
            economics["per_unit"] = [float(business.over), float(business.under)]
    card = cfg.evaluate.model_card
    return CardFacts(
        name=context.project,
        version=version,
        aliases=aliases,
        owner=str(card.owner),
        intended_use=str(card.intended_use),
        limitations=str(card.limitations),
        source=data,
        target=context.target,
        schema=load_model(layout.model).schema.to_dict(),
        metrics=metrics,
        gate=gate,
        slice_gate=slice_gate,
        promoted=promoted,
        lineage=lineage,
        validation=read_json(layout.validation_report),
        featurize=read_json(layout.reports / "featurize.json"),
        slices=slices,
        business=economics,
    )


def store_profile(context: RunContext) -> str | None:
    """Keep the evaluate stage's reference profile in the artifact store; returns its sha256.

    Monitoring finds it through the version's lineage, so it needs neither this working
    directory nor the training data.
    """
    path = context.layout.profile
    if not path.is_file():
        return None
    sha256 = sha256_file(path)
    if context.host.hook.put_artifact(path=path, sha256=sha256) is None:
        raise ArtifactError(f"store plugin '{context.cfg.store.name}' did not store {path}")
    return sha256


def store_card(context: RunContext, text: str) -> str:
    """Write the card to reports/ and keep it in the artifact store; returns its sha256."""
    path = write_text(context.layout.model_card, text)
    sha256 = sha256_text(text)
    if context.host.hook.put_artifact(path=path, sha256=sha256) is None:
        raise ArtifactError(f"store plugin '{context.cfg.store.name}' did not store {path}")
    return sha256


def stored_card(context: RunContext, version: ModelVersion) -> str | None:
    """The card recorded for ``version``, or None when it has none or the store lost it."""
    sha256 = version.lineage.get("model_card_sha256")
    if not sha256:
        return None
    try:
        return Path(context.host.hook.get_artifact(sha256=sha256)).read_text(encoding="utf-8")
    except ArtifactError:
        return None


def run(context: RunContext) -> dict[str, Path]:
    layout = context.layout
    evaluate = context.cfg.evaluate
    slices = read_json(layout.slices)
    task = (slices or {}).get("task", "classification")
    check_slice_config(evaluate, task)
    metrics = json.loads(layout.metrics.read_text())
    gate = check_gate(metrics, dict(evaluate.gate), task)
    slice_gate = check_slice_gate(metrics, dict(evaluate.slice_gate), slices)
    promoted = all(result["passed"] for result in [*gate.values(), *slice_gate.values()])
    sha256 = sha256_file(layout.model)
    uri = context.host.hook.put_artifact(path=layout.model, sha256=sha256)
    if uri is None:
        raise ArtifactError(f"store plugin '{context.cfg.store.name}' did not store {layout.model}")
    train_sha = sha256_file(layout.train) if layout.train.is_file() else None
    profile_sha = store_profile(context)
    git = git_state()
    lineage = {
        "artifact_uri": uri,
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "config_sha256": config_hash(context.recorded_config()),
        "data_sha256": train_sha,
        "model_target": context.cfg.model.get("_target_"),
        "profile_sha256": profile_sha,
    }
    numeric = {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }

    def card(number: int, aliases: list[str], card_lineage: dict[str, Any], run_id: str) -> str:
        card_lineage = {**card_lineage, "run_id": run_id, "artifact_sha256": sha256}
        facts = card_facts(
            context, number, aliases, card_lineage, metrics, gate, slice_gate, slices, promoted
        )
        return render_model_card(facts)

    # The card names the version number before the registry assigns it: parallel sweep jobs on
    # this machine take turns between reading the numbers and registering.
    with exclusive_lock(Path(context.cfg.paths.state) / "register.lock"):
        versions = context.host.hook.list_model_versions(name=context.project) or []
        already = next((v for v in versions if v.sha256 == sha256), None)
        number = already.version if already else max((v.version for v in versions), default=0) + 1
        # Decided under the lock: parallel sweep jobs compare against each other's outcome.
        current = context.host.hook.get_model_alias(name=context.project, alias=CANDIDATE)
        moved, reason = candidate_decision(
            number,
            numeric,
            current,
            context.cfg.objective,
            promoted,
            context.tags.get("reproduces"),
        )
        if already is None:
            text = card(number, [CANDIDATE] if moved else [], lineage, context.run_id)
            lineage["model_card_sha256"] = store_card(context, text)
        version = context.host.hook.register_model(
            name=context.project,
            sha256=sha256,
            run_id=context.run_id,
            lineage=lineage,
            metrics=numeric,
        )
        if moved and (current is None or current.version != version.version):
            version = context.host.hook.set_model_alias(
                name=context.project, alias=CANDIDATE, version=version.version
            )
    if already is None and version.version != number:
        print(
            f"bucle: warning: the registry numbered {context.project} version {version.version}, "
            f"not {number}; its model card names version {number}",
            file=sys.stderr,
        )
    if already is not None:
        text = stored_card(context, already)
        if text is None:
            # Registered before model cards existed, or the store lost the card: describe the
            # version from today's reports, without recording it (a version never changes).
            text = card(already.version, list(already.aliases), already.lineage, already.run_id)
        write_text(layout.model_card, text)
    if moved:
        print(f"bucle: v{version.version} is the candidate: {reason}", file=sys.stderr)
    elif promoted:
        print(
            f"bucle: v{version.version} registered, candidate unchanged: {reason}", file=sys.stderr
        )
    context.host.hook.on_model_registered(version=version, context=context, promoted=moved)
    # DVC tracks the verdict, which only data, config and code decide; the registration record
    # (version number, alias moves, registering run) is the registry's state, kept out of DVC.
    write_json(
        layout.gate,
        {
            "model": context.project,
            "sha256": sha256,
            "gate": gate,
            "slice_gate": slice_gate,
            "gate_passed": promoted,
        },
    )
    write_json(
        layout.registration,
        {
            "model": context.project,
            "version": version.version,
            "sha256": sha256,
            "run_id": version.run_id,
            "gate": gate,
            "slice_gate": slice_gate,
            "gate_passed": promoted,
            "promoted_to": CANDIDATE if moved else None,
            "candidate": {"moved": moved, "reason": reason},
            "model_card_sha256": version.lineage.get("model_card_sha256"),
        },
    )
    tracking.finish(context, "finished")
    return {
        "gate": layout.gate,
        "registration": layout.registration,
        "model_card": layout.model_card,
    }
