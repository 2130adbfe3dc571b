"""Classification or regression: declared in config (``task``) or read off the target column.

``task: auto`` (the default) calls a target regression when it holds numbers that are not all
whole, or more than :data:`MAX_CLASSES` distinct whole numbers (units sold, a price in cents);
anything else is classification (a label, a yes/no, a handful of codes). A declared task that
the target contradicts is a one-line error naming both, as is a model of the other kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from framework.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

TASKS = ("auto", "classification", "regression")
CLASSIFICATION, REGRESSION = "classification", "regression"
#: A numeric target with more distinct values than this is a regression target under ``auto``.
MAX_CLASSES = 50
#: Regression models a mismatch error suggests, as ``model=`` options.
REGRESSION_MODELS = "auto, ridge, random_forest_regressor or hist_gradient_boosting_regressor"
CLASSIFICATION_MODELS = "auto, logreg, random_forest or hist_gradient_boosting"


def check_task(declared: str) -> str:
    if declared not in TASKS:
        raise ConfigError(f"task={declared!r} is not a task; use {', '.join(TASKS)}")
    return declared


def infer_task(target: pd.Series, name: str, declared: str = "auto") -> str:
    """The task for a target column, checked against the declared one."""
    import pandas as pd

    check_task(declared)
    values = target.dropna()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    whole = numeric and bool((values == values.round()).all())
    distinct = int(values.nunique())
    sample = repr(values.iloc[0].item() if hasattr(values.iloc[0], "item") else values.iloc[0])
    if declared == REGRESSION:
        if not numeric:
            raise DataError(
                f"task=regression but data.target={name!r} holds text (e.g. {sample}), not "
                "numbers; set task=classification or choose a numeric target"
            )
        return REGRESSION
    if declared == CLASSIFICATION:
        if numeric and not whole:
            raise DataError(
                f"task=classification but data.target={name!r} holds fractional numbers "
                f"(a regression target, e.g. {sample}); set task=regression or task=auto"
            )
        if numeric and distinct > MAX_CLASSES:
            raise DataError(
                f"task=classification but data.target={name!r} holds {distinct} distinct numbers "
                f"(more than {MAX_CLASSES} classes: a regression target); set task=regression "
                "or task=auto"
            )
        return CLASSIFICATION
    if numeric and (not whole or distinct > MAX_CLASSES):
        return REGRESSION
    return CLASSIFICATION


def describe_task(target: pd.Series) -> str:
    """What a target holds, for error messages: ``numeric, 812 distinct values``."""
    import pandas as pd

    values = target.dropna()
    kind = "numeric" if pd.api.types.is_numeric_dtype(values) else "text"
    return f"{kind}, {values.nunique()} distinct values"


def check_model_task(estimator: Any, model_target: Any, task: str, target_text: str) -> None:
    """A classifier for a regression target, or the reverse, is a config error naming both."""
    from sklearn.base import is_classifier, is_regressor

    if task == REGRESSION and not is_regressor(estimator):
        raise ConfigError(
            f"model {model_target} is a classifier but the task is regression ({target_text}); "
            f"choose model={REGRESSION_MODELS}, or set task=classification"
        )
    if task == CLASSIFICATION and not is_classifier(estimator):
        raise ConfigError(
            f"model {model_target} is a regressor but the task is classification "
            f"({target_text}); choose model={CLASSIFICATION_MODELS}, or set task=regression"
        )
