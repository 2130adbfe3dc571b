"""The local tracker stores what it is told and returns it intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.records import RunInfo
from framework.testing import TrackerContract
from plugins.trackers.local import LocalTracker


def test_a_run_round_trips(tmp_path: Path) -> None:
    tracker = LocalTracker(path=str(tmp_path / "state" / "tracking.db"))
    tracker.start_run(run=RunInfo("r1", "churn", "2026-01-01T00:00:00+00:00", {"k": "v"}))
    tracker.log_params(run_id="r1", params={"model.C": 0.5, "features.exclude": '["id"]'})
    tracker.log_metrics(run_id="r1", metrics={"roc_auc": 0.8})
    tracker.log_metrics(run_id="r1", metrics={"roc_auc": 0.9, "f1": 0.5})
    tracker.log_artifact(run_id="r1", name="model", path=tmp_path / "m", sha256="ab" * 32)
    tracker.end_run(run_id="r1", status="finished", manifest={"ended_at": "t", "x": [1, 2]})

    record = tracker.get_run(run_id="r1")
    assert record.status == "finished"
    assert record.params == {"model.C": 0.5, "features.exclude": '["id"]'}
    assert record.metrics == {"roc_auc": 0.9, "f1": 0.5}
    assert record.artifacts == {"model": "ab" * 32}
    assert record.manifest["x"] == [1, 2]
    assert record.tags == {"k": "v"}


def test_list_is_newest_first_and_prefixes_resolve(tmp_path: Path) -> None:
    tracker = LocalTracker(path=str(tmp_path / "tracking.db"))
    for number, project in [(1, "a"), (2, "b"), (3, "a")]:
        tracker.start_run(run=RunInfo(f"run-{number}", project, f"2026-01-0{number}", {}))
    assert [r.run_id for r in tracker.list_runs(project="a", limit=10)] == ["run-3", "run-1"]
    assert len(tracker.list_runs(project=None, limit=2)) == 2
    assert tracker.get_run(run_id="run-2").project == "b"
    assert tracker.get_run(run_id="missing") is None


def test_an_unused_tracker_reads_as_empty(tmp_path: Path) -> None:
    tracker = LocalTracker(path=str(tmp_path / "never.db"))
    assert tracker.list_runs(project=None, limit=5) == []
    assert not (tmp_path / "never.db").exists()


class TestLocalTrackerContract(TrackerContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> LocalTracker:
        return LocalTracker(path=str(tmp_path / "state" / "tracking.db"))
