"""The inference log: every prediction the server acknowledged, on disk, then in Parquet by hour.

This is the inference data set that monitoring reads, so it must hold exactly the predictions
clients received. Two layers under ``<paths.state>/inference/``:

``buffer.db``
    A sqlite file (WAL, ``synchronous=FULL``). A request's rows are committed in one
    transaction *before* the server answers, so an acknowledged prediction survives a killed
    process. Concurrent requests are committed together by one writer thread (group commit):
    one fsync serves many requests, and each request's rows still commit all together or not
    at all. The same file keeps every logged request id (so feedback can tell known ids from
    unknown ones) and the feedback itself.
``predictions/date=YYYY-MM-DD/hour=HH/part-<flush>.parquet``
    Columnar partitions by UTC time. A flusher thread moves buffered rows here every
    ``flush_seconds`` and at shutdown, in three steps that a crash can interrupt anywhere:
    claim the rows (mark them with a flush id), write each partition's file atomically, then
    delete the claimed rows. A claim older than ``stale_claim_seconds`` belongs to a process
    that died: where its file exists the rows are deleted, otherwise they are released.

:func:`read_inference_log` reads the buffer first and the partitions second, then drops rows
seen twice, so a flush running at the same moment can neither hide nor double a row.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import BucleError
from framework.files import write_with
from framework.sqlite import connect

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("bucle.serving")

BUFFER = "buffer.db"
PARTITIONS = "predictions"

SCHEMA = """
CREATE TABLE IF NOT EXISTS buffer (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    row_id TEXT NOT NULL UNIQUE,
    request_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    model_sha256 TEXT NOT NULL,
    alias TEXT NOT NULL,
    inputs TEXT NOT NULL,
    prediction TEXT NOT NULL,
    probabilities TEXT NOT NULL,
    flush_id TEXT,
    claimed_at REAL
);
CREATE INDEX IF NOT EXISTS buffer_flush ON buffer (flush_id);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    timestamp TEXT NOT NULL,
    model_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""

#: Columns of a log row, in buffer and Parquet order. JSON columns hold JSON text on disk.
COLUMNS = (
    "row_id",
    "request_id",
    "timestamp",
    "model_name",
    "model_version",
    "model_sha256",
    "alias",
    "inputs",
    "prediction",
    "probabilities",
)
JSON_COLUMNS = ("inputs", "prediction", "probabilities")


class InferenceLogError(BucleError):
    """The inference log cannot take a row: the prediction must not be acknowledged."""


@dataclass(frozen=True)
class Prediction:
    """One answered record, as it is logged."""

    request_id: str
    timestamp: datetime
    model_name: str
    model_version: int
    model_sha256: str
    alias: str
    inputs: dict[str, Any]
    prediction: Any
    probabilities: dict[str, float]

    def row(self) -> tuple[Any, ...]:
        return (
            uuid.uuid4().hex,
            self.request_id,
            _iso(self.timestamp),
            self.model_name,
            self.model_version,
            self.model_sha256,
            self.alias,
            json.dumps(self.inputs, allow_nan=False),
            json.dumps(self.prediction, allow_nan=False),
            json.dumps(self.probabilities, allow_nan=False),
        )


def inference_dir(state_dir: Path | str) -> Path:
    return Path(state_dir) / "inference"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _connect(directory: Path) -> sqlite3.Connection:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(directory / BUFFER, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=30000")
        db.executescript(SCHEMA)
    except (OSError, sqlite3.Error) as error:
        raise InferenceLogError(
            f"cannot open the inference log {directory / BUFFER}: {error}; check paths.state"
        ) from None
    return db


class InferenceLog:
    """Appends predictions durably and moves them into hourly Parquet partitions."""

    def __init__(
        self,
        state_dir: Path | str,
        flush_seconds: float = 5.0,
        stale_claim_seconds: float = 300.0,
        flush_rows: int = 100_000,
    ) -> None:
        self.directory = inference_dir(state_dir)
        self.flush_seconds = flush_seconds
        self.stale_claim_seconds = stale_claim_seconds
        self.flush_rows = flush_rows
        self._pending: list[tuple[list[tuple[Any, ...]], concurrent.futures.Future]] = []
        self._condition = threading.Condition()
        self._closing = False
        self._writer: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        self._stop_flusher = threading.Event()
        self._flush_lock = threading.Lock()

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Create the buffer, settle what a dead process left half-flushed, start both threads."""
        _connect(self.directory).close()
        self.recover()
        self._closing = False
        self._writer = threading.Thread(target=self._write_loop, name="bucle-log-writer")
        self._writer.daemon = True
        self._writer.start()
        self._stop_flusher.clear()
        self._flusher = threading.Thread(target=self._flush_loop, name="bucle-log-flusher")
        self._flusher.daemon = True
        self._flusher.start()

    def close(self) -> None:
        """Commit what is pending, stop both threads, and flush the buffer into Parquet."""
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        self._stop_flusher.set()
        if self._flusher is not None:
            self._flusher.join()
            self._flusher = None
        self.flush()

    # Appending -------------------------------------------------------------------------------

    def submit(self, predictions: Sequence[Prediction]) -> concurrent.futures.Future:
        """Queue one request's rows; the future completes once they are committed to disk."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            rows = [prediction.row() for prediction in predictions]
        except ValueError as error:  # a value JSON cannot hold (NaN): refuse, never log half
            future.set_exception(InferenceLogError(f"cannot log the prediction: {error}"))
            return future
        with self._condition:
            if self._closing or self._writer is None:
                future.set_exception(InferenceLogError("the inference log is not open"))
                return future
            self._pending.append((rows, future))
            self._condition.notify()
        return future

    def append(self, predictions: Sequence[Prediction]) -> None:
        """Log one request's rows and return once they are on disk (raises when they are not)."""
        self.submit(predictions).result()

    def _write_loop(self) -> None:
        db = _connect(self.directory)
        try:
            while True:
                with self._condition:
                    while not self._pending and not self._closing:
                        self._condition.wait()
                    batch, self._pending = self._pending, []
                if not batch:
                    return  # closing and nothing left
                self._commit(db, batch)
        finally:
            db.close()

    def _commit(self, db: sqlite3.Connection, batch: list) -> None:
        try:
            self._insert(db, [rows for rows, _ in batch])
        except Exception:
            # One request's rows broke the group: commit each request on its own, so only
            # that request is refused.
            for rows, future in batch:
                try:
                    self._insert(db, [rows])
                except Exception as error:
                    logger.error("inference log refused a request's rows: %s", error)
                    future.set_exception(
                        InferenceLogError(f"the inference log cannot store the prediction: {error}")
                    )
                else:
                    future.set_result(None)
            return
        for _, future in batch:
            future.set_result(None)

    @staticmethod
    def _insert(db: sqlite3.Connection, requests: Iterable[list[tuple[Any, ...]]]) -> None:
        placeholders = ", ".join("?" for _ in COLUMNS)
        db.execute("BEGIN IMMEDIATE")
        try:
            for rows in requests:
                db.executemany(
                    f"INSERT INTO buffer ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows
                )
                db.executemany(
                    "INSERT OR REPLACE INTO requests VALUES (?, ?, ?)",
                    [(row[1], row[2], row[4]) for row in rows],
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # Flushing --------------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        while not self._stop_flusher.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception as error:  # keep serving: the rows stay in the buffer
                logger.error("inference log flush failed, rows stay buffered: %s", error)

    def flush(self) -> int:
        """Move every buffered row into its Parquet partition; returns how many moved."""
        moved = 0
        with self._flush_lock:
            db = _connect(self.directory)
            try:
                self._settle_stale(db)
                while True:
                    count = self._flush_once(db)
                    moved += count
                    if count < self.flush_rows:
                        return moved
            finally:
                db.close()

    def _flush_once(self, db: sqlite3.Connection) -> int:
        flush_id = uuid.uuid4().hex
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "UPDATE buffer SET flush_id = ?, claimed_at = ? WHERE seq IN "
            "(SELECT seq FROM buffer WHERE flush_id IS NULL ORDER BY seq LIMIT ?)",
            (flush_id, time.time(), self.flush_rows),
        )
        db.execute("COMMIT")
        rows = db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM buffer WHERE flush_id = ? ORDER BY seq",
            (flush_id,),
        ).fetchall()
        if not rows:
            return 0
        try:
            for partition, part_rows in _by_partition(rows).items():
                _write_partition(self.directory / PARTITIONS / partition, flush_id, part_rows)
        except BaseException:
            self._settle(db, flush_id)  # what was written leaves the buffer, the rest returns
            raise
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM buffer WHERE flush_id = ?", (flush_id,))
        db.execute("COMMIT")
        return len(rows)

    def recover(self) -> None:
        """Settle the flushes a dead process left half done (claims older than the stale age)."""
        db = _connect(self.directory)
        try:
            self._settle_stale(db)
        finally:
            db.close()

    def _settle_stale(self, db: sqlite3.Connection) -> None:
        cutoff = time.time() - self.stale_claim_seconds
        stale = db.execute(
            "SELECT DISTINCT flush_id FROM buffer WHERE flush_id IS NOT NULL AND claimed_at <= ?",
            (cutoff,),
        ).fetchall()
        for (flush_id,) in stale:
            written, released = self._settle(db, flush_id)
            logger.warning(
                "inference log: settled an interrupted flush (%d rows already in Parquet, "
                "%d returned to the buffer)",
                written,
                released,
            )

    def _settle(self, db: sqlite3.Connection, flush_id: str) -> tuple[int, int]:
        """Rows of claim ``flush_id`` whose partition file exists are deleted, others released.

        Each partition file is renamed into place whole, so its existence says exactly which
        of the claimed rows are safe in Parquet.
        """
        claimed = db.execute(
            "SELECT seq, timestamp FROM buffer WHERE flush_id = ?", (flush_id,)
        ).fetchall()
        written, released = [], []
        for seq, timestamp in claimed:
            path = self.directory / PARTITIONS / _partition(timestamp) / f"part-{flush_id}.parquet"
            (written if path.is_file() else released).append((seq,))
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM buffer WHERE seq = ?", written)
            db.executemany(
                "UPDATE buffer SET flush_id = NULL, claimed_at = NULL WHERE seq = ?", released
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return len(written), len(released)


def record_feedback(state_dir: Path | str, items: Sequence[tuple[str, Any]]) -> tuple[int, list]:
    """Store ``(request_id, label)`` pairs for logged requests; unknown ids are returned, not kept.

    Sending a label again for the same request replaces it: the latest word on the truth wins.
    """
    now = _iso(datetime.now(UTC))
    with connect(inference_dir(state_dir) / BUFFER, SCHEMA) as db:
        known = set()
        ids = list(dict.fromkeys(request_id for request_id, _ in items))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            known.update(
                row[0]
                for row in db.execute(
                    f"SELECT request_id FROM requests WHERE request_id IN ({marks})", chunk
                )
            )
        stored = [
            (request_id, json.dumps(label), now)
            for request_id, label in items
            if request_id in known
        ]
        db.executemany("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?)", stored)
    unknown = [request_id for request_id in ids if request_id not in known]
    return len(stored), unknown


def read_feedback(state_dir: Path | str) -> pd.DataFrame:
    """Every stored label: ``request_id``, ``label``, ``received_at`` (UTC)."""
    import pandas as pd

    path = inference_dir(state_dir) / BUFFER
    columns = ["request_id", "label", "received_at"]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    db = _connect(path.parent)
    try:
        rows = db.execute(f"SELECT {', '.join(columns)} FROM feedback").fetchall()
    finally:
        db.close()
    frame = pd.DataFrame(rows, columns=columns)
    frame["label"] = [json.loads(value) for value in frame["label"]]
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True, format="ISO8601")
    return frame


def read_inference_log(state_dir: Path | str, since: datetime | str | None = None) -> pd.DataFrame:
    """Every logged prediction, flushed or still buffered, each once, oldest first.

    :param state_dir: the project's state directory (``paths.state``, e.g. ``.bucle``).
    :param since: only predictions at or after this moment (a datetime, naive meaning UTC, or
        ISO 8601 text).

    Columns: ``row_id``, ``request_id``, ``timestamp`` (UTC), ``model_name``,
    ``model_version``, ``model_sha256``, ``alias``, ``inputs`` (the record as the client sent
    it, a dict), ``prediction`` and ``probabilities`` (class → probability, a dict).
    """
    import pandas as pd

    directory = inference_dir(state_dir)
    cutoff = _as_utc(since)
    # Buffer first, partitions second: a row moving between them meanwhile is seen at least once.
    frames = [_read_buffer(directory), _read_partitions(directory, cutoff)]
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return _empty_log()
    log = pd.concat(frames, ignore_index=True)
    log = log.drop_duplicates("row_id", keep="first")
    if cutoff is not None:
        log = log[log["timestamp"] >= cutoff]
    log = log.sort_values("timestamp", kind="stable").reset_index(drop=True)
    for column in JSON_COLUMNS:
        log[column] = [json.loads(value) for value in log[column]]
    log["model_version"] = log["model_version"].astype("int64")
    return log


def _empty_log() -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in COLUMNS})
    frame["timestamp"] = pd.Series(dtype="datetime64[us, UTC]")
    frame["model_version"] = pd.Series(dtype="int64")
    return frame


def _as_utc(since: datetime | str | None) -> pd.Timestamp | None:
    import pandas as pd

    if since is None:
        return None
    moment = pd.Timestamp(since)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def _read_buffer(directory: Path) -> pd.DataFrame:
    import pandas as pd

    if not (directory / BUFFER).is_file():
        return pd.DataFrame(columns=list(COLUMNS))
    db = _connect(directory)
    try:
        rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM buffer ORDER BY seq").fetchall()
    finally:
        db.close()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    return frame


def _read_partitions(directory: Path, cutoff: Any) -> pd.DataFrame:
    import pandas as pd
    import pyarrow.parquet as pq

    root = directory / PARTITIONS
    files = sorted(root.glob("date=*/hour=*/part-*.parquet"))
    if cutoff is not None:
        first = (cutoff.strftime("%Y-%m-%d"), cutoff.strftime("%H"))
        files = [path for path in files if _partition_key(path) >= first]
    if not files:
        return pd.DataFrame(columns=list(COLUMNS))
    frames = [pq.read_table(path).to_pandas()[list(COLUMNS)] for path in files]
    return pd.concat(frames, ignore_index=True)


def _partition_key(path: Path) -> tuple[str, str]:
    hour, date = path.parent.name, path.parent.parent.name
    return date.removeprefix("date="), hour.removeprefix("hour=")


def _partition(timestamp: str) -> str:
    moment = datetime.fromisoformat(timestamp).astimezone(UTC)
    return f"date={moment:%Y-%m-%d}/hour={moment:%H}"


def _by_partition(rows: Sequence[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    partitions: dict[str, list[tuple[Any, ...]]] = {}
    position = COLUMNS.index("timestamp")
    for row in rows:
        partitions.setdefault(_partition(row[position]), []).append(row)
    return partitions


def _write_partition(directory: Path, flush_id: str, rows: Sequence[tuple[Any, ...]]) -> Path:
    """Write one partition's rows as ``part-<flush_id>.parquet``, atomically and durably."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("row_id", pa.string()),
            ("request_id", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("model_name", pa.string()),
            ("model_version", pa.int64()),
            ("model_sha256", pa.string()),
            ("alias", pa.string()),
            ("inputs", pa.string()),
            ("prediction", pa.string()),
            ("probabilities", pa.string()),
        ]
    )
    columns = {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)}
    columns["timestamp"] = [datetime.fromisoformat(value) for value in columns["timestamp"]]
    table = pa.Table.from_pydict(columns, schema=schema)
    target = directory / f"part-{flush_id}.parquet"
    write_with(target, lambda temporary: pq.write_table(table, temporary))
    # The rename must be on disk before the rows leave the buffer.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return target
