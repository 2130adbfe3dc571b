"""Business value: what a model's decisions are worth per period, in money.

``evaluate.business`` gives each cell of the confusion matrix a value per example: for a binary
target ``tp``, ``fp``, ``fn`` and ``tn``; for a multiclass one ``matrix`` (actual → predicted →
value). The value per period is::

    population x Σ over cells (share of the test rows in the cell x the cell's value)

The churn example: 100,000 subscribers at $10 a month, 1% churn. A churner found is offered $8
and half stay: $4 per true positive. A model that finds 800 of the 1,000 monthly churners keeps
400 customers, 400 x $8 = $3,200 a month.

The *baseline* is the same population without a model: everyone predicted negative for a binary
target (nobody gets the offer), the most frequent class for a multiclass one. The uplift is what
the model adds to it. With ``optimize_threshold`` the train stage picks the decision threshold
that maximises the value on out-of-fold predictions of the training rows (:func:`best_threshold`)
— never on the test rows, which would grade the model on the data its threshold was fitted to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framework.errors import ConfigError

#: The binary cells: (actual positive?, predicted positive?) of each.
CELLS = {"tp": (True, True), "fp": (False, True), "fn": (True, False), "tn": (False, False)}


@dataclass(frozen=True)
class Economics:
    """The value of every (actual, predicted) pair of classes, per example, and the population."""

    classes: tuple[Any, ...]
    values: tuple[tuple[float, ...], ...]  # values[actual index][predicted index]
    population: int
    currency: str
    period: str
    optimize_threshold: bool

    def value(self, actual: Any, predicted: Any) -> float:
        return self.values[self.classes.index(actual)][self.classes.index(predicted)]


def is_configured(business: Any) -> bool:
    """Whether a project gave any cell a value; without one there is no business value to report."""
    return bool(business.matrix) or any(float(business[cell]) != 0.0 for cell in CELLS)


def economics(business: Any, classes: list[Any], positive: Any) -> Economics | None:
    """Read ``evaluate.business`` for these classes; None when no cell has a value.

    A ConfigError names the key for: a multiclass target without ``matrix``, a matrix naming a
    class the target does not have, a population below 1, and ``optimize_threshold`` on a
    multiclass target or with values that make every threshold worth the same.
    """
    binary = len(classes) == 2
    if business.optimize_threshold and not binary:
        raise ConfigError(
            f"evaluate.business.optimize_threshold=true needs a binary target; this one has "
            f"{len(classes)} classes — set it to false (multiclass models predict the likeliest "
            "class)"
        )
    if not is_configured(business):
        if business.optimize_threshold:
            raise ConfigError(
                "evaluate.business.optimize_threshold=true but no cell has a value; set "
                "evaluate.business.tp/fp/fn/tn (value per example of each cell)"
            )
        return None
    population = int(business.population)
    if population < 1:
        raise ConfigError(
            f"evaluate.business.population={business.population!r}: set it to the number of "
            "examples scored per period (e.g. 100000 subscribers a month)"
        )
    if business.matrix:
        values = _matrix_values(business.matrix, classes)
    elif binary:
        values = _binary_values(business, classes, positive)
    else:
        raise ConfigError(
            f"evaluate.business: a target with {len(classes)} classes needs "
            "evaluate.business.matrix (actual class → predicted class → value); tp/fp/fn/tn are "
            "for binary targets"
        )
    result = Economics(
        tuple(classes),
        values,
        population,
        str(business.currency),
        str(business.period),
        bool(business.optimize_threshold),
    )
    if result.optimize_threshold and _flat(result, positive):
        raise ConfigError(
            "evaluate.business.optimize_threshold=true but tp equals fn and fp equals tn, so "
            "every threshold is worth the same; give the cells different values or set it false"
        )
    return result


def _binary_values(
    business: Any, classes: list[Any], positive: Any
) -> tuple[tuple[float, ...], ...]:
    rows = []
    for actual in classes:
        row = []
        for predicted in classes:
            cell = next(
                name
                for name, (is_actual, is_predicted) in CELLS.items()
                if is_actual == (actual == positive) and is_predicted == (predicted == positive)
            )
            row.append(float(business[cell]))
        rows.append(tuple(row))
    return tuple(rows)


def _matrix_values(matrix: Any, classes: list[Any]) -> tuple[tuple[float, ...], ...]:
    """``matrix`` keys are text in YAML; match them to the classes by their text."""
    by_text = {str(label): label for label in classes}
    names = ", ".join(by_text)
    for actual, row in matrix.items():
        if str(actual) not in by_text:
            raise ConfigError(
                f"evaluate.business.matrix.{actual}: '{actual}' is not a class of the target; "
                f"classes: {names}"
            )
        for predicted in row:
            if str(predicted) not in by_text:
                raise ConfigError(
                    f"evaluate.business.matrix.{actual}.{predicted}: '{predicted}' is not a "
                    f"class of the target; classes: {names}"
                )
    text = {
        str(actual): {str(p): float(v) for p, v in row.items()} for actual, row in matrix.items()
    }
    return tuple(
        tuple(text.get(str(actual), {}).get(str(predicted), 0.0) for predicted in classes)
        for actual in classes
    )


def _flat(result: Economics, positive: Any) -> bool:
    negative = next(label for label in result.classes if label != positive)
    return result.value(positive, positive) == result.value(positive, negative) and result.value(
        negative, positive
    ) == result.value(negative, negative)


def confusion_counts(y_true: Any, y_pred: Any, classes: list[Any]) -> Any:
    """Counts[actual index][predicted index] over ``classes``."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=classes)


def value_of(counts: Any, econ: Economics) -> dict[str, float]:
    """Value per example and per period of a confusion matrix of counts."""
    import numpy as np

    counts = np.asarray(counts, dtype=float)
    n = counts.sum()
    total = float((counts * np.asarray(econ.values)).sum())
    # population x total / n, not population x (total / n): exact for whole-number inputs,
    # so 800 true positives at $4 among 100,000 rows scale to exactly $3,200.
    return {
        "per_example": total / n if n else 0.0,
        "per_period": econ.population * total / n if n else 0.0,
    }


def baseline_counts(counts: Any, econ: Economics, positive: Any) -> Any:
    """The same rows without a model: all negative (binary) or all the most frequent class."""
    import numpy as np

    counts = np.asarray(counts)
    if len(econ.classes) == 2:
        column = econ.classes.index(next(label for label in econ.classes if label != positive))
    else:
        column = int(np.argmax(counts.sum(axis=1)))
    baseline = np.zeros_like(counts)
    baseline[:, column] = counts.sum(axis=1)
    return baseline


def business_metrics(y_true: Any, y_pred: Any, econ: Economics, positive: Any) -> dict[str, float]:
    """The metrics.json entries: value per period and per example, the baseline, the uplift."""
    counts = confusion_counts(y_true, y_pred, list(econ.classes))
    model = value_of(counts, econ)
    baseline = value_of(baseline_counts(counts, econ, positive), econ)
    return {
        "business_value": model["per_period"],
        "business_value_per_example": model["per_example"],
        "business_value_baseline": baseline["per_period"],
        "business_value_uplift": model["per_period"] - baseline["per_period"],
    }


def best_threshold(is_positive: Any, scores: Any, econ: Economics, positive: Any) -> float:
    """The threshold on the positive-class probability that maximises the value of the rows.

    A row is predicted positive when its score is at least the threshold. Every cut between two
    distinct scores is tried (one pass over the sorted scores); the threshold is the midpoint of
    the best cut, so it does not sit on a training row's exact score. On a tie the highest
    threshold wins: the fewest costly actions for the same value.
    """
    from framework.evaluation.thresholds import best_cut, cuts

    negative = next(label for label in econ.classes if label != positive)
    v_tp, v_fn = econ.value(positive, positive), econ.value(positive, negative)
    v_fp, v_tn = econ.value(negative, positive), econ.value(negative, negative)
    found = cuts(is_positive, scores)
    tp, fp, n_positive = found.tp, found.fp, found.positives
    n_negative = len(found.ranked) - n_positive
    value = tp * v_tp + fp * v_fp + (n_positive - tp) * v_fn + (n_negative - fp) * v_tn
    return found.threshold(best_cut(value, found.allowed))
