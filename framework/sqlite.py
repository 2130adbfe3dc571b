"""A small sqlite helper shared by the local plugins: one connection per call, one transaction.

Each write is a transaction, so a killed process leaves the database as it was before the write
or after it, never in between. WAL mode lets readers (``bucle runs list``) work during a run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def connect(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """Open ``path`` (creating it and its tables), yield a connection inside a transaction."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA busy_timeout=30000")
        connection.executescript(schema)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()
