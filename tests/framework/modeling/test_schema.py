"""infer_schema: which columns a model reads, and why the others are left out."""

from __future__ import annotations

import pandas as pd

from framework.modeling.schema import infer_schema


def test_timestamps_naive_or_zoned_are_ignored_and_say_to_derive_features_from_them() -> None:
    frame = pd.DataFrame(
        {
            "signup_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "last_active_at": pd.to_datetime(
                ["2024-04-01T10:00", "2024-04-02T11:00", "2024-04-03T12:00"], utc=True
            ),
            "age": [30, 41, 52],
            "plan": ["basic", "pro", "basic"],
            "churned": [0, 1, 0],
        }
    )

    schema = infer_schema(frame, "churned", [], {})

    assert schema.numeric == ["age"]
    assert schema.categorical == ["plan"]
    reason = "timestamp: derive features from it in features.derived"
    assert schema.ignored == {"signup_date": reason, "last_active_at": reason}
