"""Retraining data: the three strategies and the triggers, on real tables and real reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from framework.errors import BucleError
from framework.retraining.dataset import like, training_table
from framework.retraining.triggers import fired_triggers
from plugins.sources.synthetic_churn import generate_churn_table


@pytest.fixture(scope="module")
def original() -> pd.DataFrame:
    return generate_churn_table(300, date(2026, 1, 1), 0.0, 0.0, seed=1)


@pytest.fixture(scope="module")
def production() -> pd.DataFrame:
    """Rows as the inference log holds them: JSON-like values, dates as text, plus the label."""
    import json

    table = generate_churn_table(120, date(2026, 1, 1), 0.0, 0.0, seed=2, id_offset=10_000)
    return pd.DataFrame(json.loads(table.to_json(orient="records", date_format="iso")))


def test_combined_keeps_both_with_the_original_types(original, production) -> None:
    table, counts = training_table("combined", original, production, 1000, 10)
    assert counts == {"original": 300, "production": 120}
    assert len(table) == 420 and list(table.columns) == list(original.columns)
    assert pd.api.types.is_datetime64_any_dtype(table["signup_date"])
    assert table["customer_id"].is_unique  # traffic ids start after id_offset
    assert table["churned"].tail(120).tolist() == production["churned"].tolist()


def test_new_only_keeps_production_rows_alone(original, production) -> None:
    table, counts = training_table("new_only", original.head(0), production, 1000, 10)
    assert counts == {"original": 0, "production": 120} and len(table) == 120
    assert set(table["customer_id"]).isdisjoint(set(original["customer_id"]))


def test_sliding_window_forgets_the_oldest_rows_first(original, production) -> None:
    table, counts = training_table("sliding_window", original, production, 200, 10)
    assert counts == {"original": 80, "production": 120} and len(table) == 200
    assert table["customer_id"].head(80).tolist() == original["customer_id"].tail(80).tolist()
    small, counts = training_table("sliding_window", original, production, 50, 10)
    assert counts == {"original": 0, "production": 50}
    assert small["customer_id"].tolist() == production["customer_id"].tail(50).tolist()


def test_too_few_labels_or_a_wrong_strategy_is_a_clear_error(original, production) -> None:
    with pytest.raises(BucleError, match="only 120 production predictions have ground truth"):
        training_table("combined", original, production, 1000, 500)
    with pytest.raises(BucleError, match="'rolling' is not a strategy"):
        training_table("rolling", original, production, 1000, 10)


def test_like_parses_text_dates_and_numbers(original, production) -> None:
    typed = like(production, original)
    assert typed["last_active_at"].dtype == original["last_active_at"].dtype
    assert pd.api.types.is_numeric_dtype(typed["monthly_charges"])


REPORT = {
    "monitors": [
        {
            "monitor": "drift",
            "metrics": {"drift_share": 0.6, "drifted_columns": ["age", "monthly_charges"]},
        },
        {
            "monitor": "performance",
            "details": [
                {"metric": "roc_auc", "drop": 0.2, "finding": True},
                {"metric": "f1", "drop": 0.02, "finding": False},
            ],
        },
    ]
}


def test_triggers_fire_on_drift_share_performance_drop_and_age() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    triggers = {"drift_share": 0.5, "performance_drop": 0.05, "max_age_days": 30}
    fired = fired_triggers(triggers, REPORT, "2026-10-01T00:00:00+00:00", now)
    assert [t.name for t in fired] == ["drift_share", "performance_drop", "max_age_days"]
    assert "age, monthly_charges" in fired[0].reason and "roc_auc down 0.200" in fired[1].reason
    assert "60.0 days old" in fired[2].reason


def test_triggers_stay_quiet_below_their_thresholds_or_when_switched_off() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    quiet = {"drift_share": 0.7, "performance_drop": 0.25, "max_age_days": 90}
    assert fired_triggers(quiet, REPORT, "2026-10-01T00:00:00+00:00", now) == []
    off = {"drift_share": None, "performance_drop": None, "max_age_days": None}
    assert fired_triggers(off, REPORT, "2020-01-01T00:00:00+00:00", now) == []
    assert fired_triggers({"drift_share": 0.5}, None, None, now) == []


def test_a_corrupt_retraining_journal_is_refused_not_overwritten(tmp_path) -> None:
    from framework.commands.retrain import append_record

    journal = tmp_path / "retrain" / "retrains.json"
    journal.parent.mkdir()
    journal.write_text("[{not json")
    with pytest.raises(BucleError, match="move the retraining journal aside"):
        append_record(tmp_path, {"id": "x"})
    assert journal.read_text() == "[{not json"
    journal.unlink()
    append_record(tmp_path, {"id": "y"})
    assert [r["id"] for r in __import__("json").loads(journal.read_text())] == ["y"]
