"""train: build preprocessing from the data's schema, fit the configured model, save with skops.

With ``evaluate.business.optimize_threshold`` (binary targets) it also picks the decision
threshold that earns the most: out-of-fold predictions of the training rows (3 seeded, stratified
folds) are scored against the cell values of ``evaluate.business``, and the best threshold is
saved in the model bundle, where evaluation and serving read it. The test rows are never used
for the choice, so the evaluate stage still grades the model on rows it has not been fitted to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from framework.errors import DataError
from framework.evaluation.business import Economics, best_threshold, economics
from framework.evaluation.metrics import plain, positive_label
from framework.modeling.artifact import ModelBundle, save_model
from framework.modeling.estimator import build_estimator, build_pipeline
from framework.modeling.schema import infer_schema, prepare_inputs
from framework.modeling.task import check_model_task, describe_task
from framework.pipeline.context import RunContext
from framework.tables import read_table

#: Folds of the out-of-fold predictions the decision threshold is chosen on.
THRESHOLD_FOLDS = 3


def choose_threshold(
    pipeline: Any, inputs: Any, labels: Any, econ: Economics, positive: Any, seed: int
) -> float:
    """The value-maximising threshold on out-of-fold predictions of the training rows."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = np.asarray(labels)
    fewest = min(int((labels == label).sum()) for label in econ.classes)
    if fewest < THRESHOLD_FOLDS:
        raise DataError(
            f"evaluate.business.optimize_threshold needs at least {THRESHOLD_FOLDS} training rows "
            f"of each class, one per fold; the rarest class has {fewest} — set it to false or "
            "use more data"
        )
    folds = StratifiedKFold(n_splits=THRESHOLD_FOLDS, shuffle=True, random_state=seed)
    proba = cross_val_predict(clone(pipeline), inputs, labels, cv=folds, method="predict_proba")
    # cross_val_predict orders the columns as the estimator's classes_: the sorted labels.
    column = [plain(label) for label in np.unique(labels)].index(positive)
    return best_threshold(labels == positive, proba[:, column], econ, positive)


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
        econ = economics(evaluate.business, schema.classes, positive)
        if econ is not None and econ.optimize_threshold:
            threshold = choose_threshold(pipeline, inputs, labels, econ, positive, context.seed)
    pipeline.fit(inputs, labels)
    bundle = ModelBundle(
        pipeline, schema, threshold, plain(positive) if threshold is not None else None
    )
    save_model(context.layout.model, bundle)
    return {"model": context.layout.model}
