"""A database file sqlite cannot read is one line naming the file and what to do, never a
traceback; real errors (a constraint) keep their own type."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from framework.errors import StateError
from framework.sqlite import connect

SCHEMA = "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, status TEXT);"


def test_a_file_that_is_not_a_database_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "tracking.db"
    path.write_bytes(b"garbage, not sqlite\n" * 100)
    with pytest.raises(StateError) as caught, connect(path, SCHEMA, holds="the tracked runs"):
        pass
    message = str(caught.value)
    assert f"{path} is not a readable sqlite database (the tracked runs)" in message
    assert f"mv {path} {path}.corrupt" in message and "\n" not in message


def test_a_truncated_database_is_reported_when_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    with connect(path, SCHEMA) as db:
        db.executemany("INSERT INTO runs VALUES (?, ?)", [(f"r{i}", "x" * 500) for i in range(200)])
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    unreadable = r"registry\.db is not a readable sqlite database"
    with pytest.raises(StateError, match=unreadable), connect(path, SCHEMA) as db:
        db.execute("SELECT COUNT(*), MAX(status) FROM runs").fetchone()


def test_a_constraint_violation_is_not_called_corruption(tmp_path: Path) -> None:
    path = tmp_path / "tracking.db"
    with connect(path, SCHEMA) as db:
        db.execute("INSERT INTO runs VALUES ('a', 'running')")
    with pytest.raises(sqlite3.IntegrityError), connect(path, SCHEMA) as db:
        db.execute("INSERT INTO runs VALUES ('a', 'running')")
    with connect(path, SCHEMA) as db:  # rolled back, still readable
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
