"""The ``rules`` validator blames exactly the bad rows and explains config mistakes in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from framework.errors import ConfigError
from plugins.validators.rules import RulesValidator


def run(frame: pd.DataFrame, **options: object) -> dict:
    """Validate ``frame`` and index the results by check name."""
    results = RulesValidator(**options).validate_data(frame=frame, target="churned")
    return {result.name: result for result in results}


def test_min_and_max_fail_exactly_the_out_of_range_rows() -> None:
    frame = pd.DataFrame({"age": [30, -1, 150, 18, 120, 0, 121]})

    results = run(frame, columns={"age": {"min": 0, "max": 120}})

    assert results["age:min"].failed_rows == (1,)
    assert results["age:max"].failed_rows == (2, 6)
    assert results["age:max"].detail == "2 values above 120, e.g. 150"
    assert not results["age:max"].passed
    assert results["age:min"].column == "age"


def test_clean_column_passes_every_rule_and_results_are_still_reported() -> None:
    frame = pd.DataFrame({"plan": ["basic", "pro", "basic"], "age": [20, 30, 40]})
    columns = {
        "plan": {"type": "str", "not_null": True, "allowed": ["basic", "pro"]},
        "age": {"type": "int", "min": 18, "max": 120, "unique": True},
    }

    results = run(frame, columns=columns)

    expected = {"plan:type", "plan:not_null", "plan:allowed", "age:type", "age:min"}
    assert set(results) == expected | {"age:max", "age:unique"}
    assert all(result.passed and result.failed_rows == () for result in results.values())


def test_missing_values_do_not_trip_range_allowed_or_type_checks() -> None:
    frame = pd.DataFrame(
        {"age": [25.0, np.nan, 40.0], "plan": ["basic", None, "pro"]},
    )
    columns = {
        "age": {"type": "int", "min": 0, "max": 120},
        "plan": {"type": "str", "allowed": ["basic", "pro"]},
    }

    results = run(frame, columns=columns)

    assert all(result.passed for result in results.values())


def test_not_null_fails_none_nan_and_nat() -> None:
    frame = pd.DataFrame(
        {
            "plan": ["basic", None, "pro", "pro"],
            "spend": [1.0, 2.0, np.nan, 4.0],
            "seen": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", None]),
        }
    )
    columns = {name: {"not_null": True} for name in frame.columns}

    results = run(frame, columns=columns)

    assert results["plan:not_null"].failed_rows == (1,)
    assert results["spend:not_null"].failed_rows == (2,)
    assert results["seen:not_null"].failed_rows == (3,)


def test_allowed_fails_values_outside_the_set() -> None:
    frame = pd.DataFrame({"plan": ["basic", "gold", "pro", "Basic"]})

    result = run(frame, columns={"plan": {"allowed": ["basic", "pro"]}})["plan:allowed"]

    assert result.failed_rows == (1, 3)
    assert "e.g. 'gold'" in result.detail


def test_unique_flags_only_the_later_duplicates() -> None:
    frame = pd.DataFrame({"customer_id": [7, 8, 7, 9, 8, 7, None, None]})

    result = run(frame, columns={"customer_id": {"unique": True}})["customer_id:unique"]

    # The first 7 and the first 8 are kept; repeated missing ids are not_null's business.
    assert result.failed_rows == (2, 4, 5)


@pytest.mark.parametrize(
    ("expected", "values", "bad_rows"),
    [
        ("int", ["1", "abc", 2.0, 1.5, None, "42"], (1, 3)),
        ("int", [1.0, 2.0, 1.5, np.inf], (2, 3)),
        ("float", ["1.5", "x", 3, None], (1,)),
        ("number", [1, "two", 3.5], (1,)),
        ("str", ["a", 1, "b", None, 2.5], (1, 4)),
        ("bool", [True, "false", "maybe", 0, 3], (2, 4)),
        ("datetime", ["2024-01-01", "yesterday", "2024-02-30", None], (1, 2)),
    ],
)
def test_type_fails_present_values_not_coercible_to_the_type(
    expected: str, values: list, bad_rows: tuple
) -> None:
    frame = pd.DataFrame({"column": pd.Series(values, dtype=object)})

    result = run(frame, columns={"column": {"type": expected}})["column:type"]

    assert result.failed_rows == bad_rows


def test_type_passes_whole_columns_of_the_native_dtype() -> None:
    frame = pd.DataFrame(
        {
            "n": [1, 2, 3],
            "x": [1.5, 2.0, 3.0],
            "s": ["a", "b", "c"],
            "b": [True, False, True],
            "d": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        }
    )
    types = {"n": "int", "x": "float", "s": "str", "b": "bool", "d": "datetime"}

    results = run(frame, columns={name: {"type": kind} for name, kind in types.items()})

    assert all(result.passed for result in results.values())


def test_datetime_bounds_accept_iso_dates_on_datetime_and_text_columns() -> None:
    frame = pd.DataFrame(
        {
            "signup": pd.to_datetime(["2014-12-31", "2015-01-01", "2030-01-01", None]),
            "as_text": ["2014-12-31", "2015-06-01", None, "2025-01-01"],
        }
    )
    bounds = {"type": "datetime", "min": "2015-01-01", "max": "2024-12-31"}

    results = run(frame, columns={"signup": bounds, "as_text": bounds})

    assert results["signup:min"].failed_rows == (0,)
    assert results["signup:max"].failed_rows == (2,)
    assert results["as_text:min"].failed_rows == (0,)
    assert results["as_text:max"].failed_rows == (3,)


def test_failed_rows_are_positions_not_index_labels() -> None:
    frame = pd.DataFrame({"age": [10, 200, 30]}, index=[100, 55, 7])

    result = run(frame, columns={"age": {"max": 120}})["age:max"]

    assert result.failed_rows == (1,)


def test_column_missing_from_the_data_is_one_dataset_level_failure() -> None:
    frame = pd.DataFrame({"age": [1, 2]})

    results = run(frame, columns={"income": {"min": 0, "not_null": True}})

    assert list(results) == ["income:present"]
    result = results["income:present"]
    assert not result.passed
    assert result.level == "dataset"
    assert result.column == "income"
    assert "'income'" in result.detail


def test_freshness_passes_when_the_newest_value_is_recent_enough() -> None:
    frame = pd.DataFrame({"last_active_at": pd.to_datetime(["2024-03-01", "2024-03-08", None])})
    freshness = {"column": "last_active_at", "max_age_days": 3, "as_of": "2024-03-10"}

    result = run(frame, freshness=freshness)["freshness:last_active_at"]

    assert result.passed
    assert result.level == "dataset"
    assert result.failed_rows == ()


def test_freshness_fails_when_the_newest_value_is_too_old() -> None:
    frame = pd.DataFrame({"last_active_at": ["2024-03-01", "2024-03-05"]})
    freshness = {"column": "last_active_at", "max_age_days": 3, "as_of": "2024-03-10"}

    result = run(frame, freshness=freshness)["freshness:last_active_at"]

    assert not result.passed
    assert "2024-03-05" in result.detail
    assert "5.0 days" in result.detail


def test_freshness_without_as_of_measures_against_now() -> None:
    recent = pd.Timestamp.now() - pd.Timedelta(hours=1)
    frame = pd.DataFrame({"seen": [recent]})

    result = run(frame, freshness={"column": "seen", "max_age_days": 1})["freshness:seen"]

    assert result.passed


def test_unknown_rule_names_the_column_the_rule_and_the_likely_fix() -> None:
    with pytest.raises(ConfigError) as error:
        RulesValidator(columns={"age": {"maxx": 120}})

    assert str(error.value) == (
        "validate.rules.columns.age: unknown rule 'maxx'; accepted rules: allowed, max, min, "
        "not_null, type, unique; did you mean 'max'?"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"columns": {"age": {"type": "integer"}}}, "did you mean 'int'?"),
        ({"columns": {"age": {"min": 10, "max": 5}}}, "min (10) is above max (5)"),
        ({"columns": {"age": {"not_null": "yes"}}}, "expected true or false"),
        ({"columns": {"plan": {"allowed": "basic"}}}, "non-empty list"),
        ({"columns": {"d": {"type": "datetime", "min": 3}}}, "must be ISO dates"),
        ({"columns": {"d": {"min": "last tuesday"}}}, "not an ISO date"),
        ({"freshness": {"column": "seen", "max_age": 3}}, "did you mean 'max_age_days'?"),
        ({"freshness": {"column": "seen", "max_age_days": -1}}, "max_age_days"),
    ],
)
def test_bad_option_values_fail_when_the_plugin_is_built(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^validate\.rules") as error:
        RulesValidator(**options)

    assert message in str(error.value)


def test_options_from_omegaconf_are_accepted() -> None:
    config = OmegaConf.create({"columns": {"plan": {"allowed": ["basic", "pro"]}}})
    frame = pd.DataFrame({"plan": ["basic", "free"]})

    result = run(frame, columns=config.columns)["plan:allowed"]

    assert result.failed_rows == (1,)


def test_validator_does_not_modify_the_frame() -> None:
    frame = pd.DataFrame({"age": [1, 500], "when": ["2024-01-01", "x"]})
    before = frame.copy()

    run(frame, columns={"age": {"max": 120}, "when": {"type": "datetime"}})

    pd.testing.assert_frame_equal(frame, before)


def test_importing_the_plugin_does_not_import_pandas() -> None:
    # `bucle plugins` imports every plugin module to list it; that must stay fast.
    import subprocess

    code = "import sys, plugins.validators.rules; print('pandas' in sys.modules)"
    root = Path(__file__).resolve().parents[3]
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    ).stdout
    assert output.strip() == "False"


def test_a_million_rows_with_ten_rules_validates_in_seconds() -> None:
    import time

    rows = 1_000_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "age": rng.integers(0, 130, rows).astype(float),
            "plan": rng.choice(["basic", "pro", "free"], rows),
            "spend": rng.normal(100, 50, rows),
        }
    )
    columns = {
        "customer_id": {"type": "int", "unique": True, "not_null": True},
        "age": {"type": "int", "min": 0, "max": 120},
        "plan": {"type": "str", "allowed": ["basic", "pro"]},
        "spend": {"type": "float", "min": 0},
    }

    started = time.perf_counter()
    results = run(frame, columns=columns)
    elapsed = time.perf_counter() - started

    assert len(results) == 10
    assert elapsed < 5
    assert len(results["age:max"].failed_rows) == int((frame["age"] > 120).sum())
