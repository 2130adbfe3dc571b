"""The feedback store: labels written once, corrections as new records, one resolution rule."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from framework.serving.feedback import Label, read_feedback, read_labels, record_labels
from framework.serving.inference_log import (
    BUFFER,
    InferenceLog,
    Prediction,
    read_inference_log,
)


def logged(state: Path, *request_ids: str, client_request_id: str | None = None) -> None:
    log = InferenceLog(state, flush_seconds=3600)
    log.start()
    log.append(
        [
            Prediction(
                request_id=request_id,
                timestamp=datetime.now(UTC),
                model_name="churn",
                model_version=1,
                model_sha256="ab" * 32,
                alias="production",
                inputs={"age": 40},
                prediction=1,
                probabilities={"0": 0.25, "1": 0.75},
                client_request_id=client_request_id,
            )
            for request_id in request_ids
        ]
    )
    log.close()


def test_a_second_label_for_a_request_is_a_conflict_and_nothing_of_the_batch_is_stored(
    tmp_path: Path,
) -> None:
    logged(tmp_path, "a", "b")
    assert record_labels(tmp_path, [Label("a", 1)], "serve.token").stored == 1

    outcome = record_labels(tmp_path, [Label("b", 0), Label("a", 0)], "serve.token")

    assert outcome.stored == 0
    assert [index for index, _ in outcome.conflicts] == [1]
    assert "already has label 1" in outcome.conflicts[0][1]
    assert read_labels(tmp_path).set_index("request_id")["label"].to_dict() == {"a": 1}
    # The same label again is no conflict (a retried request), and is not stored twice.
    again = record_labels(tmp_path, [Label("a", 1)], "serve.token")
    assert (again.stored, again.unchanged, again.conflicts) == (0, ["a"], [])
    assert len(read_feedback(tmp_path)) == 1


def test_the_latest_correction_wins_over_the_original_label(tmp_path: Path) -> None:
    logged(tmp_path, "a", "b")
    record_labels(tmp_path, [Label("a", 1), Label("b", 1)], "serve.token")
    record_labels(tmp_path, [Label("a", 0, correction=True, reason="typo", source="x")], "p")
    record_labels(tmp_path, [Label("a", 1, correction=True, reason="undo", source="y")], "p")

    resolved = read_labels(tmp_path).set_index("request_id")

    assert resolved["label"].to_dict() == {"a": 1, "b": 1}
    assert resolved.loc["a", "corrected"] and not resolved.loc["b", "corrected"]
    history = read_feedback(tmp_path)
    assert list(history["reason"]) == [None, None, "typo", "undo"]
    assert list(history["principal"]) == ["serve.token", "serve.token", "p", "p"]


def test_a_correction_without_a_label_to_correct_is_a_conflict(tmp_path: Path) -> None:
    logged(tmp_path, "a")

    outcome = record_labels(tmp_path, [Label("a", 0, correction=True, reason="r")], "p")

    assert outcome.stored == 0 and "no label to correct" in outcome.conflicts[0][1]


def test_an_old_feedback_table_is_migrated_in_place_keeping_its_labels(tmp_path: Path) -> None:
    logged(tmp_path, "a", "b")
    database = tmp_path / "inference" / BUFFER
    with sqlite3.connect(database) as db:  # the table as earlier versions wrote it
        db.execute("DROP TABLE IF EXISTS feedback")
        db.execute(
            "CREATE TABLE feedback (request_id TEXT PRIMARY KEY, label TEXT NOT NULL, "
            "received_at TEXT NOT NULL)"
        )
        db.execute("INSERT INTO feedback VALUES ('a', ?, '2026-01-01T00:00:00+00:00')", ("1",))
    db.close()

    assert read_labels(tmp_path).set_index("request_id")["label"].to_dict() == {"a": 1}
    history = read_feedback(tmp_path)
    assert list(history["correction"]) == [False] and history["principal"].isna().all()
    # Migrated labels are originals: written once like any other.
    assert record_labels(tmp_path, [Label("a", 0)], "p").conflicts
    assert record_labels(tmp_path, [Label("b", 0)], "p").stored == 1
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert not {name for name in tables if name.startswith("feedback_v")}


def test_an_old_buffer_without_client_ids_still_opens_and_reads(tmp_path: Path) -> None:
    logged(tmp_path, "new", client_request_id="order-1")
    database = tmp_path / "inference" / BUFFER
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE buffer DROP COLUMN client_request_id")
        db.execute(
            "INSERT INTO buffer (row_id, request_id, timestamp, model_name, model_version, "
            "model_sha256, alias, inputs, prediction, probabilities) VALUES "
            "('r1', 'old', '2026-01-01T00:00:00+00:00', 'churn', 1, 'ab', 'production', "
            "?, '1', '{}')",
            (json.dumps({"age": 1}),),
        )
    db.close()

    log = read_inference_log(tmp_path).set_index("request_id")

    assert log.loc["new", "client_request_id"] == "order-1"
    assert pd.isna(log.loc["old", "client_request_id"])
    assert InferenceLog(tmp_path).flush() == 1  # the migrated buffer flushes


@pytest.mark.parametrize("label", [float("nan"), float("inf")])
def test_a_non_finite_label_never_reaches_the_store(tmp_path: Path, label: float) -> None:
    logged(tmp_path, "a")

    with pytest.raises(ValueError, match="not a finite"):
        record_labels(tmp_path, [Label("a", label)], "p")
