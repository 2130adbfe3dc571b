"""The inference log: every prediction the server acknowledged, on disk, then in Parquet by hour.

This is the inference data set that monitoring reads, so it must hold exactly the predictions
clients received. Two layers under ``<paths.state>/inference/``:

``buffer.db``
    A sqlite file (WAL, ``synchronous=FULL``). A request's rows are committed in one
    transaction *before* the server answers, so an acknowledged prediction survives a killed
    process. Concurrent requests are committed together by one writer thread (group commit):
    one fsync serves many requests, and each request's rows still commit all together or not
    at all. The same file keeps every logged request id (so feedback can tell known ids from
    unknown ones: a buffered row's id is in the row, a flushed row's in the ``requests``
    table, where the flush puts it in the transaction that deletes the row); the feedback store
    (:mod:`framework.serving.feedback`) keeps its append-only table in the same file.
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
import itertools
import json
import logging
import math
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
    claimed_at REAL,
    client_request_id TEXT,
    rule_warnings TEXT
);
CREATE INDEX IF NOT EXISTS buffer_flush ON buffer (flush_id);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    timestamp TEXT NOT NULL,
    model_version INTEGER NOT NULL
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
    "client_request_id",
    "rule_warnings",
)
JSON_COLUMNS = ("inputs", "prediction", "probabilities")
#: Rows per INSERT statement at most: larger statements cost more to prepare than they save.
MAX_ROWS_PER_STATEMENT = 512


class InferenceLogError(BucleError):
    """The inference log cannot take a row: the prediction must not be acknowledged."""


class FlushError(InferenceLogError):
    """The final flush failed; the rows are still in the buffer (the message says where)."""


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
    #: The client's own ``X-Request-ID``, kept apart from the id the server issued.
    client_request_id: str | None = None
    #: The data rules (``serve.rules``) the record breaks, as its answer listed them.
    rule_warnings: Sequence[str] = ()

    def row(self) -> tuple[Any, ...]:
        """This prediction as a buffer row; raises ``ValueError`` for a value JSON cannot hold."""
        return _rows([self])[0]


#: One encoder for every row: ``json.dumps`` with an option builds a new encoder per call.
#: NaN and infinity raise ``ValueError`` rather than becoming text other readers reject.
_JSON = json.JSONEncoder(allow_nan=False)


def _rows(predictions: Sequence[Prediction]) -> list[tuple[Any, ...]]:
    """One request's buffer rows, in :data:`COLUMNS` order.

    Raises what the encoder raises (``ValueError`` for NaN, ``TypeError`` for a value that is
    not JSON) for the request as a whole, so none of its rows is logged without the others.
    """
    encode = _JSON.encode
    labels: dict[str, str] = {}  # class label → its JSON text, shared by the request's rows
    # A row id is 32 hex digits: the time in microseconds, then 72 random bits. Leading with
    # the time makes each commit add to the end of the row_id index; a random id dirtied a
    # page of it per row (with 30,000 rows buffered, a commit wrote almost five times the bytes).
    prefix = f"{time.time_ns() // 1000:014x}"
    random_hex = os.urandom(9 * len(predictions)).hex()
    moments: dict[datetime, str] = {}  # a request's rows share one timestamp: format it once
    rows = []
    for index, prediction in enumerate(predictions):
        moment = prediction.timestamp
        timestamp = moments.get(moment)
        if timestamp is None:
            timestamp = moments[moment] = _iso(moment)
        predicted = prediction.prediction
        rows.append(
            (
                prefix + random_hex[18 * index : 18 * index + 18],
                prediction.request_id,
                timestamp,
                prediction.model_name,
                prediction.model_version,
                prediction.model_sha256,
                prediction.alias,
                encode(prediction.inputs),
                str(predicted) if type(predicted) is int else encode(predicted),  # int: as JSON
                _probabilities_json(prediction.probabilities, labels),
                prediction.client_request_id,
                encode(list(prediction.rule_warnings)) if prediction.rule_warnings else None,
            )
        )
    return rows


def _probabilities_json(probabilities: dict[str, float], labels: dict[str, str]) -> str:
    """The JSON the encoder writes for class → probability, without a call into it per row.

    A finite float is written as ``repr`` writes it, which is what ``json`` does; any other
    value (NaN included, which the encoder refuses) goes through the encoder.
    """
    parts = []
    for label, value in probabilities.items():
        key = labels.get(label)
        if key is None:
            if type(label) is not str:
                return _JSON.encode(probabilities)
            key = labels[label] = _JSON.encode(label)
        if type(value) is not float or not math.isfinite(value):
            return _JSON.encode(probabilities)
        parts.append(f"{key}: {value!r}")
    return "{" + ", ".join(parts) + "}"


def inference_dir(state_dir: Path | str) -> Path:
    return Path(state_dir) / "inference"


def inference_root(state_dir: Path, alias: str) -> Path:
    """Where a server serving ``alias`` keeps its inference log: production's is the inference
    data set monitoring reads (``<state>/inference``); a server of another alias, such as the
    staging server of ``bucle release``, logs under ``<state>/<alias>/`` so its rehearsal
    traffic never mixes with production's."""
    return Path(state_dir) if alias == "production" else Path(state_dir) / alias


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _serialize(
    batch: Sequence[tuple[Sequence[Prediction], concurrent.futures.Future]],
) -> list[tuple[list[tuple[Any, ...]], concurrent.futures.Future]]:
    """Each request's rows with its future; a request that cannot be logged is refused alone."""
    ready = []
    for predictions, future in batch:
        # After this a client can no longer cancel: the rows it is about to get are logged.
        if not future.set_running_or_notify_cancel():
            continue
        try:
            rows = _rows(predictions)
        except Exception as error:  # NaN, a value that is not JSON: refuse, never log half
            future.set_exception(InferenceLogError(f"cannot log the prediction: {error}"))
        else:
            ready.append((rows, future))
    return ready


def _insert_values(db: sqlite3.Connection, head: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run ``<head> (?, ...), (?, ...), ...`` over ``rows``, many rows per statement, in order.

    ``executemany`` steps sqlite once per row, and every step releases the GIL and takes it
    back from the threads serving requests: hundreds of hand-overs per request. A statement of
    many rows is one step, run outside the GIL. Chunks are powers of two, so a handful of
    statement texts, kept in the connection's statement cache, serve every request size.
    """
    if not rows:
        return
    width = len(rows[0])
    marks = "(" + ", ".join("?" * width) + ")"
    fitting = min(
        MAX_ROWS_PER_STATEMENT, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
    )
    size = 1 << (fitting.bit_length() - 1)  # the largest power of two that fits
    start = 0
    while start < len(rows):
        while size > len(rows) - start:
            size >>= 1
        chunk = rows[start : start + size]
        db.execute(
            f"{head} {', '.join([marks] * size)}", list(itertools.chain.from_iterable(chunk))
        )
        start += size


def _connect(directory: Path) -> sqlite3.Connection:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(directory / BUFFER, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=30000")
        db.executescript(SCHEMA)
        _add_columns(db)
    except (OSError, sqlite3.Error) as error:
        raise InferenceLogError(
            f"cannot open the inference log {directory / BUFFER}: {error}; check paths.state"
        ) from None
    return db


#: Columns added to the buffer after it was first written, oldest first.
ADDED_COLUMNS = ("client_request_id", "rule_warnings")


def _add_columns(db: sqlite3.Connection) -> None:
    """Give a buffer written by an earlier version the columns added since (``client_request_id``
    when request ids became the server's, ``rule_warnings`` with ``serve.rules``): one ``ALTER
    TABLE`` each, atomic; its old rows have none."""
    for column in ADDED_COLUMNS:
        if column in {row[1] for row in db.execute("PRAGMA table_info(buffer)")}:
            continue
        try:
            db.execute(f"ALTER TABLE buffer ADD COLUMN {column} TEXT")
        except sqlite3.OperationalError:  # another process added it a moment ago
            if column not in {row[1] for row in db.execute("PRAGMA table_info(buffer)")}:
                raise


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
        self._pending: list[tuple[Sequence[Prediction], concurrent.futures.Future]] = []
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
        """Commit what is pending, stop both threads, and flush the buffer into Parquet.

        Raises :class:`FlushError` (one line, no traceback to show) when the final flush
        fails, a full disk most often: the rows are still in ``buffer.db`` then, because a
        row leaves the buffer only in the transaction that follows its written partition.
        """
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
        try:
            self.flush()
        except (OSError, sqlite3.Error, BucleError) as error:
            raise FlushError(self._kept_message(error)) from None

    def _kept_message(self, error: BaseException) -> str:
        """The one line for a final flush that failed: where the rows are and what to do."""
        from framework.files import is_disk_full

        if is_disk_full(error):
            reason = "no space left on device"
        else:
            text = str(error).strip()
            reason = f"{type(error).__name__}: {text.splitlines()[0] if text else 'no detail'}"
        try:
            db = _connect(self.directory)
            try:
                count = db.execute("SELECT COUNT(*) FROM buffer").fetchone()[0]
            finally:
                db.close()
            rows = f"{count} prediction{'s' if count != 1 else ''}"
        except (InferenceLogError, sqlite3.Error):
            rows = "the buffered predictions"
        directory = self.directory.absolute()  # a server log is read from anywhere
        return (
            f"inference log: could not move {rows} into {directory / PARTITIONS} at "
            f"shutdown ({reason}); they are safe in {directory / BUFFER}: free space on "
            "that disk, and the next `bucle serve` moves them into Parquet (`bucle monitor` "
            "reads them from the buffer meanwhile)"
        )

    # Appending -------------------------------------------------------------------------------

    def submit(self, predictions: Sequence[Prediction]) -> concurrent.futures.Future:
        """Queue one request's rows; the future completes once they are committed to disk.

        The writer thread turns the predictions into rows, so the caller's thread (the event
        loop) does no JSON work; the predictions' values must stay unchanged until the future
        completes. A request holding a value JSON cannot (NaN) fails with
        :class:`InferenceLogError` and none of its rows is logged; other requests are not
        affected. A future cancelled before the writer takes it is dropped: its request was
        abandoned, so no client receives those predictions.
        """
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._condition:
            if self._closing or self._writer is None:
                future.set_exception(InferenceLogError("the inference log is not open"))
                return future
            self._pending.append((tuple(predictions), future))
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
                self._commit(db, _serialize(batch))
        finally:
            db.close()

    def _commit(self, db: sqlite3.Connection, batch: list) -> None:
        if not batch:
            return
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
        # Only the buffer: a request id is known from its buffered row until the flush moves
        # it to the requests table (see _forget_buffered). Adding random ids to that table's
        # index here dirtied about a page per record: with 30,000 ids logged, each commit
        # wrote five times the bytes, and more as the table grew.
        rows = [row for request_rows in requests for row in request_rows]
        db.execute("BEGIN IMMEDIATE")
        try:
            _insert_values(db, f"INSERT INTO buffer ({', '.join(COLUMNS)}) VALUES", rows)
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
        try:
            _forget_buffered(db, "flush_id = ?", [(flush_id,)])
        except BaseException:
            db.execute("ROLLBACK")
            raise
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
            _forget_buffered(db, "seq = ?", written)
            db.executemany(
                "UPDATE buffer SET flush_id = NULL, claimed_at = NULL WHERE seq = ?", released
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return len(written), len(released)


def _forget_buffered(
    db: sqlite3.Connection, where: str, parameters: Sequence[tuple[Any, ...]]
) -> None:
    """Delete the buffer rows matching ``where``, keeping their request ids in ``requests``.

    A logged request id lives in its buffered row, then in ``requests`` once the row is in
    Parquet: feedback looks in both, and this moves ids between them inside the caller's
    transaction, so an id is never in neither. Sorted, the ids fill the index in order. When a
    client reuses a request id, the latest row (the highest ``seq``) is the one kept.
    """
    db.executemany(
        "INSERT OR REPLACE INTO requests "
        f"SELECT request_id, timestamp, model_version FROM buffer WHERE {where} "
        "ORDER BY request_id, seq",
        parameters,
    )
    db.executemany(f"DELETE FROM buffer WHERE {where}", parameters)


def read_inference_log(state_dir: Path | str, since: datetime | str | None = None) -> pd.DataFrame:
    """Every logged prediction, flushed or still buffered, each once, oldest first.

    :param state_dir: the project's state directory (``paths.state``, e.g. ``.bucle``).
    :param since: only predictions at or after this moment (a datetime, naive meaning UTC, or
        ISO 8601 text).

    Columns: ``row_id``, ``request_id``, ``timestamp`` (UTC), ``model_name``,
    ``model_version``, ``model_sha256``, ``alias``, ``inputs`` (the record as the client sent
    it, a dict), ``prediction``, ``probabilities`` (class → probability, a dict) and
    ``client_request_id`` (the client's ``X-Request-ID``, None when it sent none or the row was
    logged before the server issued the ids) and ``rule_warnings`` (the ``validate.rules`` the
    record breaks, as its answer listed them: a list, empty for a clean record).
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
    log["rule_warnings"] = [
        json.loads(value) if isinstance(value, str) else [] for value in log["rule_warnings"]
    ]
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
    # Partitions written before a column existed lack it: they read as None there.
    frames = [pq.read_table(path).to_pandas().reindex(columns=list(COLUMNS)) for path in files]
    return pd.concat(frames, ignore_index=True)


def _partition_key(path: Path) -> tuple[str, str]:
    hour, date = path.parent.name, path.parent.parent.name
    return date.removeprefix("date="), hour.removeprefix("hour=")


def _partition(timestamp: str) -> str:
    moment = datetime.fromisoformat(timestamp).astimezone(UTC)
    return f"date={moment:%Y-%m-%d}/hour={moment:%H}"


def _by_partition(rows: Sequence[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    partitions: dict[str, list[tuple[Any, ...]]] = {}
    names: dict[str, str] = {}  # a request's rows share a timestamp: parse each one once
    position = COLUMNS.index("timestamp")
    for row in rows:
        timestamp = row[position]
        name = names.get(timestamp)
        if name is None:
            name = names[timestamp] = _partition(timestamp)
        partitions.setdefault(name, []).append(row)
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
            ("client_request_id", pa.string()),
            ("rule_warnings", pa.string()),
        ]
    )
    columns: dict[str, Any] = {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)}
    # Arrow parses the ISO 8601 text (always UTC, from _iso) without a datetime per row.
    columns["timestamp"] = pa.array(columns["timestamp"], pa.string()).cast(
        schema.field("timestamp").type
    )
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
