"""Model metrics from labels, predictions and class probabilities, whole test set or one slice.

Binary targets report precision, recall and F1 of the positive class; multiclass targets their
macro averages, and ROC AUC and average precision (the area under the precision-recall curve)
one-vs-rest, macro-averaged. With a rare positive class (3% churners) ROC AUC stays high for a
model that finds few of them at a usable precision; average precision and the recall at a fixed
precision (:func:`framework.evaluation.thresholds.recall_at_precision`) say what it finds.
"""

from __future__ import annotations

import math
from typing import Any

from framework.errors import ConfigError

#: Every metric :func:`score` can compute, in report order.
METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc", "average_precision")


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (labels go into JSON and error messages)."""
    return value.item() if hasattr(value, "item") else value


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


def score(
    y_true: Any,
    y_pred: Any,
    proba: Any,
    classes: list[Any],
    positive: Any,
    undefined_as_none: bool = False,
) -> dict[str, float | None]:
    """Accuracy, precision, recall, F1 and (when every class is present) ROC AUC and average
    precision (PR-AUC, scikit-learn's ``average_precision_score``).

    For the whole test set an undefined precision or recall counts as 0 and ROC AUC is left out,
    as scikit-learn does by default. A slice is often small enough for a metric to be undefined
    (no churner among its rows: recall is 0/0), and a 0 there would name it the worst slice
    wrongly; with ``undefined_as_none`` such a metric is None (null in JSON) instead.
    """
    import numpy as np
    from sklearn import metrics
    from sklearn.preprocessing import label_binarize

    y_true = np.asarray(y_true)
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    extra: dict[str, Any] = {"pos_label": positive} if binary else {}
    zero_division: Any = np.nan if undefined_as_none else 0
    result: dict[str, float | None] = {"accuracy": float(metrics.accuracy_score(y_true, y_pred))}
    for name, function in (
        ("precision", metrics.precision_score),
        ("recall", metrics.recall_score),
        ("f1", metrics.f1_score),
    ):
        value = function(y_true, y_pred, average=average, zero_division=zero_division, **extra)
        result[name] = None if math.isnan(value) else float(value)
    if len(set(y_true.tolist())) == len(classes):
        if binary:
            column = classes.index(positive)
            auc = metrics.roc_auc_score(y_true == positive, proba[:, column])
            precision = metrics.average_precision_score(y_true == positive, proba[:, column])
        else:
            auc = metrics.roc_auc_score(
                y_true, proba, multi_class="ovr", average="macro", labels=classes
            )
            precision = metrics.average_precision_score(
                label_binarize(y_true, classes=classes), proba, average="macro"
            )
        result["roc_auc"] = float(auc)
        result["average_precision"] = float(precision)
    elif undefined_as_none:
        result["roc_auc"] = None
        result["average_precision"] = None
    return result
