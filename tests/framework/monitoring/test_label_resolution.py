"""Monitoring and retraining read the same label for a corrected request: the correction's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from framework.monitoring.collect import feedback_labels
from framework.retraining.dataset import labelled_production_rows
from framework.serving.feedback import Label, read_labels, record_labels
from framework.serving.inference_log import InferenceLog, Prediction, read_inference_log


def test_monitoring_and_retraining_both_take_the_latest_correction(tmp_path: Path) -> None:
    log = InferenceLog(tmp_path, flush_seconds=3600)
    log.start()
    log.append(
        [
            Prediction(
                f"k-{i}",
                datetime.now(UTC),
                "churn",
                1,
                "ab" * 32,
                "production",
                {"age": 30 + i},
                1,
                {"0": 0.4, "1": 0.6},
            )
            for i in range(3)
        ]
    )
    log.close()
    record_labels(tmp_path, [Label("k-0", 1), Label("k-1", 0), Label("k-2", 1)], "serve.token")
    record_labels(tmp_path, [Label("k-1", 1, correction=True, reason="late refund")], "serve.token")
    record_labels(tmp_path, [Label("k-2", 0, correction=True, reason="typo")], "serve.token")

    window = feedback_labels(read_labels(tmp_path), read_inference_log(tmp_path), [0, 1])
    training = labelled_production_rows(tmp_path, "churned").set_index("age")["churned"]

    assert list(window) == [1, 1, 0]
    assert training.to_dict() == {30: 1, 31: 1, 32: 0}
