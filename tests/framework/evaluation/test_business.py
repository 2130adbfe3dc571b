"""Business value: the issue's churn economics to the dollar, baselines, thresholds, bad config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from framework.config.compose import compose_config, validate_config
from framework.config.schema import BusinessConfig
from framework.errors import ConfigError
from framework.evaluation.business import (
    best_threshold,
    business_metrics,
    economics,
    is_configured,
)

ROOT = Path(__file__).resolve().parents[3]


def business(**values) -> object:
    return OmegaConf.merge(OmegaConf.structured(BusinessConfig), values)


def labels(**cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Actual and predicted labels (1 = churn) with the given number of rows per cell."""
    actual, predicted = [], []
    for cell, count in cells.items():
        truth, guess = {"tp": (1, 1), "fp": (0, 1), "fn": (1, 0), "tn": (0, 0)}[cell]
        actual += [truth] * count
        predicted += [guess] * count
    return np.asarray(actual), np.asarray(predicted)


def test_the_bundled_churn_economics_give_3200_dollars_a_month() -> None:
    # The issue: 100,000 subscribers at $10 a month, 1,000 churn; the model finds 80% of them
    # (800), half of those accept an $8 offer and stay: 400 customers kept, $3,200 a month.
    cfg = validate_config(compose_config([], ROOT / "conf"), "conf/")
    econ = economics(cfg.evaluate.business, [0, 1], positive=1)
    assert econ is not None and econ.currency == "USD" and econ.period == "month"
    y_true, y_pred = labels(tp=800, fn=200, fp=0, tn=99_000)

    value = business_metrics(y_true, y_pred, econ, positive=1)

    assert value["business_value"] == 3200.0
    assert value["business_value_per_example"] == pytest.approx(0.032)
    assert value["business_value_baseline"] == 0.0  # nobody offered anything, nobody kept
    assert value["business_value_uplift"] == 3200.0


def test_value_scales_cell_shares_to_the_population_and_counts_false_positives() -> None:
    econ = economics(business(population=1000, tp=4.0, fp=-1.0, fn=-2.0, tn=0.5), [0, 1], 1)
    y_true, y_pred = labels(tp=10, fp=20, fn=30, tn=40)  # 100 test rows

    value = business_metrics(y_true, y_pred, econ, positive=1)

    per_example = (10 * 4.0 + 20 * -1.0 + 30 * -2.0 + 40 * 0.5) / 100
    assert value["business_value_per_example"] == pytest.approx(per_example)
    assert value["business_value"] == pytest.approx(1000 * per_example)
    # Baseline: all 40 positives missed (fn), all 60 negatives left alone (tn).
    baseline = 1000 * (40 * -2.0 + 60 * 0.5) / 100
    assert value["business_value_baseline"] == pytest.approx(baseline)
    assert value["business_value_uplift"] == pytest.approx(1000 * per_example - baseline)


def test_the_positive_label_decides_which_cell_is_a_true_positive() -> None:
    econ = economics(business(population=4, tp=1.0), ["no", "yes"], positive="no")
    value = business_metrics(
        np.asarray(["no", "no", "yes", "yes"]), np.asarray(["no", "yes", "yes", "yes"]), econ, "no"
    )
    assert value["business_value"] == 1.0  # one "no" predicted "no"


def test_a_multiclass_matrix_values_each_pair_and_the_baseline_is_the_commonest_class() -> None:
    matrix = {"a": {"a": 2.0, "b": -1.0}, "b": {"b": 3.0}, "c": {"a": -5.0}}
    econ = economics(business(population=10, matrix=matrix), ["a", "b", "c"], positive="c")
    y_true = np.asarray(["a", "a", "b", "c", "a"])
    y_pred = np.asarray(["a", "b", "b", "a", "c"])

    value = business_metrics(y_true, y_pred, econ, positive="c")

    assert value["business_value_per_example"] == pytest.approx((2 - 1 + 3 - 5 + 0) / 5)
    # Without a model every row is the most frequent actual class, "a".
    assert value["business_value_baseline"] == pytest.approx(10 * (3 * 2.0 + 0.0 - 5.0) / 5)


def test_matrix_keys_written_as_text_match_integer_classes() -> None:
    econ = economics(business(population=1, matrix={"1": {"1": 7.0}}), [0, 1, 2], positive=2)
    assert econ.value(1, 1) == 7.0 and econ.value(0, 0) == 0.0


def test_no_cell_values_means_no_business_metrics() -> None:
    assert not is_configured(business(population=100))
    assert economics(business(population=100), [0, 1], 1) is None


@pytest.mark.parametrize(
    ("options", "classes", "named"),
    [
        ({"tp": 1.0}, [0, 1], "evaluate.business.population=0"),
        ({"population": 1, "tp": 1.0}, [0, 1, 2], "needs evaluate.business.matrix"),
        ({"population": 1, "matrix": {"x": {"0": 1.0}}}, [0, 1], "matrix.x: 'x' is not a class"),
        ({"population": 1, "matrix": {"0": {"9": 1.0}}}, [0, 1], "matrix.0.9: '9' is not a"),
        ({"optimize_threshold": True, "population": 1}, [0, 1], "no cell has a value"),
        (
            {"optimize_threshold": True, "population": 1, "matrix": {"0": {"0": 1.0}}},
            [0, 1, 2],
            "optimize_threshold=true needs a binary target",
        ),
        (
            {"optimize_threshold": True, "population": 1, "tp": 2.0, "fn": 2.0},
            [0, 1],
            "every threshold is worth the same",
        ),
    ],
)
def test_bad_business_config_is_one_line_naming_the_key(
    options: dict, classes: list, named: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        economics(business(**options), classes, positive=classes[-1])
    assert named in str(raised.value)
    assert "\n" not in str(raised.value)


# --- the decision threshold -------------------------------------------------------------------


def value_at(threshold: float, truth: np.ndarray, scores: np.ndarray, econ) -> float:
    predicted = np.where(scores >= threshold, 1, 0)
    return business_metrics(truth, predicted, econ, positive=1)["business_value_per_example"]


def test_the_threshold_cuts_where_the_value_is_highest() -> None:
    econ = economics(business(population=1, tp=4.0, fp=-1.0), [0, 1], 1)
    scores = np.asarray([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    truth = np.asarray([1, 1, 0, 1, 0, 0, 0, 0])
    # Flag the top 4: 3 x $4 - 1 x $1 = $11, more than any other cut.
    threshold = best_threshold(truth == 1, scores, econ, positive=1)
    assert threshold == pytest.approx(0.55)
    assert value_at(threshold, truth, scores, econ) == pytest.approx(11 / 8)


def test_the_threshold_never_splits_rows_with_the_same_score() -> None:
    econ = economics(business(population=1, tp=1.0, fp=-1.0), [0, 1], 1)
    scores = np.asarray([0.9, 0.5, 0.5, 0.5, 0.1])
    truth = np.asarray([1, 1, 0, 0, 0])
    threshold = best_threshold(truth == 1, scores, econ, positive=1)
    assert threshold == pytest.approx(0.7)  # not "the first 0.5 only"


def test_when_no_action_pays_the_threshold_flags_nobody() -> None:
    econ = economics(business(population=1, tp=1.0, fp=-10.0), [0, 1], 1)
    scores = np.asarray([0.6, 0.4, 0.3])
    threshold = best_threshold(np.asarray([False, True, False]), scores, econ, positive=1)
    assert threshold > 0.6 and threshold <= 1.0
    top = best_threshold(np.asarray([False]), np.asarray([1.0]), econ, positive=1)
    assert top > 1.0


def test_the_threshold_matches_a_brute_force_search() -> None:
    rng = np.random.default_rng(0)
    econ = economics(business(population=1, tp=4.0, fp=-1.0, fn=-0.5, tn=0.1), [0, 1], 1)
    scores = np.round(rng.random(300), 2)  # rounded: many ties
    truth = rng.random(300) < scores
    threshold = best_threshold(truth, scores, econ, positive=1)
    candidates = np.concatenate([np.unique(scores), [1.01]])
    best = max(value_at(t, truth.astype(int), scores, econ) for t in candidates)
    assert value_at(threshold, truth.astype(int), scores, econ) == pytest.approx(best)
