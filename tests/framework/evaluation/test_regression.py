"""Regression metrics, the value of over- and under-prediction, and error metrics in gates and
slices (lower is better)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from sklearn import metrics as sk

from framework.errors import ConfigError
from framework.evaluation.regression import (
    regression_business,
    regression_economics,
    regression_score,
)
from framework.evaluation.slices import slice_report
from framework.stages.register import check_gate, check_slice_gate

ACTUAL = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
PREDICTED = np.array([12.0, 18.0, 33.0, 40.0, 44.0])


def test_metrics_agree_with_scikit_learn() -> None:
    score = regression_score(ACTUAL, PREDICTED)
    assert score["mae"] == pytest.approx(sk.mean_absolute_error(ACTUAL, PREDICTED))
    assert score["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(ACTUAL, PREDICTED)))
    assert score["r2"] == pytest.approx(sk.r2_score(ACTUAL, PREDICTED))
    assert score["mape"] == pytest.approx(sk.mean_absolute_percentage_error(ACTUAL, PREDICTED))


def test_mape_is_left_out_where_an_actual_is_zero_and_r2_needs_variance() -> None:
    assert "mape" not in regression_score([0.0, 2.0], [1.0, 2.0])
    undefined = regression_score([5.0], [4.0], undefined_as_none=True)
    assert undefined["r2"] is None and undefined["mae"] == 1.0


def test_business_value_counts_units_over_and_under_at_their_prices() -> None:
    business = OmegaConf.create(
        {"over": -2.0, "under": -5.0, "population": 100, "currency": "USD", "period": "week"}
    )
    econ = regression_economics(business)
    value = regression_business(ACTUAL, PREDICTED, baseline_prediction=30.0, econ=econ)
    # over by 2 and 3 units (-2 each), under by 2 and 6 units (-5 each), over 5 rows, x100
    assert value["business_value"] == pytest.approx((-2 * 5 - 5 * 8) / 5 * 100)
    # the naive forecast 30: over by 20+10, under by 10+20
    assert value["business_value_baseline"] == pytest.approx((-2 * 30 - 5 * 30) / 5 * 100)
    assert value["business_value_uplift"] == pytest.approx(-1000 + 4200)
    assert value["business_quantile"] == pytest.approx(5 / 7)
    assert regression_economics(OmegaConf.create({"over": 0.0, "under": 0.0})) is None
    with pytest.raises(ConfigError, match="population"):
        regression_economics(OmegaConf.create({**business, "population": 0}))


def test_an_error_metric_gates_as_a_maximum_and_the_other_tasks_metric_does_not_apply() -> None:
    metrics = {"rmse": 12.0, "r2": 0.4, "mae": 9.0}
    gate = check_gate(metrics, {"rmse": 10.0, "r2": 0.3, "roc_auc": 0.7}, "regression")
    assert gate["rmse"] == {"value": 12.0, "maximum": 10.0, "passed": False}
    assert gate["r2"] == {"value": 0.4, "minimum": 0.3, "passed": True}
    assert gate["roc_auc"]["applies"] is False and gate["roc_auc"]["passed"] is True
    with pytest.raises(ConfigError, match=r"evaluate\.gate\.rsme"):
        check_gate(metrics, {"rsme": 1.0}, "regression")
    # One gate serves both tasks: a regression metric does not apply to a classifier either.
    assert check_gate({"roc_auc": 0.8}, {"rmse": 1.0}, "classification")["rmse"]["applies"] is False


def test_the_worst_slice_of_an_error_metric_is_the_highest() -> None:
    frame = pd.DataFrame({"store": ["a", "a", "b", "b", "b"]})
    report = slice_report(
        frame, ["store"], ACTUAL, PREDICTED, None, [], None, "mae", 1, ["r2"], task="regression"
    )
    maes = {key: entry["mae"] for key, entry in report["columns"]["store"].items()}
    assert maes == pytest.approx({"a": 2.0, "b": 3.0})
    assert report["worst"]["value"] == "b"  # the larger error
    gate = check_slice_gate({"slice_worst_mae": 3.0}, {"mae": 2.5}, report)
    assert gate["mae"]["maximum"] == 2.5 and gate["mae"]["passed"] is False
