"""The tracker contract: runs are accepted in the order Bucle logs them; queryable ones return
what they were told."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from framework.records import RunInfo, RunRecord
from framework.testing.host import host_with, implements

PARAMS = {"model.C": 0.5, "seed": 42, "features.exclude": '["customer_id"]', "data.name": "x"}


class TrackerContract:
    """Subclass as ``Test...`` and provide a ``plugin`` fixture returning a fresh tracker.

    A write-only tracker (one that implements neither ``get_run`` nor ``list_runs``) passes the
    query tests without them; one that implements them must answer right.
    """

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture returning a fresh tracker")

    @pytest.fixture
    def hook(self, plugin: Any) -> Any:
        return host_with("tracker", plugin)

    def log_run(self, hook: Any, tmp_path: Path, run_id: str, project: str = "churn") -> None:
        artifact = tmp_path / f"{run_id}-model.bin"
        artifact.write_bytes(b"weights of " + run_id.encode())
        started = f"2026-01-01T00:00:0{len(run_id) % 10}+00:00"
        hook.start_run(run=RunInfo(run_id, project, started, {"launcher": "contract"}))
        hook.log_params(run_id=run_id, params=PARAMS)
        hook.log_metrics(run_id=run_id, metrics={"roc_auc": 0.75})
        hook.log_metrics(run_id=run_id, metrics={"roc_auc": 0.8, "f1": 0.5})  # later overwrites
        hook.log_artifact(run_id=run_id, name="model", path=artifact, sha256="ab" * 32)
        manifest = {"run_id": run_id, "ended_at": "2026-01-01T00:01:00+00:00", "seed": 42}
        hook.end_run(run_id=run_id, status="finished", manifest=manifest)

    def test_a_whole_run_is_accepted(self, hook: Any, tmp_path: Path) -> None:
        self.log_run(hook, tmp_path, "run-1")

    def test_a_failed_run_is_accepted(self, hook: Any) -> None:
        hook.start_run(run=RunInfo("run-f", "churn", "2026-01-01T00:00:00+00:00", {}))
        hook.log_params(run_id="run-f", params=PARAMS)
        hook.end_run(run_id="run-f", status="failed", manifest={"error": "boom"})

    def test_a_queried_run_returns_what_was_logged(
        self, plugin: Any, hook: Any, tmp_path: Path
    ) -> None:
        self.log_run(hook, tmp_path, "run-1")
        if not implements(plugin, "get_run"):
            return  # a write-only tracker: `bucle runs` asks another one
        record = hook.get_run(run_id="run-1")
        assert isinstance(record, RunRecord)
        assert record.run_id == "run-1" and record.project == "churn"
        assert record.status == "finished"
        assert record.params["model.C"] == 0.5 and record.params["seed"] == 42
        assert record.metrics == pytest.approx({"roc_auc": 0.8, "f1": 0.5})
        assert record.artifacts == {"model": "ab" * 32}
        assert record.manifest["seed"] == 42
        assert hook.get_run(run_id="no-such-run") is None

    def test_runs_are_listed_newest_first_by_project(self, plugin: Any, hook: Any) -> None:
        for number, project in [(1, "a"), (2, "b"), (3, "a")]:
            run_id = f"run-{number}"
            hook.start_run(run=RunInfo(run_id, project, f"2026-01-0{number}T00:00:00+00:00", {}))
            hook.end_run(run_id=run_id, status="finished", manifest={})
        if not implements(plugin, "list_runs"):
            return  # a write-only tracker
        listed = hook.list_runs(project="a", limit=10)
        assert [run.run_id for run in listed] == ["run-3", "run-1"]
        assert len(hook.list_runs(project=None, limit=2)) == 2
