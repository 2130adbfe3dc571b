"""What trackers keep and ``bucle runs show`` prints goes through the one secret classifier,
whoever called the hook and however old the record."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from mlflow import MlflowClient

from framework.records import RunInfo
from plugins.trackers.local import LocalTracker
from plugins.trackers.mlflow import MlflowTracker

ROOT = Path(__file__).resolve().parents[3]
SECRET = "Tr4ckedS3cretValue"
PARAMS = {
    "model.C": 0.5,
    "alert.webhook.headers.X-API-Key": SECRET,
    "store.storage_options.account_key": SECRET,
    "registry.tracking_uri": f"https://:{SECRET}@mlflow.example/",
    "alert.webhook.url": f"https://hooks.slack.com/services/T0/B0/{SECRET}",
}
MANIFEST = {
    "ended_at": "2026-01-01T00:00:05+00:00",
    "config": {"alert": {"webhook": {"headers": {"Cookie": f"session={SECRET}"}}}},
    "error": f"OSError: cannot open https://h.example/x?sig={SECRET}",
}


def test_the_local_tracker_keeps_no_secret(tmp_path: Path) -> None:
    tracker = LocalTracker(path=str(tmp_path / "tracking.db"))
    tracker.start_run(run=RunInfo("r1", "churn", "2026-01-01T00:00:00+00:00", {}))
    tracker.log_params(run_id="r1", params=PARAMS)
    tracker.end_run(run_id="r1", status="finished", manifest=MANIFEST)

    assert SECRET.encode() not in (tmp_path / "tracking.db").read_bytes()
    record = tracker.get_run(run_id="r1")
    assert record.params["model.C"] == 0.5
    assert record.params["alert.webhook.headers.X-API-Key"] == "***"
    assert record.params["registry.tracking_uri"] == "https://:***@mlflow.example/"


def test_the_mlflow_tracker_keeps_no_secret(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracker = MlflowTracker(tracking_uri=uri, artifact_location=str(tmp_path / "artifacts"))
    tracker.start_run(run=RunInfo("r1", "churn", "2026-01-01T00:00:00+00:00", {}))
    tracker.log_params(run_id="r1", params=PARAMS)
    tracker.end_run(run_id="r1", status="finished", manifest=MANIFEST)

    (run,) = MlflowClient(tracking_uri=uri).search_runs(
        [MlflowClient(tracking_uri=uri).get_experiment_by_name("churn").experiment_id]
    )
    assert run.data.params["model.C"] == "0.5"
    assert SECRET not in json.dumps(run.data.params)
    stored = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    assert SECRET.encode() not in stored


def test_runs_show_hides_secrets_of_a_record_written_before_the_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from framework.commands.runs import compare_runs, show_run

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    tracker = LocalTracker(path=".bucle/tracking.db")
    for run_id in ("r1", "r2"):
        tracker.start_run(run=RunInfo(run_id, "churn", "2026-01-01T00:00:00+00:00", {}))
        tracker.end_run(run_id=run_id, status="failed", manifest=MANIFEST)
    # An old record: written straight into the database, as a tracker without the rules did.
    with sqlite3.connect(".bucle/tracking.db") as db:
        db.executemany(
            "INSERT OR REPLACE INTO params VALUES (?, ?, ?)",
            [("r1", key, json.dumps(value)) for key, value in PARAMS.items()],
        )
        db.execute("UPDATE runs SET manifest = ? WHERE run_id = 'r1'", (json.dumps(MANIFEST),))

    show_run("r1")
    compare_runs("r1", "r2")
    shown = capsys.readouterr().out
    assert "alert.webhook.headers.X-API-Key" in shown and "model.C" in shown
    assert SECRET not in shown
