"""Drift against a reference profile: clean windows rarely alarm, real changes do, the data-set
rule, prediction drift, and windows with missing columns, missing values or no rows at all."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from framework.errors import ConfigError
from framework.monitoring.drift import (
    CHI_SQUARE,
    JENSEN_SHANNON,
    KS,
    WASSERSTEIN,
    DriftThresholds,
    column_drift,
    dataset_drift,
    prediction_drift,
)
from framework.monitoring.profile import OTHER, build_profile

REGIONS = ["north", "south", "east", "west", "centre"]
REGION_MIX = [0.35, 0.25, 0.2, 0.15, 0.05]


def customers(n: int, rng: np.random.Generator, **changes) -> pd.DataFrame:
    """Rows like the training data; ``changes`` alter one column's distribution."""
    return pd.DataFrame(
        {
            "age": rng.normal(changes.get("age_mean", 40), changes.get("age_std", 10), size=n),
            "spend": rng.lognormal(3, 1, size=n) * changes.get("spend_scale", 1.0),
            "visits": rng.poisson(changes.get("visits_rate", 3), size=n),
            "region": rng.choice(
                changes.get("regions", REGIONS), size=n, p=changes.get("mix", REGION_MIX)
            ),
        }
    )


NUMERIC, CATEGORICAL = ["age", "spend", "visits"], ["region"]


@pytest.fixture(scope="module")
def profile():
    return build_profile(customers(50_000, np.random.default_rng(0)), NUMERIC, CATEGORICAL)


def drift_of(profile, window, column):
    return next(
        result for result in dataset_drift(profile, window).columns if result.name == column
    )


# --- clean windows --------------------------------------------------------------------------


def test_clean_small_windows_alarm_about_as_often_as_the_p_value_level(profile):
    rng = np.random.default_rng(1)
    alarms = {name: 0 for name in [*NUMERIC, *CATEGORICAL]}
    for _ in range(50):
        for result in dataset_drift(profile, customers(500, rng)).columns:
            assert result.test == (KS if result.kind == "numeric" else CHI_SQUARE)
            alarms[result.name] += result.drifted
    # 5% of 50 is 2.5; six or more alarms in 50 clean windows would happen by chance < 5%.
    assert all(count <= 6 for count in alarms.values()), alarms


def test_clean_large_windows_never_alarm(profile):
    rng = np.random.default_rng(2)
    for _ in range(50):
        result = dataset_drift(profile, customers(5_000, rng))
        assert {c.test for c in result.columns} == {WASSERSTEIN, JENSEN_SHANNON}
        assert result.n_drifted == 0, result.drifted_columns
        # Sampling noise at 5,000 values (the same as scipy's W1 on the raw rows): well below 0.1.
        assert max(c.statistic for c in result.columns) < 0.075


# --- real changes ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [300, 20_000])
@pytest.mark.parametrize(
    "column, change",
    [
        ("age", {"age_mean": 44}),  # mean shifted by 0.4 std
        ("age", {"age_std": 14}),  # variance changed
        ("spend", {"spend_scale": 1.6}),
        ("visits", {"visits_rate": 3.6}),
        ("region", {"mix": [0.15, 0.25, 0.2, 0.15, 0.25]}),  # category mix changed
        ("region", {"regions": [*REGIONS[:4], "islands"]}),  # a new category
    ],
    ids=["mean", "variance", "scale", "rate", "mix", "new-category"],
)
def test_a_changed_column_drifts_and_the_others_do_not(profile, n, column, change):
    result = dataset_drift(profile, customers(n, np.random.default_rng(3), **change))
    assert result.drifted_columns == [column]


def test_a_new_category_is_named_and_counted_in_the_other_cell(profile):
    window = customers(2_000, np.random.default_rng(4), regions=[*REGIONS[:4], "islands"])
    region = drift_of(profile, window, "region")
    assert region.new_categories == ["islands"]
    assert region.labels[-1] == OTHER
    assert region.current_shares[-1] == pytest.approx((window["region"] == "islands").mean())
    assert region.reference_shares[-1] == 0.0


def test_small_window_chi_square_is_scipys_on_the_raw_counts(profile):
    reference = customers(50_000, np.random.default_rng(0))
    window = customers(400, np.random.default_rng(5), regions=[*REGIONS[:4], "islands"])
    region = drift_of(profile, window, "region")
    table = pd.crosstab(
        np.r_[np.zeros(len(reference)), np.ones(len(window))],
        np.r_[reference["region"], window["region"]],
    )
    expected = scipy_stats.chi2_contingency(table.to_numpy())
    assert region.test == CHI_SQUARE
    assert region.statistic == pytest.approx(expected.statistic)
    assert region.p_value == pytest.approx(expected.pvalue)


def test_psi_is_reported_but_never_decides(profile):
    window = customers(50, np.random.default_rng(6))
    age = drift_of(profile, window, "age")
    assert age.psi > DriftThresholds().psi
    assert age.test == KS and not age.drifted


def test_column_drift_reports_shares_for_a_plot(profile):
    age = column_drift(profile.columns["age"], customers(3_000, np.random.default_rng(7))["age"])
    assert len(age.labels) == len(age.reference_shares) == len(age.current_shares) == 20
    assert age.labels[0].startswith("(-inf") and age.labels[-1].endswith("+inf)")
    assert sum(age.reference_shares) == pytest.approx(1.0)
    assert sum(age.current_shares) == pytest.approx(1.0)
    assert age.n_current == 3_000 and age.n_reference == 50_000


# --- the data-set rule ----------------------------------------------------------------------


def test_the_data_set_drifts_when_the_share_of_drifted_columns_reaches_the_threshold(profile):
    window = customers(3_000, np.random.default_rng(8), age_mean=50, spend_scale=2.0)
    result = dataset_drift(profile, window)
    assert result.n_tested == 4 and result.n_drifted == 2
    assert result.drift_share == 0.5 and result.dataset_drifted
    stricter = dataset_drift(profile, window, DriftThresholds(drift_share=0.75))
    assert not stricter.dataset_drifted


def test_thresholds_change_the_decision(profile):
    window = customers(3_000, np.random.default_rng(9), age_mean=41.5)  # 0.15 std
    assert drift_of(profile, window, "age").drifted
    loose = dataset_drift(profile, window, DriftThresholds(wasserstein=0.3))
    assert not loose.columns[0].drifted
    as_small = dataset_drift(profile, window, DriftThresholds(small_sample=5_000))
    assert as_small.columns[0].test == KS


# --- awkward windows ------------------------------------------------------------------------


def test_a_column_missing_from_the_window_is_reported_not_tested(profile):
    window = customers(2_000, np.random.default_rng(10)).drop(columns=["spend"])
    window["unprofiled"] = 1.0
    result = dataset_drift(profile, window)
    assert result.missing_columns == ["spend"]
    assert [c.name for c in result.columns] == ["age", "visits", "region"]
    assert result.n_tested == 3


def test_an_all_missing_column_is_untested_with_the_reason(profile):
    window = customers(2_000, np.random.default_rng(11))
    window["age"] = np.nan
    window["region"] = None
    result = dataset_drift(profile, window)
    age = result.columns[0]
    assert age.test is None and not age.drifted
    assert age.reason == "every value in the window is missing"
    assert age.missing_share_current == 1.0 and age.missing_share_reference == 0.0
    assert result.n_tested == 2 and result.drift_share == 0.0


def test_missing_values_are_left_out_of_the_test_and_their_share_reported(profile):
    window = customers(2_000, np.random.default_rng(12))
    window.loc[::4, "age"] = np.nan
    age = drift_of(profile, window, "age")
    assert age.n_current == 1_500 and age.missing_share_current == 0.25
    assert not age.drifted


def test_a_column_the_reference_never_saw_a_value_in_is_untested():
    frame = pd.DataFrame({"score": [np.nan] * 10, "flag": [None] * 10})
    profile = build_profile(frame, ["score"], ["flag"])
    result = dataset_drift(profile, pd.DataFrame({"score": [1.0, 2.0], "flag": ["a", "b"]}))
    assert [c.reason for c in result.columns] == ["the reference has no values in this column"] * 2
    assert result.n_tested == 0 and not result.dataset_drifted
    assert result.reason == "no profiled column has values in the window"


def test_an_empty_window_is_a_no_rows_result(profile):
    result = dataset_drift(profile, customers(0, np.random.default_rng(13)))
    assert result.rows == 0 and result.columns == [] and not result.dataset_drifted
    assert result.reason == "no rows in the window"
    json.dumps(result.to_dict(), allow_nan=False)


def test_numbers_sent_as_text_are_parsed_and_garbage_counts_as_missing(profile):
    values = pd.Series(["41.5", "38", "not a number", None, "45.25"], dtype=object)
    age = column_drift(profile.columns["age"], values)
    assert age.n_current == 3 and age.missing_share_current == pytest.approx(0.4)


def test_drift_results_are_json_serialisable(profile):
    window = customers(800, np.random.default_rng(14), age_mean=60)
    window.loc[:10, "spend"] = np.inf
    text = json.dumps(dataset_drift(profile, window).to_dict(), allow_nan=False)
    data = json.loads(text)
    assert data["drifted_columns"] == ["age"]
    assert data["thresholds"]["p_value"] == 0.05


# --- predictions ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored_profile():
    rng = np.random.default_rng(20)
    positive = rng.beta(2, 5, size=20_000)
    return build_profile(
        customers(20_000, rng),
        NUMERIC,
        CATEGORICAL,
        predictions=np.where(positive >= 0.5, "churn", "stay"),
        probabilities=pd.DataFrame({"churn": positive}),
    )


def test_predictions_like_the_reference_do_not_drift(scored_profile):
    positive = np.random.default_rng(21).beta(2, 5, size=5_000)
    result = prediction_drift(
        scored_profile,
        np.where(positive >= 0.5, "churn", "stay"),
        pd.DataFrame({"churn": positive, "stay": 1 - positive}),
    )
    assert not result.drifted
    assert result.prediction.test == JENSEN_SHANNON
    assert [c.name for c in result.probabilities] == ["churn"]


@pytest.mark.parametrize("n", [400, 5_000])
def test_more_confident_churn_predictions_drift(scored_profile, n):
    positive = np.random.default_rng(22).beta(3, 4, size=n)
    result = prediction_drift(
        scored_profile,
        pd.Series(np.where(positive >= 0.5, "churn", "stay")),
        pd.DataFrame({"churn": positive}),
    )
    assert result.drifted and result.prediction.drifted and result.probabilities[0].drifted


def test_a_profiled_probability_not_given_is_listed(scored_profile):
    result = prediction_drift(scored_profile, ["stay"] * 100)
    assert result.missing_probabilities == ["churn"] and result.probabilities == []
    json.dumps(result.to_dict(), allow_nan=False)


def test_prediction_drift_without_predictions_in_the_profile_says_so(profile):
    result = prediction_drift(profile, ["stay"] * 10)
    assert not result.drifted and "no predictions" in result.reason


def test_class_labels_match_as_text():
    profile = build_profile(
        pd.DataFrame({"x": [1.0, 2.0]}), ["x"], [], predictions=[0, 1], probabilities=None
    )
    result = prediction_drift(profile, np.array([0, 1, 1, 0]))
    assert result.prediction.labels == ["0", "1"] and not result.prediction.drifted


# --- thresholds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"p_value": 1.5}, "p_value=1.5 must be in (0, 1]"),
        ({"drift_share": 0}, "drift_share=0 must be in (0, 1]"),
        ({"wasserstein": -0.1}, "wasserstein=-0.1 must be a positive number"),
        ({"small_sample": 10.5}, "small_sample=10.5 must be a whole number"),
        ({"small_sample": -1}, "small_sample=-1 must be at least 0"),
    ],
)
def test_thresholds_are_validated_with_the_value_and_an_example(kwargs, message):
    with pytest.raises(ConfigError) as caught:
        DriftThresholds(**kwargs)
    assert message in str(caught.value) and "e.g." in str(caught.value)
