"""The feedback store: ground truth for logged predictions, written once, corrected by new records.

Labels live in the inference log's sqlite file (``buffer.db``, table ``feedback``), next to the
request ids they refer to, and nothing in it is ever updated or deleted:

- the first label for a request id is its *original*; a unique index makes it the only one;
- a different label for the same id is refused (a conflict, answered 409) unless the client
  says it is a *correction* (``"correction": true`` with a ``reason``): a new record, kept beside
  the original, attributed to the authenticated principal and the client's ``source``;
- the same label again is no conflict and adds nothing (a client retrying a request).

:func:`resolve_labels` is the one rule monitoring and retraining read labels through
(:func:`read_labels`): **a request's label is that of its latest correction, else its
original**. The full history stays readable with :func:`read_feedback`.

Files written by earlier versions held one row per request id, replaced in place; the first
open migrates that table in one transaction, its rows becoming originals without a principal.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.serving.inference_log import _connect, _iso, inference_dir

if TYPE_CHECKING:
    import pandas as pd

#: The feedback table, one statement each (``executescript`` would commit the migration early).
FEEDBACK_TABLE = (
    """CREATE TABLE IF NOT EXISTS feedback (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    label TEXT NOT NULL,
    received_at TEXT NOT NULL,
    correction INTEGER NOT NULL DEFAULT 0 CHECK (correction IN (0, 1)),
    reason TEXT,
    principal TEXT,
    source TEXT
)""",
    # Write-once, enforced by the database as well: one original per request id.
    "CREATE UNIQUE INDEX IF NOT EXISTS feedback_original ON feedback (request_id) "
    "WHERE correction = 0",
    "CREATE INDEX IF NOT EXISTS feedback_request ON feedback (request_id, seq)",
)
HISTORY_COLUMNS = [
    "seq",
    "request_id",
    "label",
    "received_at",
    "correction",
    "reason",
    "principal",
    "source",
]


@dataclass(frozen=True)
class Label:
    """One feedback item as the client sent it (after checking against the model)."""

    request_id: str
    label: Any
    correction: bool = False
    reason: str | None = None
    source: str | None = None


@dataclass
class FeedbackOutcome:
    """What :func:`record_labels` did. With any conflict nothing of the batch is stored."""

    stored: int = 0
    unknown: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: ``(item index, one line)`` for each item refused as a conflict.
    conflicts: list[tuple[int, str]] = field(default_factory=list)


def _open(state_dir: Path | str) -> sqlite3.Connection:
    """The log's database with the feedback table in its current shape (migrated if old)."""
    db = _connect(inference_dir(state_dir))
    try:
        if "seq" not in _columns(db):
            _migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def _columns(db: sqlite3.Connection) -> set[str]:
    return {row[1] for row in db.execute("PRAGMA table_info(feedback)")}


def _migrate(db: sqlite3.Connection) -> None:
    """Create the table, or turn an earlier version's (one replaceable row per request id)
    into originals of the append-only table, in one transaction: a crash leaves either shape
    whole, and a second process migrating at the same moment waits and finds it done."""
    db.execute("BEGIN IMMEDIATE")
    try:
        columns = _columns(db)
        if columns and "seq" not in columns:
            db.execute("ALTER TABLE feedback RENAME TO feedback_before_corrections")
            for statement in FEEDBACK_TABLE:
                db.execute(statement)
            db.execute(
                "INSERT INTO feedback (request_id, label, received_at, correction) "
                "SELECT request_id, label, received_at, 0 FROM feedback_before_corrections "
                "ORDER BY received_at, request_id"
            )
            db.execute("DROP TABLE feedback_before_corrections")
        else:
            for statement in FEEDBACK_TABLE:
                db.execute(statement)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def encode_label(label: Any) -> str:
    """A label as stored (JSON text); ValueError for NaN or infinity, which no truth is."""
    if isinstance(label, float) and not math.isfinite(label):
        raise ValueError(f"label {label!r} is not a finite number")
    return json.dumps(label, allow_nan=False)


def record_labels(
    state_dir: Path | str, labels: Sequence[Label], principal: str
) -> FeedbackOutcome:
    """Append ``labels`` for logged requests, attributed to ``principal``.

    Unknown request ids are reported and skipped; the rest is stored in one transaction, or,
    when any item conflicts (a second original, or a correction of an unlabelled request),
    nothing is and the conflicts are returned by item index.
    """
    encoded = [(item, encode_label(item.label)) for item in labels]
    now = _iso(datetime.now(UTC))
    outcome = FeedbackOutcome()
    db = _open(state_dir)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            ids = list(dict.fromkeys(item.request_id for item in labels))
            known = _known(db, ids)
            originals = _originals(db, [i for i in ids if i in known])
            rows = []
            for index, (item, text) in enumerate(encoded):
                request_id = item.request_id
                if request_id not in known:
                    if request_id not in outcome.unknown:
                        outcome.unknown.append(request_id)
                    continue
                first = originals.get(request_id)
                if item.correction:
                    if first is None:
                        outcome.conflicts.append(
                            (
                                index,
                                f"request {request_id} has no label to correct; send it "
                                'without "correction"',
                            )
                        )
                        continue
                elif first is None:
                    originals[request_id] = text
                elif first == text:
                    outcome.unchanged.append(request_id)
                    continue
                else:
                    outcome.conflicts.append(
                        (
                            index,
                            f"request {request_id} already has label {first}; a label is "
                            'written once: to change it send "correction": true with a '
                            '"reason"',
                        )
                    )
                    continue
                rows.append(
                    (
                        request_id,
                        text,
                        now,
                        int(item.correction),
                        item.reason,
                        principal,
                        item.source,
                    )
                )
            if outcome.conflicts:
                db.execute("ROLLBACK")
                outcome.unchanged = []
                return outcome
            db.executemany(
                "INSERT INTO feedback (request_id, label, received_at, correction, reason, "
                "principal, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()
    outcome.stored = len(rows)
    return outcome


def _chunks(ids: list[str], size: int = 500) -> Any:
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield chunk, ", ".join(f"?{number}" for number in range(1, len(chunk) + 1))


def _known(db: sqlite3.Connection, ids: list[str]) -> set[str]:
    """The ids the log holds: flushed requests are in ``requests``, buffered ones in ``buffer``."""
    known: set[str] = set()
    for chunk, marks in _chunks(ids):
        known.update(
            row[0]
            for row in db.execute(
                f"SELECT request_id FROM requests WHERE request_id IN ({marks}) UNION "
                f"SELECT request_id FROM buffer WHERE request_id IN ({marks})",
                chunk,
            )
        )
    return known


def _originals(db: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk, marks in _chunks(ids):
        found.update(
            db.execute(
                f"SELECT request_id, label FROM feedback WHERE correction = 0 AND request_id IN "
                f"({marks})",
                chunk,
            ).fetchall()
        )
    return found


def read_feedback(state_dir: Path | str) -> pd.DataFrame:
    """Every feedback record, originals and corrections, in the order they arrived.

    Columns: ``seq``, ``request_id``, ``label``, ``received_at`` (UTC), ``correction`` (bool),
    ``reason``, ``principal`` (who was authenticated; null for labels stored before writes
    were), ``source`` (what the client called itself).
    """
    import pandas as pd

    if not (inference_dir(state_dir) / "buffer.db").is_file():
        return _history(pd.DataFrame(columns=HISTORY_COLUMNS))
    db = _open(state_dir)
    try:
        rows = db.execute(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM feedback ORDER BY seq")
        frame = pd.DataFrame(rows.fetchall(), columns=HISTORY_COLUMNS)
    finally:
        db.close()
    return _history(frame)


def _history(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    frame["label"] = pd.Series([json.loads(value) for value in frame["label"]], dtype=object)
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True, format="ISO8601")
    frame["correction"] = frame["correction"].astype(bool)
    for column in ("reason", "principal", "source"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def resolve_labels(history: pd.DataFrame) -> pd.DataFrame:
    """One label per request id: **the latest correction's, else the original's**.

    The rule monitoring and retraining share. Columns: ``request_id``, ``label``,
    ``received_at`` (of the record that won) and ``corrected`` (whether a correction won).
    """
    ordered = history.sort_values(["correction", "seq"], kind="stable")
    winners = ordered.drop_duplicates("request_id", keep="last").sort_values("seq")
    resolved = winners[["request_id", "label", "received_at", "correction"]]
    return resolved.rename(columns={"correction": "corrected"}).reset_index(drop=True)


def read_labels(state_dir: Path | str) -> pd.DataFrame:
    """Each labelled request's label as :func:`resolve_labels` decides it."""
    return resolve_labels(read_feedback(state_dir))
