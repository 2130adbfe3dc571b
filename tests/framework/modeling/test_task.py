"""The task is read off the target or declared; a contradiction is one line naming both."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from framework.errors import ConfigError, DataError
from framework.modeling.estimator import build_estimator
from framework.modeling.task import check_model_task, infer_task

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (RNG.normal(100, 20, 300), "regression"),  # fractional numbers
        (RNG.integers(0, 500, 300), "regression"),  # units sold: many whole numbers
        ([0, 1] * 50, "classification"),
        ([0, 1, 2] * 30 + [None] * 3, "classification"),  # codes, missing ignored
        (["yes", "no"] * 20, "classification"),
        ([1.0, 2.0, 3.0] * 10, "classification"),  # whole numbers stored as floats
    ],
)
def test_auto_reads_the_task_off_the_target(values, task: str) -> None:
    assert infer_task(pd.Series(values), "y") == task


def test_a_declared_task_wins_where_the_target_allows_it() -> None:
    counts = pd.Series([0, 1, 2, 3] * 25)
    assert infer_task(counts, "units", "regression") == "regression"  # counts regress fine
    assert infer_task(counts, "units", "classification") == "classification"


@pytest.mark.parametrize(
    ("values", "declared", "expected"),
    [
        (["a", "b"] * 5, "regression", "task=regression but data.target='y' holds text"),
        ([0.5, 1.25] * 5, "classification", "holds fractional numbers"),
        (list(range(200)), "classification", "holds 200 distinct numbers"),
    ],
)
def test_a_target_that_contradicts_the_task_is_one_line(values, declared, expected) -> None:
    with pytest.raises(DataError) as raised:
        infer_task(pd.Series(values), "y", declared)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_an_unknown_task_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="task='regresion' is not a task"):
        infer_task(pd.Series([1.5, 2.5]), "y", "regresion")


def test_auto_builds_the_tasks_default_model() -> None:
    auto = OmegaConf.create({"_target_": "auto", "random_state": 3})
    classifier = build_estimator(auto, "classification")
    assert type(classifier).__name__ == "LogisticRegression" and classifier.random_state == 3
    assert type(build_estimator(auto, "regression")).__name__ == "Ridge"


def test_a_model_of_the_other_kind_is_a_config_error_naming_both() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import Ridge

    with pytest.raises(ConfigError) as raised:
        check_model_task(RandomForestClassifier(), "RandomForestClassifier", "regression", "y")
    message = str(raised.value)
    assert "RandomForestClassifier is a classifier but the task is regression" in message
    assert "random_forest_regressor" in message
    with pytest.raises(ConfigError, match="Ridge is a regressor but the task is classification"):
        check_model_task(Ridge(), "Ridge", "classification", "y")
    check_model_task(Ridge(), "Ridge", "regression", "y")  # a match says nothing
