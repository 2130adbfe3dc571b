"""Per-slice metrics: the model's metrics for each value of a column, and the worst slice named.

An overall metric hides who the model fails: a churn model can find 80% of churners overall and
a third of them in one region. ``evaluate.slices`` names the columns to cut the test rows by
(``region``, or a derived ``age_band``); every value of each column is a slice with its size and
metrics. The worst slice is the one with the lowest ``evaluate.slice_metric`` among slices with
at least ``evaluate.min_slice_size`` rows (a metric on a handful of rows is noise, not a
finding). ``evaluate.slice_gate`` sets a minimum on the lowest value of a metric over those
slices, and the register stage moves the ``candidate`` alias only when it holds.

For regression the metrics are errors (MAE, RMSE, MAPE; R² too): for an error the worst slice
is the one with the *highest* value, and the slice gate's number is a maximum.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from framework.errors import ConfigError
from framework.evaluation.metrics import METRIC_NAMES, score
from framework.evaluation.regression import LOWER_IS_BETTER, REGRESSION_METRICS, regression_score

if TYPE_CHECKING:
    import pandas as pd

#: A column with more distinct values than this is not a slice column: too many, too small.
MAX_SLICE_VALUES = 20
#: The slice of rows where the column is missing.
MISSING = "(missing)"
#: metrics.json key of the lowest value of ``metric`` over the ranked slices.
WORST_KEY = "slice_worst_{metric}"


def worst_key(metric: str) -> str:
    return WORST_KEY.format(metric=metric)


#: The slice metric when ``evaluate.slice_metric`` is null, by task.
DEFAULT_SLICE_METRIC = {"classification": "recall", "regression": "mae"}


def slice_metric_of(evaluate: Any, task: str = "classification") -> str:
    """``evaluate.slice_metric``, or the task's default when it is null."""
    return str(evaluate.slice_metric or DEFAULT_SLICE_METRIC[task])


def check_slice_config(evaluate: Any, task: str = "classification") -> None:
    """Fail early, in one line, on a slice metric or gate that names no metric we compute."""
    names = REGRESSION_METRICS if task == "regression" else METRIC_NAMES
    choices = ", ".join(names)
    if slice_metric_of(evaluate, task) not in names:
        raise ConfigError(
            f"evaluate.slice_metric={evaluate.slice_metric!r} is not a {task} metric; "
            f"choose one of {choices}"
        )
    for name in evaluate.slice_gate:
        if name not in names:
            raise ConfigError(
                f"evaluate.slice_gate.{name}: no slice metric '{name}'; choose from {choices}"
            )
    if evaluate.slice_gate and not evaluate.slices:
        raise ConfigError(
            "evaluate.slice_gate is set but evaluate.slices is empty; name the columns to slice "
            "by, e.g. evaluate.slices=[region]"
        )
    if int(evaluate.min_slice_size) < 1:
        raise ConfigError(
            f"evaluate.min_slice_size={evaluate.min_slice_size} must be at least 1, e.g. 30"
        )


def slice_keys(frame: pd.DataFrame, column: str) -> pd.Series:
    """Each row's slice of ``column`` as text: ``west``, ``2`` (not ``2.0``), ``(missing)``.

    A column that is absent, or has too many values to read as slices, is a ConfigError.
    """
    import pandas as pd

    if column not in frame.columns:
        close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"evaluate.slices: no column '{column}' in the test rows{hint}; "
            f"columns: {', '.join(map(str, frame.columns))}"
        )
    series = frame[column]
    distinct = series.dropna().nunique()
    if distinct > MAX_SLICE_VALUES:
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        fix = (
            f"bucket it into a few bands with a derived feature, e.g. features.derived."
            f"{column}_band='bucket({column}, ...)', and slice by that"
            if numeric
            else "slice by a column with fewer values"
        )
        raise ConfigError(
            f"evaluate.slices: column '{column}' has {distinct} distinct values (more than "
            f"{MAX_SLICE_VALUES} slices); {fix}"
        )
    keys = series.astype(object).map(_key)
    return keys.where(series.notna(), MISSING)


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value.item() if hasattr(value, "item") else value)


def _order(key: str) -> tuple[int, float, str]:
    """Missing last; numbers in numeric order; text alphabetically."""
    if key == MISSING:
        return (2, 0.0, key)
    try:
        return (0, float(key), key)
    except ValueError:
        return (1, 0.0, key)


def slice_report(
    frame: pd.DataFrame,
    columns: Sequence[str],
    y_true: Any,
    y_pred: Any,
    proba: Any,
    classes: list[Any],
    positive: Any,
    metric: str,
    min_size: int,
    ranked_metrics: Sequence[str] = (),
    task: str = "classification",
) -> dict[str, Any]:
    """The content of ``reports/slices.json``.

    ``columns`` maps each column to its slices (value → size, ``ranked`` and every metric, null
    where undefined: roc_auc of a slice with one class, recall of a slice without positives).
    ``worst`` is the ranked slice with the worst ``metric`` (lowest; highest for an error);
    ``lowest`` holds the same for each metric in ``ranked_metrics`` (those the slice gate
    checks), worst first by the same rule. Either is null when no slice has ``min_size`` rows
    and a defined value. For regression ``proba`` and ``classes`` are unused.
    """
    import numpy as np

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    proba = None if proba is None else np.asarray(proba)
    keys = {column: slice_keys(frame, column).to_numpy() for column in columns}
    report_columns: dict[str, dict[str, Any]] = {}
    for column, column_keys in keys.items():
        slices: dict[str, Any] = {}
        for key in sorted(set(column_keys.tolist()), key=_order):
            rows = column_keys == key
            size = int(rows.sum())
            if task == "regression":
                values = regression_score(y_true[rows], y_pred[rows], undefined_as_none=True)
            else:
                values = score(
                    y_true[rows],
                    y_pred[rows],
                    proba[rows],
                    classes,
                    positive,
                    undefined_as_none=True,
                )
            slices[key] = {"size": size, "ranked": size >= min_size, **values}
        report_columns[column] = slices
    lowest = {
        name: _lowest(report_columns, name) for name in dict.fromkeys([metric, *ranked_metrics])
    }
    return {
        "metric": metric,
        "min_slice_size": int(min_size),
        "columns": report_columns,
        "worst": lowest[metric],
        "lowest": lowest,
    }


def _lowest(columns: dict[str, dict[str, Any]], metric: str) -> dict[str, Any] | None:
    """The ranked slice with the worst defined ``metric`` (the lowest, or the highest for an
    error metric); the first one on a tie."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    found = None
    for column, slices in columns.items():
        for key, entry in slices.items():
            value = entry.get(metric)
            if not entry["ranked"] or value is None:
                continue
            if found is None or sign * value < sign * found[metric]:
                found = {"column": column, "value": key, "size": entry["size"], metric: value}
    return found


def worst_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The metrics.json entries: ``slice_worst_<metric>`` for each ranked metric with a value."""
    return {
        worst_key(name): float(entry[name])
        for name, entry in report.get("lowest", {}).items()
        if entry is not None
    }


def describe(entry: dict[str, Any] | None, metric: str) -> str:
    """``region=west (95 rows): recall 0.3158`` for reports and cards."""
    if entry is None:
        return "none (no slice has enough rows and a defined value)"
    return (
        f"{entry['column']}={entry['value']} ({entry['size']} rows): {metric} {entry[metric]:.4f}"
    )
