"""Regression evaluation: error metrics, the plots DVC draws, and the money in over- and
under-prediction.

Metrics: MAE, RMSE, R² and MAPE (only when no actual value is zero: a percentage of zero is
undefined, and scikit-learn's epsilon turns it into a huge number instead). For MAE, RMSE and
MAPE lower is better; :data:`LOWER_IS_BETTER` is what gates, slices and sweeps read.

Business value: ``evaluate.business.over`` and ``under`` are the value of one unit predicted
above or below the actual (negative for a cost: a unit stocked and not sold, a sale lost for
want of stock). Per period::

    population x mean over test rows (over x max(predicted - actual, 0)
                                      + under x max(actual - predicted, 0))

The baseline is the naive forecast, every row predicted at the training rows' mean; the uplift
is what the model adds to it. Under such linear costs the value-maximising prediction is the
``under / (under + over)`` quantile of the demand, which ``business_quantile`` reports so a
quantile model can be asked for it.
"""

from __future__ import annotations

import math
from typing import Any

from framework.errors import ConfigError

#: Every metric :func:`regression_score` computes, in report order.
REGRESSION_METRICS = ("mae", "rmse", "r2", "mape")
#: Metrics where a smaller value is better (an error), for gates, slices and sweeps.
LOWER_IS_BETTER = frozenset({"mae", "rmse", "mape"})


def regression_score(
    y_true: Any, y_pred: Any, undefined_as_none: bool = False
) -> dict[str, float | None]:
    """MAE, RMSE, R² and (when no actual is zero) MAPE of numeric predictions."""
    import numpy as np
    from sklearn import metrics

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    errors = y_pred - y_true
    result: dict[str, float | None] = {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(math.sqrt(np.mean(errors**2))),
    }
    if len(y_true) >= 2 and float(np.var(y_true)) > 0:
        result["r2"] = float(metrics.r2_score(y_true, y_pred))
    elif undefined_as_none:
        result["r2"] = None
    if len(y_true) and not (y_true == 0).any():
        result["mape"] = float(np.mean(np.abs(errors) / np.abs(y_true)))
    elif undefined_as_none:
        result["mape"] = None
    return result


def plot_tables(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """``predicted_vs_actual.csv`` and ``residuals.csv`` for ``dvc plots``."""
    import numpy as np
    import pandas as pd

    actual = np.asarray(y_true, dtype=float)
    predicted = np.asarray(y_pred, dtype=float)
    versus = pd.DataFrame({"actual": actual, "predicted": predicted}).round(6)
    residuals = pd.DataFrame({"predicted": predicted, "residual": actual - predicted}).round(6)
    return versus, residuals


def regression_economics(business: Any) -> dict[str, Any] | None:
    """``over``, ``under`` and the population from ``evaluate.business``; None when unset."""
    over, under = float(business.over), float(business.under)
    if over == 0.0 and under == 0.0:
        return None
    population = int(business.population)
    if population < 1:
        raise ConfigError(
            f"evaluate.business.population={business.population!r}: set it to the number of "
            "predictions made per period (e.g. 300 store-days a month)"
        )
    return {
        "over": over,
        "under": under,
        "population": population,
        "currency": str(business.currency),
        "period": str(business.period),
    }


def value_per_row(y_true: Any, y_pred: Any, econ: dict[str, Any]) -> Any:
    import numpy as np

    errors = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    return econ["over"] * np.clip(errors, 0, None) + econ["under"] * np.clip(-errors, 0, None)


def regression_business(
    y_true: Any, y_pred: Any, baseline_prediction: float, econ: dict[str, Any]
) -> dict[str, float]:
    """Value per period of the model, of the naive forecast, the uplift, and the best quantile."""
    import numpy as np

    model = float(np.mean(value_per_row(y_true, y_pred, econ))) * econ["population"]
    naive = np.full(len(np.asarray(y_true)), baseline_prediction)
    baseline = float(np.mean(value_per_row(y_true, naive, econ))) * econ["population"]
    costs = abs(econ["over"]) + abs(econ["under"])
    return {
        "business_value": model,
        "business_value_baseline": baseline,
        "business_value_uplift": model - baseline,
        "business_value_per_example": model / econ["population"],
        "business_quantile": abs(econ["under"]) / costs if costs else 0.5,
    }
