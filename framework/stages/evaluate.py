"""evaluate: score the model on the held-out rows; metrics.json and plot files for DVC.

Binary targets report precision, recall and F1 of the positive class; multiclass targets their
macro averages, and ROC AUC one-vs-rest, macro-averaged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from framework.errors import ConfigError
from framework.files import write_json, write_with
from framework.modeling.artifact import load_model
from framework.modeling.schema import prepare_inputs
from framework.pipeline import tracking
from framework.pipeline.context import RunContext
from framework.tables import read_table


def positive_label(classes: list[Any], configured: Any) -> Any:
    """The class binary metrics are about: configured, or the last in sorted order (1, yes)."""
    if configured is None:
        return classes[-1]
    for label in classes:
        if label == configured or str(label) == str(configured):
            return label
    raise ConfigError(
        f"evaluate.positive_label={configured!r} is not a class of the target; "
        f"classes: {', '.join(map(str, classes))}"
    )


def score(y_true: Any, y_pred: Any, proba: Any, classes: list[Any], positive: Any) -> dict:
    from sklearn import metrics

    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    extra = {"pos_label": positive} if binary else {}
    result = {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "precision": metrics.precision_score(
            y_true, y_pred, average=average, zero_division=0, **extra
        ),
        "recall": metrics.recall_score(y_true, y_pred, average=average, zero_division=0, **extra),
        "f1": metrics.f1_score(y_true, y_pred, average=average, zero_division=0, **extra),
    }
    if len(set(y_true)) == len(classes):
        if binary:
            column = classes.index(positive)
            result["roc_auc"] = metrics.roc_auc_score(y_true == positive, proba[:, column])
        else:
            result["roc_auc"] = metrics.roc_auc_score(
                y_true, proba, multi_class="ovr", average="macro", labels=classes
            )
    return {key: float(value) for key, value in result.items()}


def roc_points(y_true: Any, proba: Any, classes: list[Any], positive: Any) -> Any:
    """ROC curve points: of the positive class, or micro-averaged over classes."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_curve
    from sklearn.preprocessing import label_binarize

    if len(classes) == 2:
        truth, scores = (np.asarray(y_true) == positive), proba[:, classes.index(positive)]
    else:
        truth = label_binarize(y_true, classes=classes).ravel()
        scores = proba.ravel()
    fpr, tpr, thresholds = roc_curve(truth, scores)
    thresholds = np.clip(thresholds, 0.0, 1.0)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds}).round(6)


def run(context: RunContext) -> dict[str, Path]:
    import pandas as pd

    layout = context.layout
    bundle = load_model(layout.model)
    schema = bundle.schema
    test = read_table(layout.test)
    inputs = prepare_inputs(test, schema)
    y_true = test[context.target].to_numpy()
    y_pred = bundle.pipeline.predict(inputs)
    proba = bundle.pipeline.predict_proba(inputs)
    classes = [c.item() if hasattr(c, "item") else c for c in bundle.pipeline.classes_]
    positive = positive_label(classes, context.cfg.evaluate.positive_label)

    metrics = score(y_true, y_pred, proba, classes, positive)
    metrics["n_test"] = len(test)
    write_json(layout.metrics, metrics)
    confusion = pd.DataFrame({"actual": y_true.astype(str), "predicted": y_pred.astype(str)})
    write_with(layout.confusion_plot, lambda temporary: confusion.to_csv(temporary, index=False))
    roc = roc_points(y_true, proba, classes, positive)
    write_with(layout.roc_plot, lambda temporary: roc.to_csv(temporary, index=False))
    tracking.log_metrics(context, {k: v for k, v in metrics.items() if k != "n_test"})
    return {
        "metrics": layout.metrics,
        "confusion_plot": layout.confusion_plot,
        "roc_plot": layout.roc_plot,
    }
