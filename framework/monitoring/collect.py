"""Build the window a monitor run judges: production's version, its reference, its traffic.

The production version's reference profile and model come from the artifact store by the
sha256 its registry entry records, so monitoring needs neither the training data nor the
pipeline's working directory. The window is the production inference log (``--since`` a moment
or a duration, or the ``--last`` N rows) restricted to the rows that version answered; their
model inputs are rebuilt from the logged requests with the training feature code
(:func:`~framework.features.serving.model_inputs`), so drift is measured on exactly what the
model read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from framework.errors import ArtifactError, BucleError
from framework.monitoring.window import MonitorWindow

#: ``--since`` as a duration: 30m, 6h, 7d, 2w.
DURATION = re.compile(r"(\d+)\s*([mhdw])")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def window_start(since: str | None, now: datetime | None = None) -> datetime | None:
    """``--since`` as a UTC moment: ISO 8601 text, or a duration back from now (``6h``)."""
    if since is None:
        return None
    match = DURATION.fullmatch(since.strip())
    now = now or datetime.now(UTC)
    if match:
        return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise BucleError(
            f"--since {since!r} is neither a moment (2026-11-30T08:00) nor a duration "
            "(30m, 6h, 7d, 2w)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def production_version(cfg: Any, hook: Any) -> Any:
    name, alias = str(cfg.project), str(cfg.serve.alias)
    version = hook.get_model_alias(name=name, alias=alias)
    if version is None:
        raise BucleError(
            f"no version of model '{name}' has alias '{alias}'; monitoring watches the served "
            f"version: promote one with `bucle models promote VERSION --alias {alias}`"
        )
    return version


def load_reference(hook: Any, version: Any) -> Any:
    """The version's reference profile from the store, checked against its recorded sha256."""
    from framework.files import sha256_file
    from framework.monitoring.profile import ReferenceProfile

    sha256 = (version.lineage or {}).get("profile_sha256")
    if not sha256:
        raise ArtifactError(
            f"{version.name} v{version.version} was registered without a reference profile; "
            "run the pipeline again (bucle run, or dvc repro) and promote the new version"
        )
    path = hook.get_artifact(sha256=sha256)
    if path is None or not Path(path).is_file():
        raise ArtifactError(
            f"the reference profile of {version.name} v{version.version} (sha256 "
            f"{sha256[:12]}…) is not in the artifact store; check the store plugin"
        )
    if sha256_file(Path(path)) != sha256:
        raise ArtifactError(
            f"the reference profile of {version.name} v{version.version} at {path} does not "
            "match its registered sha256; restore it or register the model again"
        )
    return ReferenceProfile.load(path)


def collect_window(
    cfg: Any,
    host: Any,
    since: str | None = None,
    last: int | None = None,
    service_metrics: str | None = None,
) -> MonitorWindow:
    """Everything the monitors need about one window of production traffic."""
    import pandas as pd

    from framework.evaluation.metrics import positive_label
    from framework.serving.feedback import read_labels
    from framework.serving.inference_log import inference_root, read_inference_log
    from framework.serving.models import load_version

    version = production_version(cfg, host.hook)
    profile = load_reference(host.hook, version)
    model = load_version(host, str(cfg.project), str(cfg.serve.alias), version)
    root = inference_root(Path(str(cfg.paths.state)), str(cfg.serve.alias))
    log = read_inference_log(root, since=window_start(since))
    log = log[log["model_version"] == int(version.version)]
    if last is not None:
        if last < 1:
            raise BucleError(f"--last {last}: give a number of rows, at least 1")
        log = log.tail(last)
    log = log.reset_index(drop=True)
    inputs, unreadable = rebuild_inputs(log, model.bundle.schema)
    log = log.loc[inputs.index].reset_index(drop=True)
    inputs = inputs.reset_index(drop=True)
    classes = [str(label) for label in model.classes]
    probabilities = pd.DataFrame(
        [[row.get(label) for label in classes] for row in log["probabilities"]],
        columns=classes,
        dtype=float,
    )
    regression = model.regression
    labels = feedback_labels(read_labels(root), log, model.classes, regression)
    return MonitorWindow(
        model=version,
        profile=profile,
        baseline=dict(version.metrics or {}),
        log=log,
        inputs=inputs,
        predictions=pd.Series(list(log["prediction"]), dtype=object),
        probabilities=probabilities,
        labels=labels,
        unreadable=unreadable,
        start=log["timestamp"].min().isoformat() if len(log) else None,
        end=log["timestamp"].max().isoformat() if len(log) else None,
        service_metrics=service_metrics,
        positive_label=None
        if regression
        else positive_label(model.classes, cfg.evaluate.positive_label),
        classes=list(model.classes),
        task="regression" if regression else "classification",
    )


def rebuild_inputs(log: Any, schema: Any) -> tuple[Any, int]:
    """Model inputs of the logged requests; rows that cannot be rebuilt are counted, dropped.

    All rows go through the feature code at once; only when that fails (a request logged by an
    older version lacks a field this one reads) are rows tried one by one to find the bad ones.
    """
    import pandas as pd

    from framework.errors import DataError
    from framework.features.serving import model_inputs

    columns = [*schema.numeric, *schema.categorical]
    if log.empty:
        return pd.DataFrame(columns=columns), 0
    records = list(log["inputs"])
    try:
        frame = model_inputs(records, schema)
        frame.index = log.index
        return frame[columns], 0
    except DataError:
        pass
    good, rows = [], []
    for index, record in zip(log.index, records, strict=True):
        try:
            rows.append(model_inputs([record], schema))
            good.append(index)
        except DataError:
            continue
    if not rows:
        return pd.DataFrame(columns=columns), len(log)
    frame = pd.concat(rows, ignore_index=True)
    frame.index = good
    return frame[columns], len(log) - len(good)


def feedback_labels(feedback: Any, log: Any, classes: list[Any], regression: bool = False) -> Any:
    """The label of each window row where feedback arrived (missing elsewhere): a class, or
    for a regression model the actual value as a float.

    ``feedback`` is one label per request id as
    :func:`~framework.serving.feedback.resolve_labels` decides it (the latest correction, else
    the original), the same rule retraining reads labels by."""
    import pandas as pd

    by_text = {str(label): label for label in classes}
    if feedback.empty or log.empty:
        return pd.Series([None] * len(log), dtype=object)
    known = dict(zip(feedback["request_id"], feedback["label"], strict=True))

    def label(request_id: str) -> Any:
        if request_id not in known:
            return None
        if regression:
            return float(known[request_id])
        return by_text.get(str(known[request_id]))

    return pd.Series([label(rid) for rid in log["request_id"]], dtype=object)
