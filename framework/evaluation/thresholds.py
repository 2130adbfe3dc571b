"""Operating points of a binary model: recall at a fixed precision, and how the threshold is chosen.

A rare positive class (3% churners, 0.1% frauds) makes accuracy and ROC AUC say little: a team
asks "how many do we find if at most one flag in five may be wrong?" — recall at precision 0.8.
Two things answer it here, without inventing business values:

- :func:`recall_at_precision`: the highest recall any threshold reaches while precision stays at
  or above a floor; ``evaluate.recall_at_precision: [0.8]`` reports it as
  ``recall_at_precision_80`` in ``metrics.json``, where a gate or ``objective.metric`` can name it;
- ``evaluate.threshold``: the train stage chooses the decision threshold on out-of-fold
  predictions of the training rows (never the test rows), by ``optimize: recall`` with
  ``min_precision``, ``optimize: precision`` with ``min_recall``, or ``optimize: f1``.
  ``evaluate.business.optimize_threshold`` (the most money) is the other way to choose it; one
  model has one threshold, so the two exclude each other.

Every cut between two distinct scores is a candidate (one pass over the sorted scores), a row
is predicted positive when its score is at least the threshold, and the threshold is the
midpoint of the best cut, as :func:`framework.evaluation.business.best_threshold` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from framework.errors import ConfigError, DataError, did_you_mean

#: What ``evaluate.threshold.optimize`` may name (null: the threshold is not chosen this way).
OBJECTIVES = ("recall", "precision", "f1")
#: The constraint each objective needs: the highest recall at *some* precision, and so on.
CONSTRAINTS = {"recall": "min_precision", "precision": "min_recall", "f1": None}


@dataclass(frozen=True)
class Cuts:
    """Confusion counts of every cut of the scores: the top ``k`` rows flagged, k = 0..n."""

    ranked: Any  # scores, highest first
    tp: Any  # true positives when the top k are flagged
    fp: Any  # false positives when the top k are flagged
    positives: int
    allowed: Any  # False where a cut would split rows with the same score

    @property
    def recall(self) -> Any:
        import numpy as np

        return self.tp / self.positives if self.positives else np.zeros(len(self.tp))

    @property
    def precision(self) -> Any:
        """Precision of each cut; flagging nobody counts as precision 1 (as scikit-learn's
        precision-recall curve ends), so it never satisfies a recall floor by itself."""
        import numpy as np

        flagged = self.tp + self.fp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(flagged > 0, self.tp / np.maximum(flagged, 1), 1.0)

    def threshold(self, k: int) -> float:
        """The threshold that flags exactly the top ``k`` rows: the midpoint of the cut."""
        import numpy as np

        ranked, n = self.ranked, len(self.ranked)
        if k == 0:
            if ranked[0] < 1.0:
                return float((ranked[0] + 1.0) / 2)
            return float(np.nextafter(1.0, 2.0))
        if k == n:
            return float(ranked[-1] / 2)
        return float((ranked[k - 1] + ranked[k]) / 2)


def cuts(is_positive: Any, scores: Any) -> Cuts:
    """Every cut of ``scores`` (the positive-class probability) with its confusion counts."""
    import numpy as np

    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    ranked, truth = scores[order], np.asarray(is_positive, dtype=bool)[order]
    n = len(ranked)
    tp = np.concatenate([[0], np.cumsum(truth)])
    fp = np.arange(n + 1) - tp
    allowed = np.ones(n + 1, dtype=bool)
    allowed[1:n] = ranked[:-1] > ranked[1:]
    return Cuts(ranked, tp, fp, int(truth.sum()), allowed)


def best_cut(values: Any, allowed: Any) -> int:
    """The cut with the highest value among the allowed ones; on a tie the fewest flagged rows
    (the highest threshold: the fewest actions for the same result)."""
    import numpy as np

    return int(np.argmax(np.where(allowed, values, -np.inf)))


def recall_at_precision(is_positive: Any, scores: Any, min_precision: float) -> float:
    """The highest recall of any threshold whose precision is at least ``min_precision``.

    Equal to ``max(recall[precision >= min_precision])`` over scikit-learn's
    ``precision_recall_curve``; 0.0 when no threshold is that precise.
    """
    import numpy as np

    found = cuts(is_positive, scores)
    precise = found.allowed & (found.precision >= min_precision)
    return float(np.max(np.where(precise, found.recall, 0.0)))


def metric_name(min_precision: float) -> str:
    """``recall_at_precision_80`` for 0.8: a key Hydra overrides can name (no dot in it)."""
    percent = f"{float(min_precision) * 100:g}".replace(".", "_")
    return f"recall_at_precision_{percent}"


def precision_floors(evaluate: Any) -> list[float]:
    """``evaluate.recall_at_precision``, checked: each a share between 0 and 1."""
    floors = []
    for value in evaluate.get("recall_at_precision") or []:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise ConfigError(
                f"evaluate.recall_at_precision: {value!r} is not a precision; give shares "
                "above 0 and at most 1, e.g. [0.8, 0.9]"
            )
        floors.append(float(value))
    return floors


def operating_metrics(
    y_true: Any, proba: Any, classes: list[Any], positive: Any, evaluate: Any
) -> dict[str, float]:
    """``recall_at_precision_<percent>`` for every floor in ``evaluate.recall_at_precision``.

    Binary targets only (a multiclass model has no single threshold); a ConfigError otherwise.
    """
    import numpy as np

    floors = precision_floors(evaluate)
    if not floors:
        return {}
    if len(classes) != 2:
        raise ConfigError(
            f"evaluate.recall_at_precision needs a binary target; this one has {len(classes)} "
            "classes — set it to []"
        )
    truth = np.asarray(y_true) == positive
    scores = np.asarray(proba)[:, classes.index(positive)]
    return {metric_name(floor): recall_at_precision(truth, scores, floor) for floor in floors}


@dataclass(frozen=True)
class ThresholdRule:
    """How the train stage chooses a binary model's decision threshold, and the config key
    that asked for it (named in errors)."""

    key: str
    describe: str
    choose: Callable[[Any, Any], float]


def threshold_rule(evaluate: Any, classes: list[Any], positive: Any) -> ThresholdRule | None:
    """The rule ``evaluate`` configures, or None for the estimator's own threshold.

    Reads ``evaluate.business`` (through :func:`~framework.evaluation.business.economics`, which
    checks it) and ``evaluate.threshold``; a ConfigError names the key for an unknown objective,
    a missing or impossible constraint, a multiclass target, or both ways at once.
    """
    from framework.evaluation.business import best_threshold, economics

    econ = economics(evaluate.business, classes, positive)
    settings = evaluate.get("threshold") or {}
    objective = settings.get("optimize")
    if objective is None:
        if econ is None or not econ.optimize_threshold:
            return None
        return ThresholdRule(
            "evaluate.business.optimize_threshold",
            "chosen to maximise value on out-of-fold training predictions",
            lambda truth, scores: best_threshold(truth, scores, econ, positive),
        )
    if objective not in OBJECTIVES:
        raise ConfigError(
            f"evaluate.threshold.optimize={objective!r} is not a threshold objective; use one "
            f"of {', '.join(OBJECTIVES)} or null" + did_you_mean(str(objective), OBJECTIVES)
        )
    if len(classes) != 2:
        raise ConfigError(
            f"evaluate.threshold.optimize={objective} needs a binary target; this one has "
            f"{len(classes)} classes — set it to null (multiclass models predict the likeliest "
            "class)"
        )
    if econ is not None and econ.optimize_threshold:
        raise ConfigError(
            f"evaluate.threshold.optimize={objective} and evaluate.business.optimize_threshold="
            "true both choose the decision threshold; keep one"
        )
    constraint = CONSTRAINTS[objective]
    floor = None
    if constraint is not None:
        floor = settings.get(constraint)
        if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 < floor <= 1:
            raise ConfigError(
                f"evaluate.threshold.{constraint}={floor!r}: optimize={objective} needs a "
                f"{constraint.removeprefix('min_')} floor between 0 and 1, e.g. "
                f"evaluate.threshold.{constraint}=0.8"
            )
        floor = float(floor)
    key = f"evaluate.threshold.optimize={objective}"
    described = f"chosen for the highest {objective} on out-of-fold training predictions" + (
        f" at {constraint.removeprefix('min_')} >= {floor:g}" if constraint else ""
    )
    return ThresholdRule(key, described, lambda t, s: best_threshold_for(t, s, objective, floor))


def best_threshold_for(
    is_positive: Any, scores: Any, objective: str, floor: float | None = None
) -> float:
    """The threshold with the best ``objective`` (recall, precision or f1) among the cuts that
    hold the floor (precision for recall, recall for precision); a DataError when none does."""
    import numpy as np

    found = cuts(is_positive, scores)
    recall, precision = found.recall, found.precision
    allowed = found.allowed.copy()
    if objective == "recall":
        allowed &= precision >= floor
        allowed[0] = False  # flagging nobody has recall 0: never the answer
        values = recall
    elif objective == "precision":
        allowed &= recall >= floor
        allowed[0] = False
        values = precision
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            total = precision + recall
            values = np.where(total > 0, 2 * precision * recall / np.maximum(total, 1e-300), 0.0)
        allowed[0] = False
    if not allowed.any() or (objective == "recall" and not (values[allowed] > 0).any()):
        best = float(np.max(precision[1:])) if len(precision) > 1 else 0.0
        raise DataError(
            f"evaluate.threshold.min_precision={floor:g}: no threshold reaches that precision "
            f"on out-of-fold predictions of the training rows (the best is {best:.3f}); lower "
            "min_precision or improve the model"
        )
    return found.threshold(best_cut(values, allowed))
