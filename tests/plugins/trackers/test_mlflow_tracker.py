"""The ``mlflow`` tracker against a real MLflow store (sqlite file in a temp dir), read back with
MLflow's own client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from framework.errors import PluginError
from framework.records import RunInfo
from framework.testing import TrackerContract
from plugins.trackers.mlflow import MlflowTracker


def tracker_in(directory: Path) -> MlflowTracker:
    return MlflowTracker(
        tracking_uri=f"sqlite:///{directory}/state/mlflow.db",
        artifact_location=str(directory / "state" / "mlflow-artifacts"),
    )


class TestMlflowTrackerContract(TrackerContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> MlflowTracker:
        return tracker_in(tmp_path)


def test_mlflow_reads_back_the_run_params_metrics_artifacts_and_manifest(tmp_path: Path) -> None:
    tracker = tracker_in(tmp_path)
    model = tmp_path / "model.skops"
    model.write_bytes(b"model bytes")
    tracker.start_run(run=RunInfo("20260101-000000-abc", "churn", "2026-01-01T00:00:00+00:00"))
    tracker.log_params(run_id="20260101-000000-abc", params={"model.C": 0.5, "data.name": "x"})
    tracker.log_metrics(run_id="20260101-000000-abc", metrics={"roc_auc": 0.81})
    tracker.log_artifact(run_id="20260101-000000-abc", name="model", path=model, sha256="ab" * 32)
    tracker.end_run(
        run_id="20260101-000000-abc",
        status="finished",
        manifest={"seed": 42, "ended_at": "2026-01-01T00:00:05+00:00"},
    )

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/state/mlflow.db")
    experiment = client.get_experiment_by_name("churn")
    assert experiment.artifact_location.startswith("file://")
    assert str(tmp_path / "state" / "mlflow-artifacts") in experiment.artifact_location
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "20260101-000000-abc" and run.info.status == "FINISHED"
    assert run.data.params == {"model.C": "0.5", "data.name": "x"}
    assert run.data.metrics == {"roc_auc": 0.81}
    assert run.data.tags["bucle.run_id"] == "20260101-000000-abc"
    assert run.data.tags["bucle.sha256.model"] == "ab" * 32
    assert run.info.end_time - run.info.start_time == 5000
    downloaded = Path(client.download_artifacts(run.info.run_id, "model", str(tmp_path / "dl")))
    assert (downloaded / "model.skops").read_bytes() == b"model bytes"
    manifest = client.download_artifacts(run.info.run_id, "bucle/manifest.json", str(tmp_path))
    assert json.loads(Path(manifest).read_text())["seed"] == 42


def test_an_unusable_tracking_uri_is_one_line_naming_it_with_the_password_masked(
    tmp_path: Path,
) -> None:
    tracker = MlflowTracker(tracking_uri="nosuch://user:hunter2@example.invalid/x")
    with pytest.raises(PluginError) as raised:
        tracker.start_run(run=RunInfo("r1", "churn", "2026-01-01T00:00:00+00:00"))
    message = str(raised.value)
    assert "tracker 'mlflow'" in message and "nosuch://user:***@example.invalid/x" in message
    assert "hunter2" not in message and "\n" not in message
