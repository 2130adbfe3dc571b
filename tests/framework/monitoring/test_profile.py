"""The reference profile: what it keeps per column, its JSON round trip, and the one-line errors
for a profile file that is missing, corrupt or from another format version."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from framework.errors import ArtifactError, DataError
from framework.monitoring.profile import (
    CATEGORICAL,
    FORMAT_VERSION,
    NUMERIC,
    OTHER,
    ReferenceProfile,
    build_profile,
)


def training_rows(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, size=n)
    income[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "income": income,
            "tenure": rng.poisson(4, size=n),
            "region": rng.choice(
                ["north", "south", "west", None], size=n, p=[0.5, 0.3, 0.15, 0.05]
            ),
            "empty": np.full(n, np.nan),
        }
    )


def full_profile(n: int = 2_000) -> ReferenceProfile:
    frame = training_rows(n)
    rng = np.random.default_rng(1)
    positive = rng.random(n)
    return build_profile(
        frame,
        numeric=["income", "tenure", "empty"],
        categorical=["region"],
        predictions=np.where(positive >= 0.5, 1, 0),
        probabilities=pd.DataFrame({1: positive}),
    )


def test_a_numeric_column_keeps_quantiles_histogram_moments_and_missing_count():
    frame = training_rows()
    income = full_profile().columns["income"]
    values = frame["income"].dropna().to_numpy()
    assert income.kind == NUMERIC and not income.discrete
    assert income.count == values.size
    assert income.missing == frame["income"].isna().sum()
    assert len(income.quantiles) == 101
    assert income.quantiles == pytest.approx(np.quantile(values, np.linspace(0, 1, 101)))
    assert (income.min, income.max) == (values.min(), values.max())
    assert income.mean == pytest.approx(values.mean())
    assert income.std == pytest.approx(values.std())
    assert income.bin_edges[0] == -np.inf and income.bin_edges[-1] == np.inf
    assert len(income.bin_counts) == len(income.bin_edges) - 1 == 20
    assert sum(income.bin_counts) == income.count


def test_a_column_with_few_values_is_discrete_with_a_bin_per_value():
    tenure = full_profile().columns["tenure"]
    values = training_rows()["tenure"]
    assert tenure.discrete
    support = tenure.bin_edges[1:-2]
    assert support == sorted(values.unique())
    assert tenure.bin_counts[1:-1] == [int((values == v).sum()) for v in support]


def test_a_categorical_column_keeps_category_counts_most_frequent_first():
    region = full_profile().columns["region"]
    counts = training_rows()["region"].value_counts()
    assert region.kind == CATEGORICAL
    assert region.frequencies == counts.to_dict()
    assert list(region.frequencies) == list(counts.index)
    assert region.missing == training_rows()["region"].isna().sum()
    assert not region.folded


def test_rare_categories_are_folded_into_other_beyond_max_categories():
    values = [f"c{i:02d}" for i in range(60) for _ in range(60 - i)]
    profile = build_profile(pd.DataFrame({"code": values}), [], ["code"], max_categories=50)
    frequencies = profile.columns["code"].frequencies
    assert len(frequencies) == 51
    assert list(frequencies)[:3] == ["c00", "c01", "c02"]
    assert frequencies[OTHER] == sum(60 - i for i in range(50, 60))
    assert sum(frequencies.values()) == len(values)
    assert profile.columns["code"].folded


def test_an_all_missing_column_has_a_count_and_nothing_else():
    empty = full_profile().columns["empty"]
    assert (empty.count, empty.missing) == (0, 2_000)
    assert empty.quantiles is None and empty.bin_edges is None and empty.std is None


def test_predictions_and_probabilities_are_profiled():
    profile = full_profile()
    assert profile.predictions.kind == CATEGORICAL
    assert set(profile.predictions.frequencies) == {"0", "1"}
    assert list(profile.probabilities) == ["1"]
    assert profile.probabilities["1"].kind == NUMERIC
    assert profile.rows == 2_000


def test_profile_round_trips_through_json_without_nan_or_infinity_literals():
    profile = full_profile()
    text = json.dumps(profile.to_dict(), allow_nan=False, sort_keys=True)
    assert '"-inf"' in text and '"inf"' in text
    assert ReferenceProfile.from_dict(json.loads(text)) == profile


def test_save_then_load_gives_the_same_profile(tmp_path):
    profile = full_profile()
    path = profile.save(tmp_path / "models" / "reference_profile.json")
    assert json.loads(path.read_text())["format_version"] == FORMAT_VERSION
    loaded = ReferenceProfile.load(path)
    assert loaded == profile
    assert list(loaded.columns) == ["income", "tenure", "empty", "region"]
    assert list(loaded.columns["region"].frequencies) == list(profile.columns["region"].frequencies)


def test_the_profile_is_small_whatever_the_number_of_rows(tmp_path):
    small = full_profile(1_000).save(tmp_path / "small.json").stat().st_size
    large = full_profile(200_000).save(tmp_path / "large.json").stat().st_size
    assert large < 1.1 * small


def assert_one_line_artifact_error(path, *words):
    with pytest.raises(ArtifactError) as caught:
        ReferenceProfile.load(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    for word in words:
        assert word in message
    return message


def test_a_missing_profile_names_the_file_and_the_stage_to_run(tmp_path):
    assert_one_line_artifact_error(tmp_path / "nope.json", "does not exist", "evaluate stage")


def test_a_corrupt_profile_is_one_line_naming_the_file_and_the_fix(tmp_path):
    path = tmp_path / "profile.json"
    path.write_text('{"format_version": 1,\n "columns": [')
    assert_one_line_artifact_error(path, "not readable JSON", "re-run the evaluate stage")
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert_one_line_artifact_error(path, "not readable JSON")
    path.write_text("[1, 2]")
    assert_one_line_artifact_error(path, "not a JSON object")


def test_a_profile_from_another_format_version_is_refused(tmp_path):
    data = full_profile().to_dict()
    data["format_version"] = 99
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data))
    assert_one_line_artifact_error(path, "format_version 99", f"reads {FORMAT_VERSION}")


@pytest.mark.parametrize(
    "break_it",
    [
        lambda data: data.pop("columns"),
        lambda data: data["columns"][0].update(kind="text"),
        lambda data: data["columns"][0].update(quantiles=[1.0, 2.0]),
        lambda data: data["columns"][0].update(bin_counts=[1]),
        lambda data: data["columns"][0].update(count="many"),
    ],
    ids=["no-columns", "bad-kind", "short-quantiles", "counts-vs-edges", "bad-count"],
)
def test_a_malformed_profile_is_refused_in_one_line(tmp_path, break_it):
    data = full_profile().to_dict()
    break_it(data)
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data))
    assert_one_line_artifact_error(path, "malformed", "re-run the evaluate stage")


def test_build_profile_names_a_missing_column_and_suggests_the_close_one():
    with pytest.raises(DataError, match=r"no column 'incme'.*did you mean 'income'"):
        build_profile(training_rows(), ["incme"], [])


def test_build_profile_refuses_text_listed_as_numeric_and_columns_listed_twice():
    with pytest.raises(DataError, match="numeric column 'region' has dtype object"):
        build_profile(training_rows(), ["region"], [])
    with pytest.raises(DataError, match="both numeric and categorical"):
        build_profile(training_rows(), ["income"], ["income"])


def test_build_profile_needs_one_prediction_per_row():
    with pytest.raises(DataError, match="3 predictions for 2000 rows"):
        build_profile(training_rows(), ["income"], [], predictions=[0, 1, 1])
    with pytest.raises(DataError, match="rows of probabilities"):
        build_profile(training_rows(), ["income"], [], probabilities=pd.DataFrame({"1": [0.5]}))
