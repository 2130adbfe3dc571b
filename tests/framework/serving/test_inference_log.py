"""The inference log keeps exactly the acknowledged predictions, through crashes and flushes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from framework.serving.feedback import Label, read_labels, record_labels
from framework.serving.inference_log import (
    InferenceLog,
    Prediction,
    read_inference_log,
)
from tests.framework.serving.conftest import Trained, promote
from tests.framework.serving.test_models import a_record


def prediction(request_id: str, moment: datetime, value: int = 1) -> Prediction:
    return Prediction(
        request_id=request_id,
        timestamp=moment,
        model_name="churn",
        model_version=3,
        model_sha256="ab" * 32,
        alias="production",
        inputs={"age": 40, "plan": "basic", "signup_date": None},
        prediction=value,
        probabilities={"0": 0.25, "1": 0.75},
    )


def record_feedback(state: Path, pairs: list[tuple[str, Any]]) -> tuple[int, list[str]]:
    """Store ``(request_id, label)`` originals; (how many were stored, the unknown ids)."""
    outcome = record_labels(state, [Label(request_id, label) for request_id, label in pairs], "t")
    assert not outcome.conflicts, outcome.conflicts
    return outcome.stored, outcome.unknown


def parquet_files(state: Path) -> list[Path]:
    return sorted((state / "inference" / "predictions").glob("date=*/hour=*/part-*.parquet"))


@pytest.mark.slow
def test_a_killed_server_has_logged_exactly_the_acknowledged_predictions(
    project_copy: Path, start_server: Any, trained: Trained
) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, "serve.flush_seconds=1")
    record = a_record(trained)
    state = project_copy / ".bucle"
    acknowledged: list[str] = []

    def send(first: int, count: int) -> None:
        for number in range(first, first + count):
            size = 1 + number % 3
            reply = server.post(
                "/predict", {"records": [record] * size}, {"X-Request-ID": f"crash-{number}"}
            )
            assert reply.status == 200, reply.text
            acknowledged.extend(a["request_id"] for a in reply.json["predictions"])

    send(0, 20)
    server.wait_until(lambda: parquet_files(state), what="the first flush")
    send(20, 20)
    server.kill()

    log = read_inference_log(state)
    assert sorted(log["request_id"]) == sorted(acknowledged)
    assert len(log) == len(acknowledged) == len(set(acknowledged))
    assert log["row_id"].is_unique


def test_rows_are_buffered_on_disk_before_append_returns(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    now = datetime.now(UTC)
    log.append([prediction("a-0", now), prediction("a-1", now, 0)])

    found = read_inference_log(tmp_path)  # before any flush: straight from the buffer

    assert list(found["request_id"]) == ["a-0", "a-1"]
    assert found.loc[0, "inputs"] == {"age": 40, "plan": "basic", "signup_date": None}
    assert found.loc[1, "prediction"] == 0
    assert found.loc[0, "probabilities"] == {"0": 0.25, "1": 0.75}
    assert parquet_files(tmp_path) == []
    log.close()
    assert len(parquet_files(tmp_path)) == 1
    assert list(read_inference_log(tmp_path)["request_id"]) == ["a-0", "a-1"]


def test_a_flush_writes_one_file_per_hour_and_empties_the_buffer(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    early = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    log.append([prediction("early", early)])
    log.append([prediction("late", early + timedelta(seconds=2))])

    assert log.flush() == 2

    files = parquet_files(tmp_path)
    relative = [str(p.relative_to(tmp_path / "inference" / "predictions").parent) for p in files]
    assert relative == ["date=2026-03-01/hour=23", "date=2026-03-02/hour=00"]
    assert log.flush() == 0
    since = read_inference_log(tmp_path, since="2026-03-02T00:00:00+00:00")
    assert list(since["request_id"]) == ["late"]
    log.close()


def claim_as_a_dead_process(directory: Path, flush_id: str) -> None:
    import sqlite3

    db = sqlite3.connect(directory / "inference" / "buffer.db", isolation_level=None)
    db.execute("UPDATE buffer SET flush_id = ?, claimed_at = 0", (flush_id,))
    db.close()


@pytest.mark.parametrize("file_written", [True, False], ids=["file written", "no file"])
def test_a_flush_interrupted_by_a_crash_is_settled_without_loss_or_duplicates(
    tmp_path: Path, file_written: bool
) -> None:
    from framework.serving import inference_log as module

    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    moment = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
    log.append([prediction("r-0", moment), prediction("r-1", moment)])
    # A process claimed the rows and, maybe, renamed their Parquet file; then it died.
    claim_as_a_dead_process(tmp_path, "deadbeef")
    if file_written:
        import sqlite3

        db = sqlite3.connect(tmp_path / "inference" / "buffer.db")
        rows = db.execute(f"SELECT {', '.join(module.COLUMNS)} FROM buffer").fetchall()
        db.close()
        directory = tmp_path / "inference" / "predictions" / "date=2026-05-04" / "hour=10"
        module._write_partition(directory, "deadbeef", rows)

    # Read while both copies exist: each row once.
    assert sorted(read_inference_log(tmp_path)["request_id"]) == ["r-0", "r-1"]

    restarted = InferenceLog(tmp_path, flush_seconds=3600, stale_claim_seconds=0)
    restarted.recover()
    restarted.flush()

    assert sorted(read_inference_log(tmp_path)["request_id"]) == ["r-0", "r-1"]
    assert len(parquet_files(tmp_path)) == 1
    log.close()
    assert sorted(read_inference_log(tmp_path)["request_id"]) == ["r-0", "r-1"]
    assert record_feedback(tmp_path, [("r-0", 1), ("r-1", 0)]) == (2, [])  # ids not lost


def test_group_commit_gives_each_request_its_own_completion(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    now = datetime.now(UTC)
    futures = [log.submit([prediction(f"g{n}-{i}", now) for i in range(3)]) for n in range(50)]
    for future in futures:
        future.result(timeout=10)
    log.close()

    assert len(read_inference_log(tmp_path)) == 150
    with pytest.raises(Exception, match="not open"):
        log.append([prediction("late", now)])


def test_a_request_holding_a_value_json_cannot_is_refused_alone_and_logged_not_at_all(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from framework.serving.inference_log import InferenceLogError

    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    now = datetime.now(UTC)
    nan = replace(prediction("bad-1", now), probabilities={"0": float("nan"), "1": 1.0})
    # Submitted together, so the writer is likely to take them in one group.
    futures = {
        "good-a": log.submit([prediction("good-a-0", now), prediction("good-a-1", now)]),
        "bad": log.submit([prediction("bad-0", now), nan]),
        "good-b": log.submit([prediction("good-b-0", now)]),
    }

    with pytest.raises(InferenceLogError, match="cannot log the prediction"):
        futures["bad"].result(timeout=10)
    futures["good-a"].result(timeout=10)
    futures["good-b"].result(timeout=10)
    log.close()
    assert sorted(read_inference_log(tmp_path)["request_id"]) == [
        "good-a-0",
        "good-a-1",
        "good-b-0",
    ]


def test_a_large_request_is_logged_whole_and_in_order(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    now = datetime.now(UTC)
    sizes = [1000, 3, 1, 700]  # several multi-row statements per commit
    futures = [
        log.submit([prediction(f"big{n}-{i}", now, i % 2) for i in range(size)])
        for n, size in enumerate(sizes)
    ]
    for future in futures:
        future.result(timeout=30)

    buffered = read_inference_log(tmp_path)  # before any flush
    log.close()

    expected = [f"big{n}-{i}" for n, size in enumerate(sizes) for i in range(size)]
    assert list(buffered["request_id"]) == expected
    assert list(buffered["prediction"]) == [i % 2 for size in sizes for i in range(size)]
    assert buffered["row_id"].is_unique
    assert sorted(read_inference_log(tmp_path)["request_id"]) == sorted(expected)


def test_feedback_knows_a_request_while_buffered_and_after_its_flush(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    log.append([prediction("early-0", datetime.now(UTC))])

    assert record_feedback(tmp_path, [("early-0", 1), ("ghost", 1)]) == (1, ["ghost"])
    assert log.flush() == 1
    log.append([prediction("late-0", datetime.now(UTC)), prediction("late-1", datetime.now(UTC))])
    correction = Label("early-0", 0, correction=True, reason="flushed requests are known too")
    assert record_labels(tmp_path, [correction], "t").stored == 1
    assert record_feedback(tmp_path, [("late-0", 1)]) == (1, [])
    log.close()
    assert record_feedback(tmp_path, [("late-1", 0), ("ghost", 1)]) == (1, ["ghost"])


def test_feedback_is_kept_for_logged_requests_only(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    log.append([prediction("known-0", datetime.now(UTC))])
    log.close()

    stored, unknown = record_feedback(tmp_path, [("known-0", 1), ("ghost", 0)])

    assert stored == 1
    assert unknown == ["ghost"]
    assert read_labels(tmp_path).set_index("request_id")["label"].to_dict() == {"known-0": 1}


def test_reading_a_project_that_never_served_gives_an_empty_log(tmp_path: Path) -> None:
    log = read_inference_log(tmp_path)

    assert len(log) == 0
    assert {"request_id", "timestamp", "model_version", "inputs"} <= set(log.columns)
