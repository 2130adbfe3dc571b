"""The featurize stage: derived columns, the split, undersampling of training rows, and the
feature table written to the feature store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from framework.errors import ConfigError
from framework.features.table import feature_table, store_keys
from framework.stages.featurize import undersample
from plugins.feature_stores.local import LocalFeatureStore


def settings(column=None, value=None, keep_share=1.0):
    return OmegaConf.create({"column": column, "value": value, "keep_share": keep_share})


@pytest.fixture
def train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["west", "north"] * 50 + [None] * 10,
            "code": [1, 2] * 50 + [3] * 10,
            "x": range(110),
        },
        index=range(1000, 1110),
    )


# undersample ----------------------------------------------------------------------------------


def test_undersample_keeps_a_seeded_share_of_the_matching_rows_and_every_other_row(
    train: pd.DataFrame,
) -> None:
    kept, summary = undersample(train, settings("region", "west", 0.2), seed=5)

    west = kept[kept["region"] == "west"]
    assert len(west) == 10  # round(0.2 * 50)
    pd.testing.assert_frame_equal(kept[kept["region"] != "west"], train[train["region"] != "west"])
    assert kept.index.is_monotonic_increasing, "rows keep their original order"
    assert summary == {
        "column": "region",
        "value": "west",
        "keep_share": 0.2,
        "matched": 50,
        "kept": 10,
    }
    again, _ = undersample(train, settings("region", "west", 0.2), seed=5)
    other_seed, _ = undersample(train, settings("region", "west", 0.2), seed=6)
    assert list(again.index) == list(kept.index)
    assert list(other_seed.index) != list(kept.index)


def test_undersample_is_off_at_keep_share_one(train: pd.DataFrame) -> None:
    kept, summary = undersample(train, settings("region", "west", 1.0), seed=5)

    assert kept is train and summary is None


def test_a_value_written_as_text_matches_numbers_and_null_matches_missing(
    train: pd.DataFrame,
) -> None:
    by_text, _ = undersample(train, settings("code", "1", 0.0), seed=0)
    missing, summary = undersample(train, settings("region", None, 0.5), seed=0)

    assert (by_text["code"] != 1).all() and len(by_text) == 60
    assert missing["region"].isna().sum() == 5 and summary["matched"] == 10


@pytest.mark.parametrize(
    ("options", "mentions"),
    [
        (("regoin", "west", 0.5), "features.undersample.column='regoin' is not a column"),
        (("regoin", "west", 0.5), "did you mean 'region'?"),
        (("region", "wset", 0.5), "features.undersample.value='wset' matches no training row"),
        (("region", "west", 1.5), "features.undersample.keep_share=1.5 must be between 0 and 1"),
        ((None, None, 0.5), "needs features.undersample.column"),
    ],
)
def test_undersample_config_errors_name_the_key(
    train: pd.DataFrame, options: tuple, mentions: str
) -> None:
    with pytest.raises(ConfigError) as error:
        undersample(train, settings(*options), seed=0)

    assert mentions in str(error.value)
    assert "\n" not in str(error.value)


# feature table --------------------------------------------------------------------------------


def test_feature_table_has_the_keys_first_and_no_target_or_excluded_columns() -> None:
    frame = pd.DataFrame(
        columns=["customer_id", "age", "notes", "churned", "seen_at", "avg_spend"], data=[]
    )

    table = feature_table(frame, "churned", "customer_id", "seen_at", ["customer_id", "notes"])

    assert list(table.columns) == ["customer_id", "seen_at", "age", "avg_spend"]


@pytest.mark.parametrize(
    ("features", "mentions"),
    [
        ({"entity": None, "timestamp": "seen_at"}, "features.entity is null"),
        ({"entity": "customer_id", "timestamp": None}, "features.timestamp is null"),
        (
            {"entity": "customer", "timestamp": "seen_at"},
            "features.entity='customer' is not a column of the featurized table",
        ),
        ({"entity": "customer_id", "timestamp": "seen"}, "did you mean 'seen_at'?"),
    ],
)
def test_store_keys_must_name_columns(features: dict, mentions: str) -> None:
    section = OmegaConf.create({**features, "store": {"name": "local"}})

    with pytest.raises(ConfigError) as error:
        store_keys(section, ["customer_id", "seen_at", "age"])

    assert mentions in str(error.value)
    assert "\n" not in str(error.value)


# The stage, through the real CLI --------------------------------------------------------------


def test_featurize_writes_the_feature_table_to_the_store_and_undersamples_only_training_rows(
    small_project: Path, run
) -> None:
    run(["bucle", "params"], small_project)
    for stage in ("ingest", "validate", "featurize"):
        run(["bucle", "stage", stage], small_project)
    validated = pd.read_parquet(small_project / "data" / "validated.parquet")
    report = json.loads((small_project / "reports" / "featurize.json").read_text())
    store = LocalFeatureStore(
        offline=str(small_project / ".bucle" / "features" / "offline"),
        online=str(small_project / ".bucle" / "features" / "online.db"),
    )
    held = store.describe_features()

    assert report["feature_store"] == {"name": "local", "rows_written": len(validated)}
    assert report["undersample"] is None
    assert held["offline_rows"] == held["online_entities"] == len(validated)
    assert (held["entity"], held["timestamp"]) == ("customer_id", "last_active_at")
    assert "churned" not in held["columns"]
    assert {"avg_order_value", "active_days", "tickets_per_year", "age_band"} <= set(
        held["columns"]
    )
    test_before = pd.read_parquet(small_project / "data" / "test.parquet")
    train_before = pd.read_parquet(small_project / "data" / "train.parquet")

    run(
        [
            "bucle",
            "params",
            "features.undersample.column=region",
            "features.undersample.value=west",
            "features.undersample.keep_share=0.25",
        ],
        small_project,
    )
    run(["bucle", "stage", "featurize"], small_project)

    test_after = pd.read_parquet(small_project / "data" / "test.parquet")
    train_after = pd.read_parquet(small_project / "data" / "train.parquet")
    report = json.loads((small_project / "reports" / "featurize.json").read_text())
    pd.testing.assert_frame_equal(test_after, test_before)
    is_west = train_before["region"] == "west"
    pd.testing.assert_frame_equal(
        train_after[train_after["region"] != "west"].reset_index(drop=True),
        train_before[~is_west].reset_index(drop=True),
    )
    assert (train_after["region"] == "west").sum() == round(0.25 * is_west.sum())
    assert report["undersample"]["matched"] == is_west.sum()
    assert report["train_rows"] == len(train_after)
    # The store holds the whole table whatever the training sample: same rows as before.
    assert store.describe_features()["offline_rows"] == len(validated)
    assert store.describe_features()["offline_files"] == 1


def test_a_store_without_its_keys_fails_featurize_in_one_line(small_project: Path, run) -> None:
    validated = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "signup_date": pd.to_datetime(["2023-01-01"] * 4),
            "last_active_at": pd.to_datetime(["2024-01-01"] * 4),
            "age": [20, 30, 40, 50],
            "tenure_months": [12, 12, 12, 12],
            "support_tickets": [0, 1, 0, 1],
            "total_spend": [1.0, 2.0, 3.0, 4.0],
            "n_orders": [1, 1, 2, 2],
            "churned": [0, 1, 0, 1],
        }
    )
    (small_project / "data").mkdir(exist_ok=True)
    validated.to_parquet(small_project / "data" / "validated.parquet")
    run(["bucle", "params", "features.entity=null"], small_project)

    result = run(["bucle", "stage", "featurize"], small_project, check=False)

    assert result.returncode == 2
    assert "features.entity is null" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (small_project / "data" / "train.parquet").exists()
