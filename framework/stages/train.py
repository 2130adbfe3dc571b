"""train: build preprocessing from the data's schema, fit the configured model, save with skops.

With ``evaluate.business.optimize_threshold`` (binary targets) it also picks the decision
threshold that earns the most, or with ``evaluate.threshold.optimize`` the one with the highest
recall at a precision floor (precision at a recall floor, or F1): out-of-fold predictions of
the training rows (3 seeded, stratified folds) are scored, and the best threshold is
saved in the model bundle, where evaluation and serving read it. The test rows are never used
for the choice, so the evaluate stage still grades the model on rows it has not been fitted to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from framework.errors import DataError
from framework.evaluation.metrics import plain, positive_label
from framework.evaluation.thresholds import ThresholdRule, threshold_rule
from framework.modeling.artifact import ModelBundle, save_model
from framework.modeling.estimator import build_estimator, build_pipeline
from framework.modeling.schema import infer_schema, prepare_inputs
from framework.modeling.task import check_model_task, describe_task
from framework.pipeline.context import RunContext
from framework.tables import read_table

#: Folds of the out-of-fold predictions the decision threshold is chosen on.
THRESHOLD_FOLDS = 3


def choose_threshold(
    pipeline: Any, inputs: Any, labels: Any, rule: ThresholdRule, positive: Any, seed: int
) -> float:
    """The threshold ``rule`` chooses on out-of-fold predictions of the training rows."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = np.asarray(labels)
    fewest = min(int((labels == label).sum()) for label in np.unique(labels))
    if fewest < THRESHOLD_FOLDS:
        raise DataError(
            f"{rule.key} needs at least {THRESHOLD_FOLDS} training rows "
            f"of each class, one per fold; the rarest class has {fewest} — set it to false or "
            "use more data"
        )
    folds = StratifiedKFold(n_splits=THRESHOLD_FOLDS, shuffle=True, random_state=seed)
    proba = cross_val_predict(clone(pipeline), inputs, labels, cv=folds, method="predict_proba")
    # cross_val_predict orders the columns as the estimator's classes_: the sorted labels.
    column = [plain(label) for label in np.unique(labels)].index(positive)
    return rule.choose(labels == positive, proba[:, column])


def run(context: RunContext) -> dict[str, Path]:
    features = context.cfg.features
    evaluate = context.cfg.evaluate
    train = read_table(context.layout.train)
    schema = infer_schema(
        train,
        context.target,
        list(features.exclude),
        dict(features.derived),
        str(context.cfg.task),
    )
    estimator = build_estimator(context.cfg.model, schema.task)
    target_text = f"data.target={context.target!r}: {describe_task(train[context.target])}"
    check_model_task(estimator, context.cfg.model.get("_target_"), schema.task, target_text)
    pipeline = build_pipeline(schema, estimator)
    inputs, labels = prepare_inputs(train, schema), train[context.target]
    threshold = positive = None
    if not schema.regression:
        positive = positive_label(schema.classes, evaluate.positive_label)
        rule = threshold_rule(evaluate, schema.classes, positive)
        if rule is not None:
            threshold = choose_threshold(pipeline, inputs, labels, rule, positive, context.seed)
    pipeline.fit(inputs, labels)
    bundle = ModelBundle(
        pipeline, schema, threshold, plain(positive) if threshold is not None else None
    )
    save_model(context.layout.model, bundle)
    return {"model": context.layout.model}
