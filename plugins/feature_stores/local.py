"""The ``local`` feature store: Parquet files offline, one sqlite file online.

Offline store (``features.store.offline``, a directory): every materialization is one Parquet
file, ``part-<UTC write time>-<content sha256>.parquet``, written atomically, holding the entity
column, the event-time column and the feature columns with their own types. Parts are only ever
added, never rewritten: a write costs as much as the rows it brings, a killed write leaves the
store as it was (the part appears whole or not at all), and history stays available for
point-in-time retrieval. Readers concatenate the parts in write order and keep the last row per
(entity, event time), which is how "replace the row with the same key" is implemented.
Materialising the same table twice in a row is detected by the content hash and writes nothing.
Each part names its entity and event-time columns in its Parquet metadata, so it describes
itself.

Online store (``features.store.online``, a sqlite file): one row per entity holding its latest
values by event time, as JSON, plus the column types so values come back as the types they were
(numbers as numbers, text as text, timestamps as timestamps; integers as pandas' nullable
``Int64``, because an unknown entity has no value). One write is one transaction, and a row is
replaced only by a row with the same or a later event time, so materialising an old snapshot
after a new one never makes serving go back in time. JSON rather than a typed column per
feature keeps the table's shape fixed while the features declared in config change.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework import hookimpl
from framework.errors import DataError
from framework.files import write_with
from framework.sqlite import connect

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    entity TEXT PRIMARY KEY,
    event_ns INTEGER NOT NULL,
    event_time TEXT NOT NULL,
    feature_values TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

#: Parquet metadata key under which each part names its entity and event-time columns.
METADATA_KEY = b"bucle.feature_store"
PART_GLOB = "part-*.parquet"
# sqlite allows at most 999 bound variables per statement in older builds.
_LOOKUP_CHUNK = 500
_ROW = "__bucle_row__"
_TIME = "__bucle_event_time__"
_ENTITY = "__bucle_entity__"


class LocalFeatureStore:
    """Keeps computed features for training (offline, by event time) and serving (online).

    :param offline: directory of Parquet parts, one per materialization.
    :param online: sqlite file holding the latest values per entity.
    """

    def __init__(
        self,
        offline: str = ".bucle/features/offline",
        online: str = ".bucle/features/online.db",
    ) -> None:
        self.offline = Path(offline)
        self.online = Path(online)

    # Writing ---------------------------------------------------------------------------------

    @hookimpl
    def write_features(self, frame: pd.DataFrame, entity: str, timestamp: str) -> int:
        table = _keyed_table(frame, entity, timestamp)
        if table.empty:
            return 0
        self._check_keys(entity, timestamp)
        self._write_part(table, entity, timestamp)
        self._write_online(table, entity, timestamp)
        return len(table)

    def _check_keys(self, entity: str, timestamp: str) -> None:
        """A store keyed by one pair of columns cannot take rows keyed by another."""
        stored = self._stored_keys()
        if stored is not None and stored != (entity, timestamp):
            raise DataError(
                f"the feature store at {self.offline} is keyed by entity {stored[0]!r} and "
                f"timestamp {stored[1]!r}, not {entity!r} and {timestamp!r}; set "
                "features.entity and features.timestamp back, or point features.store.offline "
                "and features.store.online at a new store"
            )

    def _write_part(self, table: pd.DataFrame, entity: str, timestamp: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = pa.Table.from_pandas(table, preserve_index=False)
        keys = json.dumps({"entity": entity, "timestamp": timestamp}).encode()
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), METADATA_KEY: keys})
        buffer = pa.BufferOutputStream()
        pq.write_table(arrow, buffer)
        content = buffer.getvalue().to_pybytes()
        digest = hashlib.sha256(content).hexdigest()[:16]
        parts = self._parts()
        if parts and parts[-1].name.endswith(f"-{digest}.parquet"):
            return  # the newest part already holds exactly this table
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        part = self.offline / f"part-{stamp}-{digest}.parquet"
        write_with(part, lambda temporary: temporary.write_bytes(content))

    def _write_online(self, table: pd.DataFrame, entity: str, timestamp: str) -> None:
        latest = table.sort_values(timestamp, kind="stable").drop_duplicates(entity, keep="last")
        columns = [c for c in latest.columns if c not in (entity, timestamp)]
        kinds = {column: _kind(latest[column]) for column in columns}
        values = {column: _json_values(latest[column], kinds[column]) for column in columns}
        times = latest[timestamp]
        rows = [
            (
                str(key),
                int(moment.value),
                moment.isoformat(),
                json.dumps({column: values[column][i] for column in columns}),
            )
            for i, (key, moment) in enumerate(zip(latest[entity].tolist(), times, strict=True))
        ]
        with connect(self.online, SCHEMA) as db:
            stored = _meta(db)
            merged = {**json.loads(stored.get("columns", "{}")), **kinds}
            for key, value in (
                ("entity", entity),
                ("timestamp", timestamp),
                ("columns", json.dumps(merged)),
            ):
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            # An older snapshot never replaces a newer one: serving must not go back in time.
            db.executemany(
                "INSERT INTO latest VALUES (?, ?, ?, ?) ON CONFLICT(entity) DO UPDATE SET "
                "event_ns = excluded.event_ns, event_time = excluded.event_time, "
                "feature_values = excluded.feature_values "
                "WHERE excluded.event_ns >= latest.event_ns",
                rows,
            )

    # Reading ---------------------------------------------------------------------------------

    @hookimpl
    def get_historical_features(
        self,
        entities: pd.DataFrame,
        entity: str,
        timestamp: str,
        features: list[str] | None,
    ) -> pd.DataFrame:
        import pandas as pd

        for column, key in ((entity, "entity"), (timestamp, "timestamp")):
            if column not in entities.columns:
                raise DataError(
                    f"the entities table has no {key} column {column!r}; columns: "
                    f"{', '.join(map(str, entities.columns))}"
                )
        stored, stored_entity, stored_time = self._read_offline()
        available = [c for c in stored.columns if c not in (stored_entity, stored_time)]
        wanted = self._wanted(features, available, entities, (entity, timestamp))

        label_times = _event_times(entities[timestamp], timestamp, "entities table")
        left = pd.DataFrame(
            {
                _ROW: range(len(entities)),
                _ENTITY: entities[entity].to_numpy(),
                _TIME: label_times.to_numpy(),
            }
        )
        right = stored[[stored_entity, stored_time, *wanted]].rename(
            columns={stored_entity: _ENTITY, stored_time: _TIME}
        )
        left[_ENTITY], right[_ENTITY] = _aligned(left[_ENTITY], right[_ENTITY])
        # merge_asof cannot place a row without a time; such rows simply get no values.
        timed = left[left[_TIME].notna()].sort_values(_TIME, kind="stable")
        merged = pd.merge_asof(
            timed,
            right.sort_values(_TIME, kind="stable"),
            on=_TIME,
            by=_ENTITY,
            direction="backward",  # the latest value at or before the label's time, never after
            allow_exact_matches=True,
        )
        merged = (
            pd.concat([merged, left[left[_TIME].isna()]], ignore_index=True)
            .sort_values(_ROW)
            .reset_index(drop=True)
        )
        result = entities.copy()
        for column in wanted:
            result[column] = _like(merged[column], stored[column].dtype)
        return result

    @hookimpl
    def get_online_features(self, entity_ids: list[Any], features: list[str] | None) -> Any:
        import pandas as pd

        if not self.online.is_file():
            raise DataError(
                f"the online feature store {self.online} does not exist yet; "
                "run `bucle features materialize` (or the featurize stage) first"
            )
        ids = list(entity_ids)
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        with connect(self.online, SCHEMA) as db:
            meta = _meta(db)
            keys = [str(key) for key in ids]
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                marks = ", ".join("?" * len(chunk))
                # Only "?" placeholders are formatted in; the ids are bound as parameters.
                query = f"SELECT * FROM latest WHERE entity IN ({marks})"
                for row in db.execute(query, chunk):
                    found[row["entity"]] = (row["event_time"], json.loads(row["feature_values"]))
        if "entity" not in meta:
            raise DataError(
                f"the online feature store {self.online} holds nothing yet; "
                "run `bucle features materialize` first"
            )
        entity, timestamp = meta["entity"], meta["timestamp"]
        kinds: dict[str, str] = json.loads(meta["columns"])
        wanted = self._wanted(features, list(kinds), None, ())
        result = pd.DataFrame({entity: pd.Series(ids, dtype=object)})
        times = [found.get(key, (None, {}))[0] for key in keys]
        result[timestamp] = pd.to_datetime(pd.Series(times, dtype=object), format="ISO8601")
        for column in wanted:
            values = [found[key][1].get(column) if key in found else None for key in keys]
            result[column] = _typed(values, kinds[column])
        return result

    @hookimpl
    def describe_features(self) -> dict[str, Any]:
        import pandas as pd

        parts = self._parts()
        description: dict[str, Any] = {
            "store": "local",
            "offline": str(self.offline),
            "online": str(self.online),
            "entity": None,
            "timestamp": None,
            "columns": [],
            "types": {},
            "offline_files": len(parts),
            "offline_rows": 0,
            "online_entities": 0,
            "latest_event": None,
        }
        if parts:
            stored, entity, timestamp = self._read_offline()
            columns = [c for c in stored.columns if c not in (entity, timestamp)]
            latest = stored[timestamp].max()
            description.update(
                entity=entity,
                timestamp=timestamp,
                columns=columns,
                types={column: _kind(stored[column]) for column in columns},
                offline_rows=len(stored),
                latest_event=None if pd.isna(latest) else latest.isoformat(),
            )
        if self.online.is_file():
            with connect(self.online, SCHEMA) as db:
                count = db.execute("SELECT COUNT(*) FROM latest").fetchone()[0]
            description["online_entities"] = int(count)
        return description

    # Helpers ---------------------------------------------------------------------------------

    def _parts(self) -> list[Path]:
        """Offline parts in write order (their names start with the UTC write time)."""
        if not self.offline.is_dir():
            return []
        return sorted(self.offline.glob(PART_GLOB))

    def _stored_keys(self) -> tuple[str, str] | None:
        if self.online.is_file():
            with connect(self.online, SCHEMA) as db:
                meta = _meta(db)
            if "entity" in meta:
                return meta["entity"], meta["timestamp"]
        parts = self._parts()
        return _part_keys(parts[-1]) if parts else None

    def _read_offline(self) -> tuple[pd.DataFrame, str, str]:
        """Every stored row, last write winning per (entity, event time), in write order."""
        import pandas as pd

        parts = self._parts()
        if not parts:
            raise DataError(
                f"the offline feature store {self.offline} holds no features yet; "
                "run `bucle features materialize` (or the featurize stage) first"
            )
        keys = {_part_keys(part) for part in parts}
        if len(keys) > 1:
            raise DataError(
                f"the offline feature store {self.offline} mixes parts keyed by "
                f"{sorted(keys)}; keep one store per entity and timestamp"
            )
        (entity, timestamp), frames = keys.pop(), [pd.read_parquet(part) for part in parts]
        stored = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        stored = stored.drop_duplicates([entity, timestamp], keep="last").reset_index(drop=True)
        return stored, entity, timestamp

    def _wanted(
        self,
        features: list[str] | None,
        available: list[str],
        entities: pd.DataFrame | None,
        keys: tuple[str, ...],
    ) -> list[str]:
        """The feature columns to return: all (not already in ``entities``), or those asked."""
        taken = set() if entities is None else set(map(str, entities.columns))
        if features is None:
            return [column for column in available if column not in taken]
        unknown = [column for column in features if column not in available]
        if unknown:
            raise DataError(
                f"the feature store has no feature {unknown[0]!r}; it holds: "
                f"{', '.join(available) or 'nothing'}"
            )
        clashing = [column for column in features if column in taken and column not in keys]
        if clashing:
            raise DataError(
                f"the entities table already has a column {clashing[0]!r}; drop or rename it "
                "before fetching that feature"
            )
        return list(features)


def _keyed_table(frame: pd.DataFrame, entity: str, timestamp: str) -> pd.DataFrame:
    """``frame`` with a checked key: both columns present, no missing keys, one row per key."""
    for column, key in ((entity, "features.entity"), (timestamp, "features.timestamp")):
        if column not in frame.columns:
            raise DataError(
                f"{key}={column!r} is not a column of the feature table; columns: "
                f"{', '.join(map(str, frame.columns))}"
            )
    table = frame.copy()
    table.columns = [str(column) for column in table.columns]
    table[timestamp] = _event_times(table[timestamp], timestamp, "feature table")
    missing = table[entity].isna() | table[timestamp].isna()
    if missing.any():
        raise DataError(
            f"{int(missing.sum())} rows of the feature table have no {entity!r} or no "
            f"{timestamp!r}, so they cannot be keyed; add not_null rules for both columns in "
            "validate.rules so such rows are quarantined"
        )
    # Two rows with one key in one write: the later row is the one kept, as across writes.
    return table.drop_duplicates([entity, timestamp], keep="last").reset_index(drop=True)


def _event_times(series: pd.Series, column: str, where: str) -> pd.Series:
    """Event times as naive UTC ``datetime64[ns]``; ISO 8601 text is read too."""
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(series.dtype):
        if pd.api.types.is_numeric_dtype(series.dtype):
            raise DataError(
                f"column {column!r} of the {where} holds numbers ({series.dtype}), not event "
                "times; point features.timestamp at a date or timestamp column"
            )
        parsed = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
        unreadable = parsed.isna() & series.notna()
        if unreadable.any():
            raise DataError(
                f"column {column!r} of the {where} holds values that are not ISO dates, e.g. "
                f"{series[unreadable].iloc[0]!r}; write them like '2024-01-31T12:00:00'"
            )
        series = parsed.dt.tz_localize(None)
    return series.astype("datetime64[ns]")


def _aligned(left: pd.Series, right: pd.Series) -> tuple[Any, Any]:
    """Entity keys of one type on both sides (ids read as text on one side and numbers on the
    other still match), as merge_asof requires."""
    if left.dtype == right.dtype:
        return left.to_numpy(), right.to_numpy()

    def text(series: pd.Series) -> Any:
        return series.astype(object).map(lambda v: v if v is None or v != v else str(v))

    return text(left).to_numpy(), text(right).to_numpy()


def _like(values: pd.Series, dtype: Any) -> Any:
    """Merged values in the stored column's type: integers and truth values that gained a
    missing value in the join become pandas' nullable types rather than floats."""
    import pandas as pd

    if values.notna().all() and (
        pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
    ):
        return values.astype(dtype).to_numpy()
    if pd.api.types.is_bool_dtype(dtype):
        return pd.array(values.astype(object).where(values.notna(), None), dtype="boolean")
    if pd.api.types.is_integer_dtype(dtype):
        return pd.array(values.astype(object).where(values.notna(), None), dtype="Int64")
    return values.to_numpy()


def _part_keys(part: Path) -> tuple[str, str]:
    import pyarrow.parquet as pq

    metadata = pq.read_schema(part).metadata or {}
    if METADATA_KEY not in metadata:
        raise DataError(
            f"{part} is not a Bucle feature-store part (no {METADATA_KEY.decode()} metadata); "
            "remove it from the offline store directory"
        )
    keys = json.loads(metadata[METADATA_KEY])
    return keys["entity"], keys["timestamp"]


def _meta(db: Any) -> dict[str, str]:
    return {row["key"]: row["value"] for row in db.execute("SELECT key, value FROM meta")}


def _kind(series: pd.Series) -> str:
    """What a column holds, in the words the online store uses to give the type back."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "text"


def _json_values(series: pd.Series, kind: str) -> list[Any]:
    """The column's values as JSON-ready Python values; missing ones as None."""
    import pandas as pd

    def convert(value: Any) -> Any:
        if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
            return None
        if kind == "bool":
            return bool(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "datetime":
            return pd.Timestamp(value).isoformat()
        return str(value)

    return [convert(value) for value in series.astype(object).tolist()]


def _typed(values: list[Any], kind: str) -> Any:
    """JSON values back into a column of their stored kind (nullable where a value may lack)."""
    import pandas as pd

    if kind == "float":
        return pd.array([float("nan") if v is None else v for v in values], dtype="float64")
    if kind == "int":
        return pd.array(values, dtype="Int64")
    if kind == "bool":
        return pd.array(values, dtype="boolean")
    if kind == "datetime":
        return pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601").to_numpy()
    return pd.array(values, dtype=object)
