"""The ``local`` registry: model versions with lineage and aliases in one sqlite file.

A version is identified by the sha256 of its artifact, so registering the same artifact again
returns the version it already has. Aliases (``production``, ``candidate``, ``staging``) point
at one version each and keep their history, so the previous holder can be found again.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework import hookimpl
from framework.errors import BucleError
from framework.records import ModelVersion
from framework.sqlite import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    run_id TEXT NOT NULL,
    lineage TEXT NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (name, version),
    UNIQUE (name, sha256)
);
CREATE TABLE IF NOT EXISTS aliases (
    name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, set_at TEXT NOT NULL,
    PRIMARY KEY (name, alias)
);
CREATE TABLE IF NOT EXISTS alias_history (
    name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, set_at TEXT NOT NULL
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LocalRegistry:
    """Registers model versions in a sqlite file (``registry.path``)."""

    def __init__(self, path: str = ".bucle/registry.db") -> None:
        self.path = Path(path)

    def _db(self) -> Any:
        return connect(self.path, SCHEMA, holds="the model registry")

    @hookimpl
    def register_model(
        self,
        name: str,
        sha256: str,
        run_id: str,
        lineage: dict[str, Any],
        metrics: dict[str, float],
    ) -> ModelVersion:
        with self._db() as db:
            row = db.execute(
                "SELECT version FROM versions WHERE name = ? AND sha256 = ?", (name, sha256)
            ).fetchone()
            if row is None:
                number = db.execute(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE name = ?", (name,)
                ).fetchone()[0]
                db.execute(
                    "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        number,
                        sha256,
                        _now(),
                        run_id,
                        json.dumps(lineage, default=str),
                        json.dumps(metrics),
                    ),
                )
            else:
                number = row["version"]
            return self._version(db, name, number)

    @hookimpl
    def get_model_version(self, name: str, version: int) -> ModelVersion | None:
        if not self.path.exists():
            return None
        with self._db() as db:
            return self._version(db, name, version)

    @hookimpl
    def list_model_versions(self, name: str | None) -> list[ModelVersion]:
        if not self.path.exists():
            return []
        with self._db() as db:
            query = "SELECT name, version FROM versions"
            args: tuple = ()
            if name:
                query += " WHERE name = ?"
                args = (name,)
            rows = db.execute(query + " ORDER BY name, version DESC", args).fetchall()
            return [self._version(db, row["name"], row["version"]) for row in rows]

    @hookimpl
    def set_model_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        with self._db() as db:
            if self._version(db, name, version) is None:
                raise BucleError(
                    f"model '{name}' has no version {version}; see `bucle models list`"
                )
            now = _now()
            db.execute(
                "INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)", (name, alias, version, now)
            )
            db.execute("INSERT INTO alias_history VALUES (?, ?, ?, ?)", (name, alias, version, now))
            return self._version(db, name, version)

    @hookimpl
    def delete_model_alias(self, name: str, alias: str) -> int | None:
        with self._db() as db:
            row = db.execute(
                "SELECT version FROM aliases WHERE name = ? AND alias = ?", (name, alias)
            ).fetchone()
            db.execute("DELETE FROM aliases WHERE name = ? AND alias = ?", (name, alias))
            return None if row is None else int(row["version"])

    @hookimpl
    def get_model_alias(self, name: str, alias: str) -> ModelVersion | None:
        if not self.path.exists():
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT version FROM aliases WHERE name = ? AND alias = ?", (name, alias)
            ).fetchone()
            return None if row is None else self._version(db, name, row["version"])

    @hookimpl
    def get_alias_history(self, name: str, alias: str) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute(
                "SELECT version, set_at FROM alias_history WHERE name = ? AND alias = ? "
                "ORDER BY rowid DESC",
                (name, alias),
            ).fetchall()
            return [{"version": row["version"], "set_at": row["set_at"]} for row in rows]

    @staticmethod
    def _version(db: sqlite3.Connection, name: str, version: int) -> ModelVersion | None:
        row = db.execute(
            "SELECT * FROM versions WHERE name = ? AND version = ?", (name, version)
        ).fetchone()
        if row is None:
            return None
        aliases = [
            r["alias"]
            for r in db.execute(
                "SELECT alias FROM aliases WHERE name = ? AND version = ? ORDER BY alias",
                (name, version),
            )
        ]
        return ModelVersion(
            name=row["name"],
            version=row["version"],
            sha256=row["sha256"],
            created_at=row["created_at"],
            run_id=row["run_id"],
            lineage=json.loads(row["lineage"]),
            metrics=json.loads(row["metrics"]),
            aliases=aliases,
        )
