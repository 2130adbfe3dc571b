"""The ``local`` tracker: runs, params, metrics, artifacts and manifests in one sqlite file.

It answers ``bucle runs list/show/compare/reproduce`` too. Artifacts are recorded by path and
sha256; the files themselves stay where the run wrote them (the store keeps models).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from framework import hookimpl
from framework.errors import BucleError
from framework.pipeline.liveness import HEARTBEAT_SECONDS, shown_status, this_host, utc_now
from framework.records import RunInfo, RunRecord
from framework.secrets import redacted, redacted_params
from framework.sqlite import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    manifest TEXT NOT NULL DEFAULT '{}',
    pid INTEGER,
    host TEXT,
    heartbeat TEXT
);
CREATE TABLE IF NOT EXISTS params (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""

#: Columns added after the first release: a database made before them gets them on open.
LIVENESS_COLUMNS = {"pid": "INTEGER", "host": "TEXT", "heartbeat": "TEXT"}


class LocalTracker:
    """Tracks runs in a sqlite file (``tracker.local.path``)."""

    def __init__(self, path: str = ".bucle/tracking.db") -> None:
        self.path = Path(path)
        self._migrated = False
        self._beating: dict[str, threading.Event] = {}

    def _connect(self) -> Any:
        return connect(self.path, SCHEMA, holds="the tracked runs")

    def _db(self) -> Any:
        if not self._migrated:
            with self._connect() as db:
                present = {row["name"] for row in db.execute("PRAGMA table_info(runs)")}
                for column, kind in LIVENESS_COLUMNS.items():
                    if column not in present:
                        db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
            self._migrated = True
        return self._connect()

    @hookimpl
    def start_run(self, run: RunInfo) -> None:
        """Record the run as running in this process, and keep its heartbeat while it runs."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs "
                "(run_id, project, status, started_at, tags, pid, host, heartbeat) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.project,
                    run.started_at,
                    json.dumps(run.tags),
                    os.getpid(),
                    this_host(),
                    utc_now(),
                ),
            )
        self._start_heartbeat(run.run_id)

    def _start_heartbeat(self, run_id: str) -> None:
        """Beat every HEARTBEAT_SECONDS until end_run; a daemon thread dies with the process,
        so a killed run stops beating and `bucle runs` shows it as interrupted."""
        stop = self._beating.setdefault(run_id, threading.Event())

        def beat() -> None:
            while not stop.wait(HEARTBEAT_SECONDS):
                try:
                    with self._db() as db:
                        db.execute(
                            "UPDATE runs SET heartbeat = ? WHERE run_id = ? AND status = 'running'",
                            (utc_now(), run_id),
                        )
                except Exception:  # a missed beat only makes the run look stale sooner
                    continue

        threading.Thread(target=beat, name=f"bucle-heartbeat-{run_id}", daemon=True).start()

    @hookimpl
    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        # Whoever calls the hook, what lands in the database went through the secret classifier.
        params = redacted_params(params)
        with self._db() as db:
            db.executemany(
                "INSERT OR REPLACE INTO params VALUES (?, ?, ?)",
                [(run_id, key, json.dumps(value, default=str)) for key, value in params.items()],
            )

    @hookimpl
    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        with self._db() as db:
            db.executemany(
                "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?)",
                [(run_id, key, float(value)) for key, value in metrics.items()],
            )

    @hookimpl
    def log_artifact(self, run_id: str, name: str, path: Path, sha256: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?)",
                (run_id, name, str(path), sha256),
            )

    @hookimpl
    def end_run(self, run_id: str, status: str, manifest: dict[str, Any]) -> None:
        stop = self._beating.pop(run_id, None)
        if stop is not None:
            stop.set()
        with self._db() as db:
            db.execute(
                "UPDATE runs SET status = ?, ended_at = ?, manifest = ? WHERE run_id = ?",
                (
                    status,
                    manifest.get("ended_at"),
                    json.dumps(redacted(manifest), default=str),
                    run_id,
                ),
            )

    @hookimpl
    def list_runs(self, project: str | None, limit: int) -> list[RunRecord]:
        if not self.path.exists():
            return []
        with self._db() as db:
            query = "SELECT run_id FROM runs"
            args: tuple = ()
            if project:
                query += " WHERE project = ?"
                args = (project,)
            query += " ORDER BY started_at DESC, run_id DESC LIMIT ?"
            ids = [row["run_id"] for row in db.execute(query, (*args, limit))]
            return [self._record(db, run_id) for run_id in ids]

    @hookimpl
    def get_run(self, run_id: str) -> RunRecord | None:
        if not self.path.exists():
            return None
        with self._db() as db:
            rows = db.execute(
                "SELECT run_id FROM runs WHERE run_id LIKE ? ORDER BY run_id", (f"{run_id}%",)
            ).fetchall()
            if len(rows) > 1 and not any(row["run_id"] == run_id for row in rows):
                matches = ", ".join(row["run_id"] for row in rows[:5])
                raise BucleError(f"run id prefix '{run_id}' is ambiguous: {matches}")
            if not rows:
                return None
            exact = next((r["run_id"] for r in rows if r["run_id"] == run_id), rows[0]["run_id"])
            return self._record(db, exact)

    @staticmethod
    def _record(db: sqlite3.Connection, run_id: str) -> RunRecord:
        run = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        params = {
            row["key"]: json.loads(row["value"])
            for row in db.execute("SELECT key, value FROM params WHERE run_id = ?", (run_id,))
        }
        metrics = {
            row["key"]: row["value"]
            for row in db.execute("SELECT key, value FROM metrics WHERE run_id = ?", (run_id,))
        }
        artifacts = {
            row["name"]: row["sha256"]
            for row in db.execute("SELECT name, sha256 FROM artifacts WHERE run_id = ?", (run_id,))
        }
        return RunRecord(
            run_id=run["run_id"],
            project=run["project"],
            status=shown_status(run["status"], run["pid"], run["host"], run["heartbeat"]),
            started_at=run["started_at"],
            ended_at=run["ended_at"],
            params=params,
            metrics=metrics,
            artifacts=artifacts,
            manifest=json.loads(run["manifest"]),
            tags=json.loads(run["tags"]),
        )
