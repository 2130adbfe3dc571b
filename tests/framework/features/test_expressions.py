"""Derived-feature expressions compute safely and refuse anything that is not arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from framework.errors import ConfigError, DataError
from framework.features.expressions import compute_features, parse_expression


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "total_spend": [100.0, 50.0, 0.0, np.nan],
            "n_orders": [4, 0, 0, 2],
            "signup_date": pd.to_datetime(
                ["2024-01-15", "2023-12-31 18:30", None, "2020-02-29"], format="ISO8601"
            ),
            "last_active_at": ["2024-01-25", "2024-01-01T06:30:00", "2024-01-01", "2020-03-01"],
            "plan": ["pro", None, "basic", "basic"],
        },
        index=[10, 11, 12, 13],
    )


def values(series: pd.Series) -> list:
    """Series values with NaN as None, so expected lists can be compared with ``==``."""
    return [None if pd.isna(value) else value for value in series.tolist()]


def test_arithmetic_follows_python_precedence(customers: pd.DataFrame) -> None:
    feature = parse_expression("score", "total_spend - n_orders * 2 ** 2 + 1")

    result = feature.evaluate(customers)

    assert values(result) == [85.0, 51.0, 1.0, None]
    assert result.name == "score"
    assert list(result.index) == [10, 11, 12, 13]
    assert result.dtype == "float64"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("total_spend / n_orders", [25.0, None, None, None]),
        ("total_spend // n_orders", [25.0, None, None, None]),
        ("total_spend % n_orders", [0.0, None, None, None]),
        ("1 / 0", [None, None, None, None]),
    ],
)
def test_division_by_zero_gives_nan_never_inf(
    customers: pd.DataFrame, expression: str, expected: list
) -> None:
    result = parse_expression("ratio", expression).evaluate(customers)

    assert values(result) == expected
    assert not np.isinf(result).any()


def test_log_and_sqrt_outside_their_domain_give_nan() -> None:
    frame = pd.DataFrame({"x": [-4.0, 0.0, 4.0]})

    assert values(parse_expression("f", "sqrt(x)").evaluate(frame)) == [None, 0.0, 2.0]
    assert values(parse_expression("f", "log(x)").evaluate(frame)) == [None, None, np.log(4)]
    assert values(parse_expression("f", "log1p(x)").evaluate(frame)) == [None, 0.0, np.log(5)]


def test_comparisons_give_zero_or_one_integers(customers: pd.DataFrame) -> None:
    result = parse_expression("loyal", "n_orders >= 2").evaluate(customers)

    assert values(result) == [1, 0, 0, 1]
    assert result.dtype == "int64"


def test_where_picks_per_row_and_a_missing_condition_gives_nan(customers: pd.DataFrame) -> None:
    result = parse_expression("capped", "where(total_spend > 60, 60, total_spend)")

    assert values(result.evaluate(customers)) == [60.0, 50.0, 0.0, None]


def test_functions_min_max_clip_abs(customers: pd.DataFrame) -> None:
    frame = pd.DataFrame({"x": [-5.0, 0.5, 7.0]})

    assert values(parse_expression("f", "clip(x, 0, 1)").evaluate(frame)) == [0.0, 0.5, 1.0]
    assert values(parse_expression("f", "max(x, 0, 1)").evaluate(frame)) == [1.0, 1.0, 7.0]
    assert values(parse_expression("f", "min(x, 0)").evaluate(frame)) == [-5.0, 0.0, 0.0]
    assert values(parse_expression("f", "abs(x)").evaluate(frame)) == [5.0, 0.5, 7.0]


def test_date_parts_read_datetime_columns(customers: pd.DataFrame) -> None:
    def part(expression: str) -> list:
        return values(parse_expression("part", expression).evaluate(customers))

    assert part("year(signup_date)") == [2024.0, 2023.0, None, 2020.0]
    assert part("month(signup_date)") == [1.0, 12.0, None, 2.0]
    assert part("day(signup_date)") == [15.0, 31.0, None, 29.0]
    assert part("dayofweek(signup_date)") == [0.0, 6.0, None, 5.0]  # Monday is 0
    assert part("hour(signup_date)") == [0.0, 18.0, None, 0.0]


def test_days_between_is_fractional_days_and_reads_iso_text(customers: pd.DataFrame) -> None:
    feature = parse_expression("tenure_days", "days_between(signup_date, last_active_at)")

    assert values(feature.evaluate(customers)) == [10.0, 0.5, None, 1.0]


def test_is_missing_works_on_text_and_number_columns(customers: pd.DataFrame) -> None:
    assert values(parse_expression("f", "is_missing(plan)").evaluate(customers)) == [0, 1, 0, 0]
    assert values(parse_expression("f", "is_missing(total_spend)").evaluate(customers)) == [
        0,
        0,
        0,
        1,
    ]


def test_compute_features_adds_columns_in_order_and_later_ones_use_earlier_ones(
    customers: pd.DataFrame,
) -> None:
    derived = {
        "avg_spend": "total_spend / n_orders",
        "big_spender": "where(avg_spend > 20, 1, 0)",
    }

    result = compute_features(customers, derived)

    assert list(result.columns) == [*customers.columns, "avg_spend", "big_spender"]
    # Row 3 has no spend: comparing a missing value gives 0, like pandas, so it is not big.
    assert values(result["big_spender"]) == [1.0, 0.0, 0.0, 0.0]
    assert "avg_spend" not in customers.columns  # the input is left alone


def test_compute_features_accepts_omegaconf_mappings(customers: pd.DataFrame) -> None:
    derived = OmegaConf.create({"orders_plus_one": "n_orders + 1"})

    result = compute_features(customers, derived)

    assert values(result["orders_plus_one"]) == [5.0, 1.0, 1.0, 3.0]


def test_one_row_gives_the_same_values_and_dtypes_as_the_whole_frame(
    customers: pd.DataFrame,
) -> None:
    # Serving computes features one request at a time, from JSON: text and object columns.
    derived = {"avg_spend": "total_spend / n_orders", "loyal": "n_orders >= 2"}
    request = pd.DataFrame([{"total_spend": "100", "n_orders": 4}], dtype=object)

    batch = compute_features(customers, derived).iloc[[0]]
    single = compute_features(request, derived)

    assert single["avg_spend"].tolist() == batch["avg_spend"].tolist()
    assert single["loyal"].tolist() == batch["loyal"].tolist()
    assert (single.dtypes[["avg_spend", "loyal"]] == batch.dtypes[["avg_spend", "loyal"]]).all()


def test_columns_lists_the_inputs_sorted_without_function_names() -> None:
    feature = parse_expression("f", "where(b > 1, log(a), c) + a")

    assert feature.columns == ("a", "b", "c")


@pytest.mark.parametrize(
    ("expression", "mentions"),
    [
        ("total_spend / n_orders.__class__", "attribute access"),
        ("__import__('os')", "'__import__'"),
        ("__builtins__", "'__builtins__'"),
        ("total_spend[0]", "subscripts"),
        ("(lambda: 1)()", "lambda"),
        ("[x for x in n_orders]", "comprehension"),
        ("'pro'", "text strings"),
        ("total_spend if n_orders else 0", "where(cond, a, b)"),
        ("n_orders & 1", "'&'"),
        ("total_spend +", "not a valid expression"),
    ],
)
def test_forbidden_constructs_are_refused_naming_the_feature(
    expression: str, mentions: str
) -> None:
    _assert_refused("avg_spend", expression, mentions)


def _assert_refused(name: str, expression: str, mentions: str) -> None:
    """parse_expression refuses ``expression`` with one line naming the feature and ``mentions``."""
    with pytest.raises(ConfigError) as error:
        parse_expression(name, expression)

    message = str(error.value)
    assert message.startswith(f"features.derived.{name}: ")
    assert mentions in message
    assert "\n" not in message


def test_attribute_access_message_says_what_is_allowed() -> None:
    with pytest.raises(ConfigError) as error:
        parse_expression("avg_spend", "total_spend / n_orders.__class__")

    assert str(error.value).startswith(
        "features.derived.avg_spend: 'total_spend / n_orders.__class__' uses attribute access, "
        "which is not allowed; allowed: column names, numbers, + - * / // % **, comparisons"
    )


def test_unknown_function_lists_the_allowed_ones_and_suggests_one() -> None:
    with pytest.raises(ConfigError) as error:
        parse_expression("spend", "sqr(total_spend)")

    message = str(error.value)
    assert message.startswith("features.derived.spend: 'sqr(total_spend)' calls unknown function")
    assert "abs, clip, log" in message
    assert "did you mean 'sqrt'?" in message


def test_wrong_number_of_arguments_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"clip\(\) with 1 argument\(s\); it takes 3"):
        parse_expression("f", "clip(x)")


def test_unknown_column_at_evaluate_time_names_feature_column_and_available(
    customers: pd.DataFrame,
) -> None:
    feature = parse_expression("avg_spend", "total_spend / n_order")

    with pytest.raises(ConfigError) as error:
        feature.evaluate(customers)

    message = str(error.value)
    assert message.startswith("features.derived.avg_spend: ")
    assert "'n_order'" in message
    assert "available columns: total_spend, n_orders, signup_date" in message
    assert "did you mean 'n_orders'?" in message


def test_compute_features_checks_every_expression_before_computing(
    customers: pd.DataFrame,
) -> None:
    derived = {"good": "n_orders + 1", "bad": "n_orders.real"}

    with pytest.raises(ConfigError, match=r"^features\.derived\.bad: "):
        compute_features(customers, derived)


def test_a_derived_name_that_shadows_a_data_column_is_refused(customers: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="already has a column named 'plan'"):
        compute_features(customers, {"plan": "n_orders * 2"})


def test_arithmetic_on_text_or_date_columns_is_a_data_error(customers: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"column 'plan' holds values that are not numbers"):
        parse_expression("f", "plan * 2").evaluate(customers)
    with pytest.raises(DataError, match=r"year\(\)"):
        parse_expression("f", "signup_date + 1").evaluate(customers)
    with pytest.raises(DataError, match="holds numbers"):
        parse_expression("f", "year(n_orders)").evaluate(customers)


def test_bucket_gives_the_zero_based_band_and_an_edge_starts_the_band_above_it() -> None:
    frame = pd.DataFrame({"age": pd.array([18, 29, 30, 44, 45, 59, 60, 95, None], dtype="Int64")})

    result = parse_expression("age_band", "bucket(age, 30, 45, 60)").evaluate(frame)

    assert values(result) == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, None]
    assert result.dtype == "float64"


def test_bucket_takes_any_numeric_expression_and_negative_or_fractional_edges() -> None:
    frame = pd.DataFrame({"x": [-3.0, -0.5, 0.25, 2.0, np.nan]})

    result = parse_expression("band", "bucket(x * 2, -1, 0.5)").evaluate(frame)

    # x * 2 is -6, -1, 0.5, 4 and missing: below -1, at -1, at 0.5, above 0.5.
    assert values(result) == [0.0, 1.0, 2.0, 2.0, None]


def test_bucket_of_one_row_is_the_band_the_whole_frame_gives_that_row() -> None:
    batch = pd.DataFrame({"age": [25, 50, 70]})
    request = pd.DataFrame([{"age": "50"}], dtype=object)  # a JSON request: text numbers

    feature = parse_expression("age_band", "bucket(age, 30, 45, 60)")

    assert values(feature.evaluate(request)) == [values(feature.evaluate(batch))[1]] == [2.0]


@pytest.mark.parametrize(
    ("expression", "mentions"),
    [
        ("bucket(age, 45, 30)", "the edges 45, 30, which are not strictly increasing"),
        ("bucket(age, 30, 30)", "the edges 30, 30, which are not strictly increasing"),
        ("bucket(age, 30, limit)", "passes 'limit' as an edge of bucket()"),
        ("bucket(age, 30 + 1)", "passes '30 + 1' as an edge of bucket()"),
        ("bucket(age, 'thirty')", "as an edge of bucket()"),
        ("bucket(age)", "bucket() with 1 argument(s); it takes at least 2"),
    ],
)
def test_bucket_edges_must_be_increasing_numbers_or_it_is_a_config_error_naming_the_feature(
    expression: str, mentions: str
) -> None:
    _assert_refused("age_band", expression, mentions)


def test_bucket_is_listed_among_the_allowed_functions() -> None:
    with pytest.raises(ConfigError) as error:
        parse_expression("band", "buckets(age, 30)")

    assert "bucket" in str(error.value).split("allowed functions: ")[1]
    assert "did you mean 'bucket'?" in str(error.value)


def test_column_kinds_say_what_each_read_column_must_hold() -> None:
    feature = parse_expression(
        "f", "where(is_missing(plan), 0, days_between(signup_date, last_active_at) / n_orders)"
    )

    assert feature.column_kinds() == {
        "last_active_at": "datetime",
        "n_orders": "number",
        "plan": "any",
        "signup_date": "datetime",
    }


def test_an_expression_from_another_section_names_that_section_when_it_fails() -> None:
    section = "validate.rules.consistency"
    with pytest.raises(ConfigError) as refused:
        parse_expression("adult", "age.real >= 18", section)
    assert str(refused.value).startswith(
        "validate.rules.consistency.adult: 'age.real >= 18' uses attribute access"
    )

    rule = parse_expression("adult", "age >= 18", section)
    with pytest.raises(ConfigError) as absent:
        rule.evaluate(pd.DataFrame({"agee": [20]}))
    assert str(absent.value).startswith(
        "validate.rules.consistency.adult: 'age >= 18' reads column 'age', which is not in the data"
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("x + " + "9" * 400, "number too large.*400 digits"),
        ("-" * 2000 + "x", "longer than 1000 characters"),
        ("+".join(["x"] * 2000), "longer than 1000 characters"),
        ("-" * 500 + "x", "nests more than 64 operations"),
        ("+".join(["x"] * 300), "nests more than 64 operations"),
        ("not " * 200 + "x", "nests more than 64 operations"),
        ("(" * 300 + "x" + ")" * 300, "nests more than 64|not a valid expression"),
        ("max(" + ",".join(["x"] * 300) + ")", "more than 256 names"),
    ],
    ids=[
        "400 digits",
        "2000 unary",
        "2000 sums",
        "500 unary",
        "300 sums",
        "nots",
        "parens",
        "wide",
    ],
)
def test_an_oversized_expression_is_a_one_line_config_error(expression: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as error:
        parse_expression("f", expression)
    message = str(error.value)
    assert "\n" not in message and message.startswith("features.derived.f: ")
    assert len(message) < 400  # the expression is quoted shortened, not in full


def test_an_expression_at_a_realistic_size_still_parses() -> None:
    columns = [f"c{i}" for i in range(40)]
    feature = parse_expression("total", " + ".join(columns))
    assert feature.columns == tuple(sorted(columns))
