"""The ``rules`` validator blames exactly the bad rows, files every check under its data-quality
dimension and explains config mistakes in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from framework.errors import ConfigError
from framework.testing import ValidatorContract
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
        "validate.rules.columns.age: unknown rule 'maxx'; accepted rules: allowed, canonical, "
        "max, max_missing, min, not_null, type, unique; did you mean 'max'?"
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
        ({"columns": {"age": {"max_missing": 1.5}}}, "a number from 0 to 1 like 0.05"),
        ({"columns": {"age": {"max_missing": "5%"}}}, "a number from 0 to 1 like 0.05"),
        ({"columns": {"age": {"max_missing": True}}}, "a number from 0 to 1 like 0.05"),
        ({"columns": {"region": {"canonical": "yes"}}}, "expected true or false"),
        ({"columns": {"region": {"canonicl": True}}}, "did you mean 'canonical'?"),
        ({"keys": "customer_id"}, "expected a list of column names"),
        ({"keys": ["customer_id", ""]}, "expected a list of column names"),
        ({"keys": ["a", "b", "a"]}, "column 'a' is listed twice"),
        ({"consistency": ["a >= b"]}, "expected a mapping of rule name to expression"),
        ({"consistency": {"x;y": "a >= b"}}, "cannot be empty or hold ';'"),
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


# ---------------------------------------------------------------------------------------------
# Dimensions: every check is filed where the report scores it.
# ---------------------------------------------------------------------------------------------


def test_every_check_is_filed_under_its_data_quality_dimension() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b"],
            "age": [20, 30, None],
            "region": ["north", "north", "North"],
            "start": pd.to_datetime(["2024-01-01"] * 3),
            "end": pd.to_datetime(["2024-01-02"] * 3),
        }
    )
    options = {
        "columns": {
            "age": {"type": "int", "min": 0, "max": 120, "not_null": True, "max_missing": 0.5},
            "region": {"allowed": ["north"], "canonical": True},
            "customer_id": {"unique": True},
            "income": {"min": 0},
        },
        "consistency": {"ends_after_start": "end >= start"},
        "keys": ["customer_id", "region"],
        "freshness": {"column": "end", "max_age_days": 1, "as_of": "2024-01-02"},
    }

    dimensions = {name: result.dimension for name, result in run(frame, **options).items()}

    assert dimensions == {
        "age:type": "accuracy",
        "age:min": "accuracy",
        "age:max": "accuracy",
        "region:allowed": "accuracy",
        "age:not_null": "completeness",
        "age:max_missing": "completeness",
        "income:present": "completeness",
        "region:canonical": "consistency",
        "customer_id:unique": "consistency",
        "keys:customer_id+region": "consistency",
        "consistency:ends_after_start": "consistency",
        "freshness:end": "timeliness",
    }


# ---------------------------------------------------------------------------------------------
# Completeness: max_missing is a dataset check on the column's missing share.
# ---------------------------------------------------------------------------------------------


def test_max_missing_fails_the_column_when_its_missing_share_is_above_the_threshold() -> None:
    values = [1.0] * 232 + [np.nan] * 18  # 18 of 250 = 7.2%
    frame = pd.DataFrame({"income": values})

    result = run(frame, columns={"income": {"max_missing": 0.05}})["income:max_missing"]

    assert not result.passed
    assert result.level == "dataset"
    assert result.failed_rows == (), "a dataset check quarantines no rows; it fails the stage"
    assert result.detail == "7.2% missing (18 of 250 rows), max 5%"


@pytest.mark.parametrize(
    ("missing", "threshold", "passed"),
    [(5, 0.05, True), (6, 0.05, False), (0, 0.0, True), (1, 0.0, False), (100, 1.0, True)],
)
def test_max_missing_passes_up_to_and_including_the_threshold(
    missing: int, threshold: float, passed: bool
) -> None:
    frame = pd.DataFrame({"plan": ["basic"] * (100 - missing) + [None] * missing})

    result = run(frame, columns={"plan": {"max_missing": threshold}})["plan:max_missing"]

    assert result.passed is passed


def test_max_missing_counts_none_nan_and_nat_alike() -> None:
    frame = pd.DataFrame(
        {
            "text": ["a", None, "b", "c"],
            "number": [1.0, 2.0, np.nan, 4.0],
            "when": pd.to_datetime(["2024-01-01", None, None, "2024-01-04"]),
        }
    )
    columns = {name: {"max_missing": 0.3} for name in frame.columns}

    results = run(frame, columns=columns)

    assert results["text:max_missing"].passed
    assert results["number:max_missing"].passed
    assert not results["when:max_missing"].passed
    assert results["when:max_missing"].detail.startswith("50% missing (2 of 4 rows)")


# ---------------------------------------------------------------------------------------------
# Consistency: canonical spellings, composite keys, cross-column rules.
# ---------------------------------------------------------------------------------------------


def test_canonical_flags_exactly_the_variant_spellings_of_a_category() -> None:
    frame = pd.DataFrame(
        {"region": ["north", "North ", "north", " north", "south", "SOUTH", "south", None, "east"]}
    )

    result = run(frame, columns={"region": {"canonical": True}})["region:canonical"]

    assert not result.passed
    assert result.failed_rows == (1, 3, 5)
    assert result.detail == (
        "3 values spell their category differently from the most common spelling: "
        "' north' (1) and 'North ' (1) for 'north'; 'SOUTH' (1) for 'south'"
    )


def test_canonical_keeps_the_most_frequent_spelling_even_when_it_is_not_lower_case() -> None:
    frame = pd.DataFrame({"plan": ["Basic", "Basic", "basic", "Basic", "Pro"]})

    result = run(frame, columns={"plan": {"canonical": True}})["plan:canonical"]

    assert result.failed_rows == (2,)
    assert "'basic' (1) for 'Basic'" in result.detail


def test_canonical_breaks_ties_the_same_way_whatever_the_row_order() -> None:
    forward = pd.DataFrame({"plan": ["Pro", "pro", "PRO "]})
    backward = forward.iloc[::-1].reset_index(drop=True)

    first = run(forward, columns={"plan": {"canonical": True}})["plan:canonical"]
    second = run(backward, columns={"plan": {"canonical": True}})["plan:canonical"]

    # Equal counts: the spelling already stripped and lower-cased wins, in either order.
    assert first.failed_rows == (0, 2)
    assert second.failed_rows == (0, 2)
    assert first.detail.endswith("for 'pro'") and second.detail.endswith("for 'pro'")


def test_canonical_passes_one_spelling_per_category_and_ignores_non_text() -> None:
    frame = pd.DataFrame({"code": pd.Series(["a", "b", 1, None, "a", 2.5], dtype=object)})

    result = run(frame, columns={"code": {"canonical": True}})["code:canonical"]

    assert result.passed and result.failed_rows == ()


def test_canonical_reads_categorical_columns() -> None:
    frame = pd.DataFrame({"region": pd.Categorical(["west", "West", "west", "east"])})

    result = run(frame, columns={"region": {"canonical": True}})["region:canonical"]

    assert result.failed_rows == (1,)


def test_keys_flag_rows_repeating_an_earlier_key_tuple() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "b", None, None, "c"],
            "day": ["d1", "d2", "d1", "d1", "d1", "d1", "d1", None],
        }
    )

    result = run(frame, keys=["customer_id", "day"])["keys:customer_id+day"]

    assert not result.passed
    assert result.level == "row"
    # (a, d1) again at 3, (b, d1) again at 4; keys with a missing part are not_null's business.
    assert result.failed_rows == (3, 4)
    assert (
        result.detail
        == "2 rows repeat the key (customer_id, day) of an earlier row, e.g. ('a', 'd1')"
    )


def test_keys_pass_when_every_tuple_is_new_and_fail_the_data_set_when_a_key_is_absent() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "a"], "day": ["d1", "d2"]})

    assert run(frame, keys=["customer_id", "day"])["keys:customer_id+day"].passed
    absent = run(frame, keys=["customer_id", "order"])["keys:customer_id+order"]
    assert not absent.passed and absent.level == "dataset"
    assert "'order' is not in the data" in absent.detail


@pytest.fixture
def activity() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "signup_date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", None, "2024-05-01"]
            ),
            "last_active_at": pd.to_datetime(
                ["2024-01-05", "2024-01-15", "2024-03-01", "2024-04-01", "2024-04-30 23:00"],
                format="ISO8601",
            ),
            "n_orders": [0, 2, 0, 1, 3],
            "total_spend": [0.0, 20.0, 15.0, np.nan, 30.0],
        },
        index=[10, 11, 12, 13, 14],
    )


def test_a_consistency_rule_fails_the_rows_where_it_is_false(activity: pd.DataFrame) -> None:
    rules = {
        "active_after_signup": "last_active_at >= signup_date",
        "spend_needs_orders": "where(n_orders == 0, total_spend == 0, 1)",
    }

    results = run(activity, consistency=rules)

    after = results["consistency:active_after_signup"]
    assert after.failed_rows == (1, 4), "row 3 has no signup date, so it is not judged"
    assert after.dimension == "consistency" and after.level == "row"
    assert after.detail == (
        "2 rows break last_active_at >= signup_date, "
        "e.g. last_active_at=2024-01-15, signup_date=2024-02-01"
    )
    assert results["consistency:spend_needs_orders"].failed_rows == (2,)


def test_a_consistency_rule_compares_dates_written_as_text(activity: pd.DataFrame) -> None:
    # A CSV keeps dates as ISO text; the rule must read them as dates, not fail on them.
    as_text = activity.assign(
        signup_date=activity["signup_date"].dt.strftime("%Y-%m-%d"),
        last_active_at=activity["last_active_at"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    rule = {"active_after_signup": "last_active_at >= signup_date"}

    result = run(as_text, consistency=rule)["consistency:active_after_signup"]

    assert result.failed_rows == (1, 4)


def test_consistency_rules_subtract_dates_in_days_and_still_call_date_functions(
    activity: pd.DataFrame,
) -> None:
    rules = {
        "within_a_month": "last_active_at - signup_date <= 31",
        "same_via_function": "days_between(signup_date, last_active_at) <= 31",
    }

    results = run(activity, consistency=rules)

    # Row 4 is 30.96 days *before* signup, so both rules pass it; nothing is more than 31 after.
    assert results["consistency:within_a_month"].passed
    assert results["consistency:same_via_function"].passed
    tight = run(activity, consistency={"a_week": "last_active_at - signup_date <= 3"})
    assert tight["consistency:a_week"].failed_rows == (0,)


def test_a_consistency_rule_never_fails_a_row_it_cannot_judge() -> None:
    frame = pd.DataFrame({"spend": [10.0, np.nan, 5.0, 0.0], "orders": [1, 2, np.nan, 0]})
    rules = {
        "ratio": "spend / orders > 1",  # a comparison with no answer is false, as in features
        "guarded": "where(orders > 0, spend / orders > 1, 1)",
        "nonzero_ratio": "spend / orders",  # its value is missing when orders is 0
    }

    results = run(frame, consistency=rules)

    # Rows 1 and 2 read a missing value: never judged. Row 3 divides by zero, so the bare
    # comparison is false there; the guarded rule and the missing value let it through.
    assert results["consistency:ratio"].failed_rows == (3,)
    assert results["consistency:guarded"].passed
    assert results["consistency:nonzero_ratio"].passed


def test_an_invalid_consistency_rule_is_a_config_error_at_construction() -> None:
    with pytest.raises(ConfigError) as error:
        RulesValidator(consistency={"ok": "a >= b", "sneaky": "__import__('os').system('x')"})

    message = str(error.value)
    assert message.startswith("validate.rules.consistency.sneaky: ")
    assert "features.derived" not in message
    with pytest.raises(ConfigError, match=r"^validate\.rules\.consistency\.typo: .*did you mean"):
        RulesValidator(consistency={"typo": "wehre(a > 0, 1, 0)"})
    with pytest.raises(ConfigError, match=r"^validate\.rules\.consistency\.broken: .*not a valid"):
        RulesValidator(consistency={"broken": "a >= "})


def test_a_consistency_rule_that_cannot_run_on_the_data_fails_the_data_set() -> None:
    frame = pd.DataFrame({"a": [1, 2], "plan": ["basic", "pro"]})
    rules = {"absent": "a <= income", "text": "plan > 0"}

    results = run(frame, consistency=rules)

    absent = results["consistency:absent"]
    assert not absent.passed and absent.level == "dataset"
    assert "reads column 'income', which is not in the data" in absent.detail
    text = results["consistency:text"]
    assert not text.passed and text.level == "dataset"
    assert "column 'plan' holds values that are not numbers, e.g. 'basic'" in text.detail
    assert "features.derived" not in text.detail


def test_timeliness_results_are_filed_as_timeliness_even_when_the_column_is_absent() -> None:
    frame = pd.DataFrame({"other": [1]})

    result = run(frame, freshness={"column": "seen", "max_age_days": 1})["freshness:seen"]

    assert result.dimension == "timeliness" and not result.passed


def test_the_new_rules_on_a_million_rows_validate_in_seconds() -> None:
    import time

    rows = 1_000_000
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, rows), unit="D")
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(0, rows, rows),
            "day": rng.integers(0, 30, rows),
            "region": rng.choice(["north", "south", "North ", "east"], rows),
            "income": np.where(rng.random(rows) < 0.02, np.nan, rng.normal(100, 10, rows)),
            "signup_date": start,
            "last_active_at": start + pd.to_timedelta(rng.integers(-5, 500, rows), unit="D"),
        }
    )
    options = {
        "columns": {"region": {"canonical": True}, "income": {"max_missing": 0.05}},
        "consistency": {"after": "last_active_at >= signup_date"},
        "keys": ["customer_id", "day"],
    }

    started = time.perf_counter()
    results = run(frame, **options)
    elapsed = time.perf_counter() - started

    assert elapsed < 5
    expected = int((frame["last_active_at"] < frame["signup_date"]).sum())
    assert len(results["consistency:after"].failed_rows) == expected
    assert len(results["region:canonical"].failed_rows) == int((frame["region"] == "North ").sum())


class TestRulesValidatorContract(ValidatorContract):
    @pytest.fixture
    def plugin(self) -> RulesValidator:
        return RulesValidator(
            columns={
                "age": {"type": "int", "min": 18, "max": 120},
                "plan": {"allowed": ["basic", "premium"], "not_null": True},
                "churned": {"allowed": [0, 1]},
            },
            consistency={"spend_needs_orders": "where(n_orders == 0, spend == 0, 1)"},
        )

    @pytest.fixture
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "age": [25, 17, 40, 130, 33],
                "plan": ["basic", "premium", None, "basic", "gold"],
                "n_orders": [1, 0, 2, 0, 3],
                "spend": [10.0, 5.0, 20.0, 0.0, 9.0],
                "churned": [0, 1, 0, 1, 0],
            },
            index=[10, 11, 12, 13, 14],  # positions, not labels, name the failed rows
        )

    @pytest.fixture
    def target(self) -> str:
        return "churned"


# ---------------------------------------------------------------------------------------------
# YAML 1.1 booleans: Hydra and OmegaConf read unquoted Yes/No/on/off as true/false.
# ---------------------------------------------------------------------------------------------


def rules_from_yaml(text: str) -> RulesValidator:
    """Build the validator from YAML text the way a composed config reaches it."""
    cfg = OmegaConf.create(text)
    return RulesValidator(**cfg.validate.rules)


@pytest.mark.parametrize(
    ("written", "texts", "fix"),
    [
        ("[Yes, No]", ["Yes", "No", "Yes", None], "allowed: ['Yes', 'No']"),
        ("[yes, no, maybe]", ["yes", "no", "maybe", "no"], "allowed: ['yes', 'no', 'maybe']"),
    ],
)
def test_unquoted_yes_no_in_allowed_is_refused_on_a_text_column_naming_key_and_fix(
    written: str, texts: list, fix: str
) -> None:
    validator = rules_from_yaml(
        f"validate:\n  rules:\n    columns:\n      answer: {{allowed: {written}}}\n"
    )
    frame = pd.DataFrame({"answer": texts})

    with pytest.raises(ConfigError) as raised:
        validator.validate_data(frame=frame, target="churned")

    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert message.startswith("validate.rules.columns.answer.allowed: ")
    assert "read as booleans" in message and "holds text" in message
    assert message.endswith(f"quote them: {fix}")


def test_quoted_yes_no_in_allowed_match_the_texts() -> None:
    validator = rules_from_yaml(
        "validate:\n  rules:\n    columns:\n      answer: {allowed: ['Yes', 'No']}\n"
    )
    frame = pd.DataFrame({"answer": ["Yes", "No", "maybe"]})

    results = {r.name: r for r in validator.validate_data(frame=frame, target="churned")}

    assert results["answer:allowed"].failed_rows == (2,)


def test_unquoted_true_false_still_check_a_boolean_column() -> None:
    validator = rules_from_yaml(
        "validate:\n  rules:\n    columns:\n      active: {allowed: [Yes, No]}\n"
    )
    frame = pd.DataFrame({"active": [True, False, True]})

    results = {r.name: r for r in validator.validate_data(frame=frame, target="churned")}

    assert results["active:allowed"].passed


def test_booleans_in_allowed_of_a_str_column_are_refused_at_construction() -> None:
    with pytest.raises(ConfigError) as raised:
        rules_from_yaml(
            "validate:\n  rules:\n    columns:\n      answer: {type: str, allowed: [Yes, No]}\n"
        )
    message = str(raised.value)
    assert message.startswith("validate.rules.columns.answer.allowed: ")
    assert "type str" in message and "quote" in message and len(message.splitlines()) == 1
