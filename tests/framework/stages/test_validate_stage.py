"""The validate stage through the real CLI: a table with a planted defect in every data-quality
dimension is scored per dimension, quarantined row by row, reported as JSON and HTML, and gated."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from framework.quality import DIMENSIONS
from framework.stages.validate import REASON_COLUMN, split_rows

ROWS = 200

#: Row position -> the checks it was planted to break (and nothing else).
PLANTED = {
    5: ["age:max"],  # accuracy
    6: ["age:max"],
    10: ["churned:label_present"],  # completeness: no label
    11: ["customer_id:not_null"],  # completeness: no id
    20: ["consistency:active_after_signup"],  # consistency: last seen before signing up
    21: ["region:canonical"],  # consistency: "North " beside "north"
    22: ["keys:customer_id+signup_date"],  # consistency: repeats row 0's key
    23: ["consistency:spend_needs_orders"],  # consistency: spend without orders
}

PLANTED_OPTION = """\
# @package _global_
project: planted
data:
  name: file
  path: planted.csv
  target: churned
validate:
  rules:
    columns:
      age: {type: int, min: 18, max: 120}
      customer_id: {not_null: true}
      region: {canonical: true, max_missing: 0.1}
    consistency:
      active_after_signup: last_active_at >= signup_date
      spend_needs_orders: where(n_orders == 0, total_spend == 0, 1)
    keys: [customer_id, signup_date]
    freshness: {column: last_active_at, max_age_days: 30, as_of: "2024-08-10"}
quarantine:
  max_bad_share: 0.2
"""


def planted_table() -> pd.DataFrame:
    """A clean customer table, then exactly the defects in ``PLANTED``."""
    index = np.arange(ROWS)
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(index, unit="D")
    n_orders = index % 5
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in index],
            "signup_date": signup.strftime("%Y-%m-%d"),
            "last_active_at": (signup + pd.Timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S"),
            "region": np.array(["north", "south", "east", "west"])[index % 4],
            "age": 20 + index % 50,
            "n_orders": n_orders,
            "total_spend": n_orders * 12.5,
            "churned": index % 2,
        }
    )
    frame = frame.astype({"churned": "float64", "region": object, "customer_id": object})
    frame.loc[[5, 6], "age"] = [150, 121]
    frame.loc[10, "churned"] = np.nan
    frame.loc[11, "customer_id"] = None
    frame.loc[20, "last_active_at"] = "2023-12-01T00:00:00"
    frame.loc[21, "region"] = "North "
    frame.loc[22, ["customer_id", "signup_date"]] = frame.loc[0, ["customer_id", "signup_date"]]
    frame.loc[23, ["n_orders", "total_spend"]] = [0, 40.0]
    frame.loc[[30, 31, 32], "region"] = None  # 1.5% missing: under region's max_missing
    return frame


@pytest.fixture
def planted(project: Path, run) -> Path:
    """The example project with the planted table as data option ``planted``, ingested."""
    planted_table().to_csv(project / "planted.csv", index=False)
    (project / "conf" / "data").mkdir(exist_ok=True)
    (project / "conf" / "data" / "planted.yaml").write_text(PLANTED_OPTION)
    run(["bucle", "params", "data=planted"], project)
    run(["bucle", "stage", "ingest"], project)
    return project


def expected_score(checks: list[dict], rows: int) -> float | None:
    """The documented definition, computed independently of framework.quality.score."""
    scores = [
        (1.0 if c["passed"] else 0.0) if c["level"] == "dataset" else 1 - c["failed_rows"] / rows
        for c in checks
    ]
    return sum(scores) / len(scores) if scores else None


def test_every_planted_defect_is_quarantined_with_its_reason_and_nothing_else(
    planted: Path, run
) -> None:
    run(["bucle", "stage", "validate"], planted)

    raw = pd.read_parquet(planted / "data" / "raw.parquet")
    kept = pd.read_parquet(planted / "data" / "validated.parquet")
    quarantined = pd.read_parquet(planted / "data" / "quarantine.parquet")
    report = json.loads((planted / "reports" / "validation.json").read_text())

    assert len(raw) == ROWS == report["rows_in"]
    assert len(kept) + len(quarantined) == ROWS, "rows in = rows kept + rows quarantined"
    assert report["rows_kept"] == len(kept) and report["rows_quarantined"] == len(quarantined)
    reasons = dict(zip(quarantined["customer_id"], quarantined[REASON_COLUMN], strict=True))
    expected = {
        raw.loc[position, "customer_id"]: ";".join(checks) for position, checks in PLANTED.items()
    }
    assert reasons == expected
    assert report["passed"] is True
    # Every kept row is a row that was not planted, unchanged.
    clean = raw.drop(index=list(PLANTED)).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), clean)


def test_the_report_scores_each_dimension_as_documented(planted: Path, run) -> None:
    run(["bucle", "stage", "validate"], planted)
    report = json.loads((planted / "reports" / "validation.json").read_text())

    dimensions = report["dimensions"]
    assert list(dimensions) == list(DIMENSIONS)
    for name, dimension in dimensions.items():
        mine = [c for c in report["checks"] if c["dimension"] == name]
        assert dimension["checks"] == len(mine)
        assert dimension["score"] == pytest.approx(expected_score(mine, ROWS)), name
        failing = {c["name"] for c in dimension["failing_checks"]}
        assert failing == {c["name"] for c in mine if not c["passed"]}
    measured = [d["score"] for d in dimensions.values()]
    assert report["score"] == pytest.approx(sum(measured) / 4)

    # Spelled out for one dimension: age:type, age:min pass; age:max fails 2 of 200 rows.
    assert dimensions["accuracy"]["score"] == pytest.approx((1 + 1 + 0.99) / 3)
    assert {c["name"] for c in dimensions["consistency"]["failing_checks"]} == {
        "consistency:active_after_signup",
        "consistency:spend_needs_orders",
        "region:canonical",
        "keys:customer_id+signup_date",
    }
    assert {c["name"] for c in dimensions["completeness"]["failing_checks"]} == {
        "churned:label_present",
        "customer_id:not_null",
    }
    assert dimensions["timeliness"]["score"] == 1.0
    canonical = next(c for c in report["checks"] if c["name"] == "region:canonical")
    assert "'North ' (1) for 'north'" in canonical["detail"]


def test_the_html_report_is_self_contained_and_names_every_failing_check(
    planted: Path, run
) -> None:
    run(["bucle", "stage", "validate"], planted)
    page = (planted / "reports" / "validation.html").read_text()
    report = json.loads((planted / "reports" / "validation.json").read_text())

    assert not re.search(r"""(src|href)\s*=\s*["']?https?://""", page)
    assert "<script" not in page and "<link" not in page
    for dimension in DIMENSIONS:
        assert dimension in page
    for dimension in report["dimensions"].values():
        for check in dimension["failing_checks"]:
            assert check["name"] in page
    assert "PASSED" in page
    assert f"{len(PLANTED)} quarantined rows" in page
    assert "consistency:active_after_signup" in page


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("quarantine.min_score=0.999", "quality score 0.9"),
        ("validate.rules.columns.region.max_missing=0.01", "region:max_missing"),
        ("validate.rules.freshness.as_of=2025-12-31", "freshness:last_active_at"),
        ("quarantine.max_bad_share=0.01", "quarantine.max_bad_share=0.01"),
    ],
)
def test_a_failed_gate_is_one_line_and_both_reports_are_still_written(
    planted: Path, run, override: str, names: str
) -> None:
    run(["bucle", "params", "--output", "strict.yaml", "data=planted", override], planted)

    result = run(["bucle", "stage", "validate", "--params", "strict.yaml"], planted, check=False)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("bucle: error: validation failed: ")
    assert names in line and "worst: " in line and "validation.html" in line
    report = json.loads((planted / "reports" / "validation.json").read_text())
    assert report["passed"] is False
    page = (planted / "reports" / "validation.html").read_text()
    assert "FAILED" in page
    quarantined = pd.read_parquet(planted / "data" / "quarantine.parquet")
    kept = pd.read_parquet(planted / "data" / "validated.parquet")
    assert len(kept) + len(quarantined) == ROWS


def test_a_failed_run_still_tracks_the_quality_scores(planted: Path, run) -> None:
    overrides = ["data=planted", "quarantine.min_score=0.999"]
    result = run(["bucle", "run", *overrides], planted, check=False)
    assert result.returncode == 1

    with sqlite3.connect(planted / ".bucle" / "tracking.db") as db:
        (run_id, status, manifest) = db.execute(
            "SELECT run_id, status, manifest FROM runs"
        ).fetchone()
        metrics = dict(db.execute("SELECT key, value FROM metrics WHERE run_id = ?", (run_id,)))
        artifacts = {row[0] for row in db.execute("SELECT name FROM artifacts")}
    assert status == "failed"
    assert {f"validate.{d}_score" for d in DIMENSIONS} <= set(metrics)
    assert 0.9 < metrics["validate.score"] < 0.999
    assert metrics["validate.rows_quarantined"] == len(PLANTED)
    assert "validation_html" in artifacts
    assert "validation_html" in json.loads(manifest)["outputs"]


def test_the_example_project_reports_all_four_dimensions(small_project: Path, run) -> None:
    run(["bucle", "stage", "ingest"], small_project)
    run(["bucle", "stage", "validate"], small_project)

    report = json.loads((small_project / "reports" / "validation.json").read_text())
    assert report["rows_in"] == report["rows_kept"] + report["rows_quarantined"] == 1500
    for dimension in DIMENSIONS:
        assert 0 <= report["dimensions"][dimension]["score"] <= 1, dimension
    assert 0 < report["score"] <= 1
    page = (small_project / "reports" / "validation.html").read_text()
    assert all(dimension in page for dimension in DIMENSIONS)


def test_min_score_outside_zero_to_one_is_a_config_error(planted: Path, run) -> None:
    run(
        ["bucle", "params", "--output", "odd.yaml", "data=planted", "quarantine.min_score=95"],
        planted,
    )

    result = run(["bucle", "stage", "validate", "--params", "odd.yaml"], planted, check=False)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bucle: error: quarantine.min_score=95.0 is not allowed; set it to a number from 0 to 1"
    )


def test_a_target_missing_from_the_ingested_table_is_one_line(planted: Path, run) -> None:
    # params.yaml now names a target the raw table (ingested before the change) does not have.
    run(["bucle", "params", "--output", "odd.yaml", "data=planted", "data.target=label"], planted)

    result = run(["bucle", "stage", "validate", "--params", "odd.yaml"], planted, check=False)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "bucle: error: data.target='label' is not a column of the ingested table; "
        "run `bucle stage ingest` again"
    )
    assert result.stderr.count("\n") == 1


def test_rows_split_by_position_even_when_index_labels_repeat() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3, 4]}, index=[7, 7, 8, 8])

    kept, quarantined = split_rows(frame, {0: ["x:max"], 3: ["x:min", "x:max"]})

    assert kept["x"].tolist() == [2, 3]
    assert quarantined["x"].tolist() == [1, 4]
    assert quarantined[REASON_COLUMN].tolist() == ["x:max", "x:min;x:max"]
    assert len(kept) + len(quarantined) == len(frame)
