"""A small sqlite helper shared by the local plugins: one connection per call, one transaction.

Each write is a transaction, so a killed process leaves the database as it was before the write
or after it, never in between. WAL mode lets readers (``bucle runs list``) work during a run.
A file that is not a sqlite database (truncated, overwritten, a stray file of the same name) is
one :class:`~framework.errors.StateError` line naming the file and what to do about it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from framework.errors import StateError


@contextmanager
def connect(path: Path, schema: str, holds: str = "") -> Iterator[sqlite3.Connection]:
    """Open ``path`` (creating it and its tables), yield a connection inside a transaction.

    ``holds`` says what the database keeps ("the run history"), for the corrupt-file message.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    except sqlite3.Error as error:
        raise corrupt_database(path, error, holds) from None
    try:
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=30000")
            connection.executescript(schema)
        except sqlite3.DatabaseError as error:
            if not is_corruption(error):
                raise
            raise corrupt_database(path, error, holds) from None
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except sqlite3.DatabaseError as error:
            connection.execute("ROLLBACK")
            if is_corruption(error):
                raise corrupt_database(path, error, holds) from None
            raise
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()


def is_corruption(error: sqlite3.DatabaseError) -> bool:
    """sqlite's own words for a file that is not (or no longer) a database.

    Locks, constraint violations and schema mistakes are other ``DatabaseError`` subclasses and
    keep their own handling; corruption is reported as the base class or with these messages.
    """
    text = str(error).lower()
    return type(error) is sqlite3.DatabaseError or any(
        words in text for words in ("not a database", "malformed", "file is encrypted")
    )


def corrupt_database(path: Path, error: BaseException, holds: str = "") -> StateError:
    """The one line for a database file sqlite cannot read: which file, why, and what to do."""
    what = f" ({holds})" if holds else ""
    return StateError(
        f"{path} is not a readable sqlite database{what}: {error}; it is corrupt or was "
        f"overwritten — move it aside (mv {path} {path}.corrupt) to start an empty one, or "
        "restore it from a backup"
    )
