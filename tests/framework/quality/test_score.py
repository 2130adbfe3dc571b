"""Scores per data-quality dimension are computed exactly as docs/data-quality.md defines them."""

from __future__ import annotations

import pytest

from framework.errors import PluginError
from framework.quality import DIMENSIONS
from framework.quality.score import (
    check_score,
    format_score,
    quality_metrics,
    score_dimensions,
)
from framework.records import CheckResult


def row_check(name: str, failed: tuple[int, ...], dimension: str) -> CheckResult:
    return CheckResult(name, not failed, failed_rows=failed, dimension=dimension)  # type: ignore[arg-type]


def dataset_check(name: str, passed: bool, dimension: str) -> CheckResult:
    return CheckResult(name, passed, level="dataset", dimension=dimension)  # type: ignore[arg-type]


def test_a_row_check_scores_the_share_of_rows_that_pass_it() -> None:
    assert check_score(row_check("age:max", (1, 2, 3), "accuracy"), rows=200) == pytest.approx(
        1 - 3 / 200
    )
    assert check_score(row_check("age:max", (), "accuracy"), rows=200) == 1.0
    # A validator that lists a row twice does not count it twice.
    assert check_score(row_check("age:max", (4, 4), "accuracy"), rows=10) == pytest.approx(0.9)


def test_a_dataset_check_scores_one_or_zero() -> None:
    assert check_score(dataset_check("freshness:seen", True, "timeliness"), rows=100) == 1.0
    assert check_score(dataset_check("freshness:seen", False, "timeliness"), rows=100) == 0.0


def test_a_dimension_scores_the_mean_of_its_checks_and_the_total_the_mean_of_dimensions() -> None:
    checks = [
        ("rules", row_check("age:max", (0, 1), "accuracy")),  # 0.98
        ("rules", row_check("age:min", (), "accuracy")),  # 1.0
        ("rules", dataset_check("income:max_missing", False, "completeness")),  # 0
        ("rules", row_check("plan:not_null", (5,), "completeness")),  # 0.99
        ("other", row_check("consistency:x", (), "consistency")),  # 1.0
    ]

    scores = score_dimensions(checks, rows=100)

    dimensions = scores["dimensions"]
    assert list(dimensions) == list(DIMENSIONS)
    assert dimensions["accuracy"]["score"] == pytest.approx(0.99)
    assert dimensions["completeness"]["score"] == pytest.approx(0.495)
    assert dimensions["consistency"]["score"] == 1.0
    assert dimensions["timeliness"]["score"] is None, "no check measured it: not a perfect 1.0"
    assert scores["score"] == pytest.approx((0.99 + 0.495 + 1.0) / 3)
    assert dimensions["completeness"]["checks"] == 2
    assert dimensions["completeness"]["failed"] == 2
    assert dimensions["timeliness"] == {
        "score": None,
        "checks": 0,
        "failed": 0,
        "failing_checks": [],
    }


def test_failing_checks_are_listed_per_dimension_worst_first_with_their_validator() -> None:
    checks = [
        ("rules", row_check("age:max", (0,), "accuracy")),
        ("rules", row_check("plan:allowed", (0, 1, 2), "accuracy")),
        ("rules", dataset_check("age:present", False, "accuracy")),
        ("rules", row_check("age:min", (), "accuracy")),
    ]

    failing = score_dimensions(checks, rows=10)["dimensions"]["accuracy"]["failing_checks"]

    assert [check["name"] for check in failing] == ["age:present", "plan:allowed", "age:max"]
    assert failing[1] == {
        "validator": "rules",
        "name": "plan:allowed",
        "passed": False,
        "column": None,
        "failed_rows": 3,
        "detail": "",
        "level": "row",
        "dimension": "accuracy",
    }


def test_no_checks_at_all_gives_no_score() -> None:
    assert score_dimensions([], rows=10)["score"] is None


def test_a_check_with_an_unknown_dimension_names_the_validator_and_the_fix() -> None:
    checks = [("acme", CheckResult("x:y", True, dimension="validity"))]  # type: ignore[arg-type]

    with pytest.raises(PluginError) as error:
        score_dimensions(checks, rows=1)

    assert str(error.value) == (
        "validator 'acme' returned check 'x:y' with dimension 'validity'; set "
        "CheckResult.dimension to one of accuracy, completeness, consistency, timeliness"
    )


def test_quality_metrics_carry_the_scores_and_skip_unmeasured_dimensions() -> None:
    report = {
        "rows_in": 10,
        "rows_quarantined": 1,
        "bad_share": 0.1,
        "score": 0.9,
        "dimensions": {"accuracy": {"score": 0.8}, "timeliness": {"score": None}},
    }

    assert quality_metrics(report) == {
        "validate.rows_in": 10.0,
        "validate.rows_quarantined": 1.0,
        "validate.bad_share": 0.1,
        "validate.score": 0.9,
        "validate.accuracy_score": 0.8,
    }


@pytest.mark.parametrize(
    ("score", "shown"),
    [(None, "n/a"), (1.0, "1.0000"), (0.99997, "0.9999"), (0.5, "0.5000"), (0.0, "0.0000")],
)
def test_a_score_never_reads_perfect_unless_it_is(score: float | None, shown: str) -> None:
    assert format_score(score) == shown
