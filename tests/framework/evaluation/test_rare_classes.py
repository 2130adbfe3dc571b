"""Rare classes: average precision, recall at a fixed precision, gates, objectives and a decision
threshold chosen for recall at a precision floor — checked against scikit-learn on a table with
about 3% positives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from sklearn import metrics as sk
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from framework.config.schema import EvaluateConfig
from framework.errors import ConfigError, DataError
from framework.evaluation.metrics import score
from framework.evaluation.thresholds import (
    best_threshold_for,
    metric_name,
    operating_metrics,
    recall_at_precision,
    threshold_rule,
)
from framework.stages.register import check_gate
from framework.stages.train import choose_threshold
from framework.sweeps import objective_value


@pytest.fixture(scope="module")
def rare() -> dict[str, np.ndarray]:
    """3% positives, a logistic regression's held-out probabilities of them."""
    features, labels = make_classification(
        n_samples=6000, n_features=8, n_informative=4, weights=[0.97], flip_y=0.005, random_state=3
    )
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.5, stratify=labels, random_state=0
    )
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    share = labels.mean()
    assert 0.02 < share < 0.045
    return {
        "x_train": x_train,
        "y_train": y_train,
        "y_test": y_test,
        "proba": model.predict_proba(x_test),
    }


def evaluate(**options) -> object:
    return OmegaConf.merge(OmegaConf.structured(EvaluateConfig), options)


def sklearn_recall_at_precision(truth, scores, floor: float) -> float:
    precision, recall, _ = sk.precision_recall_curve(truth, scores)
    return float(recall[precision >= floor].max())


def test_average_precision_is_scikit_learns_for_binary_and_multiclass(rare) -> None:
    y_test, proba = rare["y_test"], rare["proba"]
    predicted = (proba[:, 1] >= 0.5).astype(int)
    result = score(y_test, predicted, proba, [0, 1], 1)
    assert result["average_precision"] == pytest.approx(
        sk.average_precision_score(y_test, proba[:, 1]), abs=1e-12
    )
    # ROC AUC flatters a rare class; average precision does not.
    assert result["average_precision"] < result["roc_auc"]

    features, labels = make_classification(
        n_samples=600, n_classes=3, n_informative=4, weights=[0.9, 0.07], random_state=1
    )
    multi = LogisticRegression(max_iter=1000).fit(features, labels).predict_proba(features)
    result = score(labels, multi.argmax(axis=1), multi, [0, 1, 2], 2)
    one_hot = np.eye(3)[labels]
    assert result["average_precision"] == pytest.approx(
        sk.average_precision_score(one_hot, multi, average="macro"), abs=1e-12
    )


def test_a_slice_without_positives_has_no_average_precision() -> None:
    result = score(
        np.array([0, 0]), np.array([0, 0]), np.array([[0.9, 0.1], [0.8, 0.2]]), [0, 1], 1, True
    )
    assert result["average_precision"] is None


@pytest.mark.parametrize("floor", [0.3, 0.5, 0.8, 0.9, 1.0])
def test_recall_at_precision_is_the_precision_recall_curves(rare, floor: float) -> None:
    truth, scores = rare["y_test"] == 1, rare["proba"][:, 1]
    expected = sklearn_recall_at_precision(truth, scores, floor)
    assert recall_at_precision(truth, scores, floor) == pytest.approx(expected, abs=1e-12)


def test_recall_at_precision_handles_tied_scores_like_scikit_learn() -> None:
    truth = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.9, 0.7, 0.7, 0.7, 0.2, 0.2, 0.1])
    for floor in (0.4, 0.5, 0.6, 0.7):
        expected = sklearn_recall_at_precision(truth, scores, floor)
        assert recall_at_precision(truth, scores, floor) == pytest.approx(expected), floor


def test_configured_floors_become_metrics_a_gate_and_an_objective_can_name(rare) -> None:
    y_test, proba = rare["y_test"], rare["proba"]
    found = operating_metrics(y_test, proba, [0, 1], 1, evaluate(recall_at_precision=[0.8, 0.5]))

    assert list(found) == ["recall_at_precision_80", "recall_at_precision_50"]
    assert found["recall_at_precision_80"] == pytest.approx(
        sklearn_recall_at_precision(y_test == 1, proba[:, 1], 0.8)
    )
    assert metric_name(0.925) == "recall_at_precision_92_5"  # an override key has no dot
    metrics = {**score(y_test, proba.argmax(1), proba, [0, 1], 1), **found}
    gate = check_gate(metrics, {"recall_at_precision_80": 0.99, "average_precision": 0.1})
    assert gate["recall_at_precision_80"]["passed"] is False
    assert gate["average_precision"]["passed"] is True
    assert (
        objective_value(metrics, "recall_at_precision_50", True) == found["recall_at_precision_50"]
    )
    assert objective_value(metrics, "average_precision", True) == metrics["average_precision"]


@pytest.mark.parametrize(
    ("options", "classes", "named"),
    [
        ({"recall_at_precision": [1.5]}, [0, 1], "evaluate.recall_at_precision: 1.5"),
        ({"recall_at_precision": [0.8]}, [0, 1, 2], "needs a binary target"),
    ],
)
def test_bad_precision_floors_are_one_line(options, classes, named) -> None:
    proba = np.full((3, len(classes)), 1 / len(classes))
    with pytest.raises(ConfigError) as raised:
        operating_metrics(np.array(classes[:3]), proba, classes, classes[-1], evaluate(**options))
    assert named in str(raised.value) and "\n" not in str(raised.value)


# --- choosing the threshold without money -----------------------------------------------------


def precision_recall_at(threshold: float, truth, scores) -> tuple[float, float]:
    predicted = scores >= threshold
    return (
        sk.precision_score(truth, predicted, zero_division=0),
        sk.recall_score(truth, predicted),
    )


@pytest.mark.parametrize("floor", [0.5, 0.8])
def test_the_recall_threshold_reaches_the_best_recall_at_the_precision_floor(rare, floor) -> None:
    truth, scores = rare["y_test"] == 1, rare["proba"][:, 1]
    threshold = best_threshold_for(truth, scores, "recall", floor)
    precision, recall = precision_recall_at(threshold, truth, scores)

    assert precision >= floor
    assert recall == pytest.approx(sklearn_recall_at_precision(truth, scores, floor))


def test_the_precision_and_f1_thresholds_match_a_brute_force_search(rare) -> None:
    truth, scores = rare["y_test"] == 1, rare["proba"][:, 1]
    candidates = np.unique(scores)
    by_f1 = max(sk.f1_score(truth, scores >= t) for t in candidates)
    threshold = best_threshold_for(truth, scores, "f1")
    assert sk.f1_score(truth, scores >= threshold) == pytest.approx(by_f1)

    floor = 0.6
    best = max(
        sk.precision_score(truth, scores >= t, zero_division=0)
        for t in candidates
        if sk.recall_score(truth, scores >= t) >= floor
    )
    threshold = best_threshold_for(truth, scores, "precision", floor)
    precision, recall = precision_recall_at(threshold, truth, scores)
    assert recall >= floor and precision == pytest.approx(best)


def test_a_precision_no_threshold_reaches_is_one_line_naming_the_key() -> None:
    truth = np.array([0, 1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])  # the top row is a negative: best 0.5
    with pytest.raises(DataError) as raised:
        best_threshold_for(truth, scores, "recall", 0.9)
    message = str(raised.value)
    assert "evaluate.threshold.min_precision=0.9" in message and "best is 0.500" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("options", "classes", "named"),
    [
        ({"threshold": {"optimize": "recal"}}, [0, 1], "did you mean 'recall'"),
        ({"threshold": {"optimize": "recall"}}, [0, 1], "evaluate.threshold.min_precision=None"),
        (
            {"threshold": {"optimize": "precision", "min_recall": 2}},
            [0, 1],
            "evaluate.threshold.min_recall=2",
        ),
        ({"threshold": {"optimize": "f1"}}, [0, 1, 2], "needs a binary target"),
        (
            {
                "threshold": {"optimize": "f1"},
                "business": {"optimize_threshold": True, "population": 10, "tp": 1.0},
            },
            [0, 1],
            "keep one",
        ),
    ],
)
def test_bad_threshold_config_is_one_line_naming_the_key(options, classes, named) -> None:
    with pytest.raises(ConfigError) as raised:
        threshold_rule(evaluate(**options), classes, classes[-1])
    assert named in str(raised.value) and "\n" not in str(raised.value)


def test_without_a_rule_the_estimators_threshold_stays() -> None:
    assert threshold_rule(evaluate(), [0, 1], 1) is None


def test_train_chooses_the_recall_threshold_on_training_folds_only(rare) -> None:
    """The train stage's own function, on a real pipeline: the threshold comes from out-of-fold
    predictions of the training rows, and on held-out rows it keeps close to the floor."""
    rule = threshold_rule(
        evaluate(threshold={"optimize": "recall", "min_precision": 0.5}), [0, 1], 1
    )
    assert rule is not None and rule.key == "evaluate.threshold.optimize=recall"
    inputs = pd.DataFrame(rare["x_train"], columns=[f"f{i}" for i in range(8)])
    pipeline = LogisticRegression(max_iter=1000)
    threshold = choose_threshold(pipeline, inputs, rare["y_train"], rule, 1, seed=0)

    assert 0.0 < threshold < 0.5
    truth, scores = rare["y_test"] == 1, rare["proba"][:, 1]
    precision, recall = precision_recall_at(threshold, truth, scores)
    assert recall > sk.recall_score(truth, scores >= 0.5)
    assert precision > 0.3  # chosen on other rows: near the floor, not exactly on it
