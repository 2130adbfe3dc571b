"""evaluate: score the model on the held-out rows, for every audience, in files DVC tracks.

- the data scientist: accuracy, precision, recall, F1, ROC AUC, average precision and the recall
  at each precision floor of ``evaluate.recall_at_precision`` (``reports/metrics.json``), the
  confusion matrix and ROC curve (``reports/plots/``);
- the domain expert: the same metrics per slice of ``evaluate.slices`` and the worst slice named
  (``reports/slices.json``; ``slice_worst_<metric>`` in metrics.json);
- monitoring: the reference profile production traffic is compared with
  (``reports/profile.json``, :func:`reference_profile`);
- the business: the value per period of the model's decisions, the no-model baseline and the
  uplift (``business_value*`` in metrics.json), at the decision threshold the model carries
  (``decision_threshold``).

Binary targets report precision, recall and F1 of the positive class; multiclass targets their
macro averages, and ROC AUC one-vs-rest, macro-averaged. Regression models report MAE, RMSE, R²
and MAPE, predicted-vs-actual and residual plots, per-slice errors, and the money in over- and
under-prediction (:mod:`framework.evaluation.regression`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from framework.evaluation.business import (
    business_metrics,
    confusion_counts,
    economics,
    value_of,
)
from framework.evaluation.metrics import positive_label, score
from framework.evaluation.regression import (
    plot_tables,
    regression_business,
    regression_economics,
    regression_score,
)
from framework.evaluation.slices import (
    check_slice_config,
    slice_metric_of,
    slice_report,
    worst_metrics,
)
from framework.evaluation.thresholds import operating_metrics
from framework.files import write_json, write_text, write_with
from framework.modeling.artifact import load_model
from framework.modeling.schema import prepare_inputs
from framework.pipeline import tracking
from framework.pipeline.context import RunContext
from framework.tables import read_table

#: The decision threshold of a binary model that keeps the estimator's own rule.
DEFAULT_THRESHOLD = 0.5


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


def reference_profile(
    layout: Any, bundle: Any, test: Any, y_pred: Any, proba: Any, positive: Any
) -> Any:
    """The monitoring reference: model inputs of the training rows, predictions of the test rows.

    Inputs are profiled on the rows the model learned from; predictions on held-out rows,
    because a model is overconfident on its own training rows and production traffic is
    held-out data. A binary model profiles its positive-class probability only (the other is
    its complement).
    """
    import pandas as pd

    from framework.monitoring.profile import build_profile

    schema = bundle.schema
    train = prepare_inputs(read_table(layout.train), schema)
    profile = build_profile(train, list(schema.numeric), list(schema.categorical))
    classes = [str(label) for label in bundle.classes]
    probabilities = pd.DataFrame(proba, columns=classes)
    if len(classes) == 2:
        probabilities = probabilities[[str(positive)]]
    predicted = build_profile(
        test.iloc[:, :0], [], [], predictions=list(y_pred), probabilities=probabilities
    )
    profile.predictions = predicted.predictions
    profile.probabilities = predicted.probabilities
    return profile


def write_scores(
    context: RunContext,
    test: Any,
    task: str,
    metrics: dict[str, Any],
    y_true: Any,
    y_pred: Any,
    proba: Any = None,
    classes: list[Any] | None = None,
    positive: Any = None,
) -> None:
    """Score every slice, then write metrics.json and slices.json and stream the metrics."""
    evaluate = context.cfg.evaluate
    metric = slice_metric_of(evaluate, task)
    report = slice_report(
        test,
        list(evaluate.slices),
        y_true,
        y_pred,
        proba,
        list(classes or []),
        positive,
        metric,
        int(evaluate.min_slice_size),
        list(dict.fromkeys([metric, *evaluate.slice_gate])),
        task=task,
    )
    metrics.update(worst_metrics(report))
    write_json(context.layout.metrics, metrics)
    # Not write_json: its sorted keys would put "(missing)" first and the columns out of the
    # configured order; people read this file top to bottom.
    write_text(context.layout.slices, json.dumps({"task": task, **report}, indent=2) + "\n")
    tracking.log_metrics(context, {k: float(v) for k, v in metrics.items() if k != "n_test"})


def run(context: RunContext) -> dict[str, Path]:
    layout = context.layout
    bundle = load_model(layout.model)
    test = read_table(layout.test)
    inputs = prepare_inputs(test, bundle.schema)
    if bundle.regression:
        return run_regression(context, bundle, test, inputs)
    return run_classification(context, bundle, test, inputs)


def run_regression(context: RunContext, bundle: Any, test: Any, inputs: Any) -> dict[str, Path]:
    """Error metrics, plots, slices, money and the reference profile of a regression model."""
    import numpy as np

    from framework.monitoring.profile import build_profile, numeric_profile

    layout = context.layout
    evaluate = context.cfg.evaluate
    check_slice_config(evaluate, "regression")
    y_true = test[context.target].to_numpy(dtype=float)
    y_pred = np.asarray(bundle.predict(inputs), dtype=float)
    metrics: dict[str, Any] = dict(regression_score(y_true, y_pred))
    metrics["n_test"] = len(test)
    train = read_table(layout.train)
    econ = regression_economics(evaluate.business)
    if econ is not None:
        naive = float(train[context.target].mean())
        metrics.update(regression_business(y_true, y_pred, naive, econ))

    write_scores(context, test, "regression", metrics, y_true, y_pred)
    versus, residuals = plot_tables(y_true, y_pred)
    write_with(layout.predicted_plot, lambda temporary: versus.to_csv(temporary, index=False))
    write_with(layout.residual_plot, lambda temporary: residuals.to_csv(temporary, index=False))
    schema = bundle.schema
    profile = build_profile(
        prepare_inputs(train, schema), list(schema.numeric), list(schema.categorical)
    )
    profile.predictions = numeric_profile("prediction", y_pred)
    profile.target = numeric_profile(context.target, train[context.target])
    profile.save(layout.profile)
    return {
        "profile": layout.profile,
        "metrics": layout.metrics,
        "slices": layout.slices,
        "predicted_plot": layout.predicted_plot,
        "residual_plot": layout.residual_plot,
    }


def run_classification(context: RunContext, bundle: Any, test: Any, inputs: Any) -> dict[str, Path]:
    """Class metrics, confusion matrix, ROC, slices, money and the reference profile."""
    import pandas as pd

    layout = context.layout
    evaluate = context.cfg.evaluate
    check_slice_config(evaluate)
    y_true = test[context.target].to_numpy()
    proba = bundle.pipeline.predict_proba(inputs)
    classes = bundle.classes
    positive = positive_label(classes, evaluate.positive_label)
    econ = economics(evaluate.business, classes, positive)
    y_pred = bundle.decide(proba)

    metrics: dict[str, Any] = dict(score(y_true, y_pred, proba, classes, positive))
    metrics.update(operating_metrics(y_true, proba, classes, positive, evaluate))
    metrics["n_test"] = len(test)
    if len(classes) == 2:
        threshold = bundle.decision_threshold
        metrics["decision_threshold"] = DEFAULT_THRESHOLD if threshold is None else threshold
    if econ is not None:
        metrics.update(business_metrics(y_true, y_pred, econ, positive))
        if bundle.decision_threshold is not None:
            # What the estimator's own rule would earn on the same rows, for comparison.
            default = confusion_counts(y_true, bundle.pipeline.predict(inputs), classes)
            metrics["business_value_default_threshold"] = value_of(default, econ)["per_period"]

    write_scores(context, test, "classification", metrics, y_true, y_pred, proba, classes, positive)
    confusion = pd.DataFrame({"actual": y_true.astype(str), "predicted": y_pred.astype(str)})
    write_with(layout.confusion_plot, lambda temporary: confusion.to_csv(temporary, index=False))
    roc = roc_points(y_true, proba, classes, positive)
    write_with(layout.roc_plot, lambda temporary: roc.to_csv(temporary, index=False))
    reference_profile(layout, bundle, test, y_pred, proba, positive).save(layout.profile)
    return {
        "profile": layout.profile,
        "metrics": layout.metrics,
        "slices": layout.slices,
        "confusion_plot": layout.confusion_plot,
        "roc_plot": layout.roc_plot,
    }
