"""The serving entry point computes a model's inputs from raw records exactly as training did."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from framework.errors import DataError
from framework.features.expressions import compute_features
from framework.features.serving import input_fields, model_inputs
from framework.modeling.schema import FeatureSchema, infer_schema, prepare_inputs

DERIVED = {
    "avg_spend": "total_spend / n_orders",
    "active_days": "days_between(signup_date, last_active_at)",
    "age_band": "bucket(age, 30, 45, 60)",
}


@pytest.fixture
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 60
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "signup_date": signup,
            "last_active_at": signup + pd.to_timedelta(rng.integers(0, 4000, n), unit="h"),
            "plan": rng.choice(["basic", "premium"], n).astype(object),
            "age": pd.array(rng.integers(18, 80, n), dtype="Int64"),
            "n_orders": rng.integers(0, 5, n),
            "total_spend": rng.uniform(0, 300, n).round(2),
            "churned": rng.integers(0, 2, n),
        }
    )


@pytest.fixture
def schema(customers: pd.DataFrame) -> FeatureSchema:
    featurized = compute_features(customers, DERIVED)
    return infer_schema(featurized, "churned", ["customer_id"], DERIVED)


def json_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as a client would send them: JSON, dates as ISO text."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def test_json_records_give_exactly_the_inputs_training_built(
    customers: pd.DataFrame, schema: FeatureSchema
) -> None:
    expected = prepare_inputs(compute_features(customers, DERIVED), schema)

    result = model_inputs(json_records(customers.drop(columns="churned")), schema)

    pd.testing.assert_frame_equal(result, expected)


def test_numbers_sent_as_text_and_missing_values_are_read_as_training_reads_them(
    customers: pd.DataFrame, schema: FeatureSchema
) -> None:
    row = customers.iloc[[0]]
    record = {
        key: (None if value is None else str(value))
        for key, value in json_records(row.drop(columns="churned"))[0].items()
    }
    record["age"] = None

    result = model_inputs([record], schema)

    expected_row = row.assign(age=pd.array([None], dtype="Int64"))
    expected = prepare_inputs(compute_features(expected_row, DERIVED), schema)
    pd.testing.assert_frame_equal(result, expected.reset_index(drop=True))
    assert np.isnan(result.loc[0, "age_band"])


def test_a_single_mapping_is_one_record(customers: pd.DataFrame, schema: FeatureSchema) -> None:
    record = json_records(customers.iloc[[5]])[0]

    result = model_inputs(record, schema)

    assert len(result) == 1
    assert list(result.columns) == schema.inputs


def test_derived_values_sent_by_a_client_are_recomputed_not_trusted(
    customers: pd.DataFrame, schema: FeatureSchema
) -> None:
    records = json_records(customers.head(3))
    for record in records:
        record["avg_spend"] = 1e9
        record["age_band"] = 99

    result = model_inputs(records, schema)

    expected = prepare_inputs(compute_features(customers.head(3), DERIVED), schema)
    pd.testing.assert_frame_equal(result, expected)


def test_a_dataframe_keeps_its_index(customers: pd.DataFrame, schema: FeatureSchema) -> None:
    frame = customers.iloc[[7, 3]]

    assert list(model_inputs(frame, schema).index) == [7, 3]


def test_a_missing_field_is_named(customers: pd.DataFrame, schema: FeatureSchema) -> None:
    record = json_records(customers.head(1))[0]
    del record["signup_date"]

    with pytest.raises(DataError, match=r"missing field\(s\) signup_date; the model reads: "):
        model_inputs(record, schema)


def test_a_number_field_holding_text_is_named_not_silently_missing(
    customers: pd.DataFrame, schema: FeatureSchema
) -> None:
    record = json_records(customers.head(1))[0]
    record["total_spend"] = "lots"

    with pytest.raises(DataError, match="total_spend"):
        model_inputs(record, schema)
    record["total_spend"] = 10.0
    record["n_orders"] = "two"
    with pytest.raises(DataError, match=r"field 'n_orders' must be a number, got 'two'"):
        model_inputs(record, schema)


def test_input_fields_lists_raw_fields_by_kind_and_no_derived_ones(schema: FeatureSchema) -> None:
    assert input_fields(schema) == {
        "age": "number",
        "n_orders": "number",
        "total_spend": "number",
        "plan": "text",
        "last_active_at": "datetime",
        "signup_date": "datetime",
    }


def test_serving_inputs_and_predictions_equal_what_evaluate_used_on_the_test_rows(
    small_project: Path, run
) -> None:
    """The real pipeline's test rows: raw columns through model_inputs, or the featurized table
    through prepare_inputs as evaluate does, give the same inputs and the same predictions."""
    from framework.modeling.artifact import load_model

    run(["bucle", "params", "features.store=null"], small_project)
    for stage in ("ingest", "validate", "featurize", "train"):
        run(["bucle", "stage", stage], small_project)
    bundle = load_model(small_project / "models" / "model.skops")
    test = pd.read_parquet(small_project / "data" / "test.parquet")
    assert bundle.schema.derived, "the example declares derived features"
    raw = test.drop(columns=[*bundle.schema.derived, bundle.schema.target])

    evaluated = prepare_inputs(test, bundle.schema)  # what the evaluate stage builds
    served = model_inputs(raw, bundle.schema)
    served_json = model_inputs(json_records(raw), bundle.schema)

    pd.testing.assert_frame_equal(served, evaluated)
    pd.testing.assert_frame_equal(served_json, evaluated.reset_index(drop=True))
    expected = bundle.pipeline.predict_proba(evaluated)
    np.testing.assert_array_equal(bundle.pipeline.predict_proba(served), expected)
    np.testing.assert_array_equal(bundle.pipeline.predict_proba(served_json), expected)
