"""Per-dimension data-quality scores from check results, defined once for the report and gate.

The definition, which docs/data-quality.md repeats for users:

- a row check scores ``1 - failed_rows / rows``: the share of rows that pass it;
- a dataset check (freshness, ``max_missing``, a missing column) scores 1 when it passes, 0 when
  it fails: it has no rows to share the blame with;
- a dimension scores the mean of its checks' scores, or ``None`` when no check is filed under it
  (nothing was measured, which is not the same as perfect);
- the overall score is the mean of the dimensions that have a score, so one dimension with many
  checks does not drown the others.

Each check counts once, whatever its number of failed rows, so a dimension with twenty passing
range checks and one check that fails every row scores 0.95, not 0.5: the score says how much of
what was asked holds, and the failing checks list says what does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from framework.errors import PluginError
from framework.quality import DIMENSIONS
from framework.records import CheckResult


def check_score(check: CheckResult, rows: int) -> float:
    """One check's score in [0, 1]: the passing share of rows, or 1/0 for a dataset check."""
    if check.level == "dataset" or rows <= 0:
        return 1.0 if check.passed else 0.0
    failed = min(len(set(check.failed_rows)), rows)
    return 1.0 - failed / rows


def worst_first(check: dict[str, Any]) -> tuple[bool, int]:
    """Sort key for reported checks: dataset checks first, then by failed rows, most first."""
    return (check["level"] != "dataset", -check["failed_rows"])


def mean_or_none(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def check_dimension(validator: str, check: CheckResult) -> str:
    """The check's dimension; a validator that invents one breaks the hook contract."""
    if check.dimension not in DIMENSIONS:
        raise PluginError(
            f"validator {validator!r} returned check {check.name!r} with dimension "
            f"{check.dimension!r}; set CheckResult.dimension to one of {', '.join(DIMENSIONS)}"
        )
    return check.dimension


def score_dimensions(checks: Sequence[tuple[str, CheckResult]], rows: int) -> dict[str, Any]:
    """The overall score and, per dimension, its score, its number of checks and its failures.

    ``checks`` pairs each result with the name of the validator that returned it. The result::

        {"score": 0.97,
         "dimensions": {"accuracy": {"score": 0.99, "checks": 9, "failed": 1,
                                     "failing_checks": [{"validator": ..., "name": ..., ...}]},
                        "timeliness": {"score": None, "checks": 0, "failed": 0,
                                       "failing_checks": []}, ...}}

    Failing checks are listed worst first: dataset checks, then by failed rows.
    """
    scores: dict[str, list[float]] = {dimension: [] for dimension in DIMENSIONS}
    failing: dict[str, list[dict[str, Any]]] = {dimension: [] for dimension in DIMENSIONS}
    for validator, check in checks:
        dimension = check_dimension(validator, check)
        scores[dimension].append(check_score(check, rows))
        if not check.passed:
            failing[dimension].append({"validator": validator, **check.to_dict()})
    dimensions: dict[str, dict[str, Any]] = {}
    for dimension in DIMENSIONS:
        failing[dimension].sort(key=worst_first)
        dimensions[dimension] = {
            "score": mean_or_none(scores[dimension]),
            "checks": len(scores[dimension]),
            "failed": len(failing[dimension]),
            "failing_checks": failing[dimension],
        }
    measured = [d["score"] for d in dimensions.values() if d["score"] is not None]
    return {"score": mean_or_none(measured), "dimensions": dimensions}


def quality_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The numbers trackers get: row counts, the overall score and each measured dimension."""
    metrics = {
        "validate.rows_in": float(report["rows_in"]),
        "validate.rows_quarantined": float(report["rows_quarantined"]),
        "validate.bad_share": float(report["bad_share"]),
    }
    if report.get("score") is not None:
        metrics["validate.score"] = float(report["score"])
    for name, dimension in report.get("dimensions", {}).items():
        if dimension["score"] is not None:
            metrics[f"validate.{name}_score"] = float(dimension["score"])
    return metrics


def format_score(score: float | None) -> str:
    """A score for people: four decimals, rounded down so that only a perfect score reads 1."""
    if score is None:
        return "n/a"
    return f"{math.floor(float(score) * 10_000) / 10_000:.4f}"
