"""A run recorded as running whose process is gone is shown as interrupted."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from framework.pipeline.liveness import INTERRUPTED, STALE_AFTER, shown_status, this_host
from framework.records import RunInfo
from plugins.trackers.local import LocalTracker


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_running_run_whose_process_is_gone_here_is_interrupted() -> None:
    now = datetime.now(UTC).isoformat()
    assert shown_status("running", dead_pid(), this_host(), now) == INTERRUPTED


def test_a_running_run_whose_process_lives_stays_running() -> None:
    import os

    now = datetime.now(UTC).isoformat()
    assert shown_status("running", os.getpid(), this_host(), now) == "running"


def test_a_run_on_another_host_is_judged_by_its_heartbeat() -> None:
    now = datetime.now(UTC)
    recent = (now - STALE_AFTER / 2).isoformat()
    stale = (now - STALE_AFTER - timedelta(seconds=1)).isoformat()
    assert shown_status("running", 1, "elsewhere.invalid", recent, now) == "running"
    assert shown_status("running", 1, "elsewhere.invalid", stale, now) == INTERRUPTED


def test_an_ended_run_keeps_its_status() -> None:
    assert shown_status("failed", dead_pid(), this_host(), None) == "failed"


def test_a_database_from_before_liveness_gets_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "tracking.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, project TEXT NOT NULL, status TEXT NOT "
            "NULL, started_at TEXT NOT NULL, ended_at TEXT, tags TEXT NOT NULL DEFAULT '{}', "
            "manifest TEXT NOT NULL DEFAULT '{}')"
        )
        db.execute(
            "INSERT INTO runs (run_id, project, status, started_at) VALUES "
            "('old', 'churn', 'running', '2026-01-01T00:00:00+00:00')"
        )
    tracker = LocalTracker(str(path))
    (old,) = tracker.list_runs(project=None, limit=10)
    assert old.status == "running"  # nothing to judge it by
    tracker.start_run(RunInfo("new", "churn", "2026-01-02T00:00:00+00:00"))
    assert tracker.get_run("new").status == "running"
    tracker.end_run("new", "finished", {"ended_at": "2026-01-02T00:01:00+00:00"})
    assert tracker.get_run("new").status == "finished"
