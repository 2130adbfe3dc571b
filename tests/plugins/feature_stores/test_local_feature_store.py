"""The ``local`` feature store: Parquet offline with point-in-time retrieval, sqlite online."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from framework.errors import DataError
from framework.hooks.host import build_host
from framework.testing import FeatureStoreContract
from plugins.feature_stores.local import LocalFeatureStore


@pytest.fixture
def store(tmp_path: Path) -> LocalFeatureStore:
    return LocalFeatureStore(offline=str(tmp_path / "offline"), online=str(tmp_path / "online.db"))


def snapshot(day: str, spend: dict[str, float]) -> pd.DataFrame:
    """One materialization: every customer's spend as known on ``day``."""
    return pd.DataFrame(
        {
            "customer_id": list(spend),
            "seen_at": pd.Timestamp(day),
            "spend": list(spend.values()),
        }
    )


def write(store: LocalFeatureStore, frame: pd.DataFrame) -> int:
    return store.write_features(frame=frame, entity="customer_id", timestamp="seen_at")


def labels(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [entity for entity, _ in rows],
            "label_time": pd.to_datetime([moment for _, moment in rows], format="ISO8601"),
        }
    )


def historical(store: LocalFeatureStore, entities: pd.DataFrame, features=None) -> pd.DataFrame:
    return store.get_historical_features(
        entities=entities, entity="customer_id", timestamp="label_time", features=features
    )


def as_list(series: pd.Series) -> list:
    return [None if pd.isna(value) else value for value in series.tolist()]


# Point-in-time retrieval ----------------------------------------------------------------------


def test_each_label_gets_the_latest_value_at_or_before_its_time_and_never_a_later_one(
    store: LocalFeatureStore,
) -> None:
    write(store, snapshot("2024-01-01", {"a": 10.0, "b": 100.0}))
    write(store, snapshot("2024-02-01", {"a": 20.0, "b": 200.0}))
    write(store, snapshot("2024-03-01", {"a": 30.0}))
    entities = labels(
        ("a", "2023-12-31"),  # before any value: missing, not the January value
        ("a", "2024-01-01"),  # exactly at a snapshot: that snapshot counts
        ("a", "2024-01-31 23:59:59"),  # one second before February: still January
        ("a", "2024-02-15"),
        ("b", "2024-06-01"),  # b has no March value: its February one, not a's
        ("a", "2030-01-01"),
    )

    result = historical(store, entities)

    assert as_list(result["spend"]) == [None, 10.0, 10.0, 20.0, 200.0, 30.0]


def test_point_in_time_join_matches_a_brute_force_search_on_random_snapshots(
    store: LocalFeatureStore,
) -> None:
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2024-01-01")
    rows = []
    for entity in ["a", "b", "c", "d"]:
        days = rng.choice(200, size=8, replace=False)
        for day in days:
            moment = start + pd.Timedelta(days=int(day), hours=int(rng.integers(24)))
            # The value encodes its own event time, so a leak is visible in the result.
            rows.append((entity, moment, float(moment.value)))
    snapshots = pd.DataFrame(rows, columns=["customer_id", "seen_at", "spend"])
    shuffled = snapshots.sample(frac=1, random_state=1)
    for part in range(3):
        write(store, shuffled.iloc[part::3])
    entities = pd.DataFrame(
        {
            "customer_id": rng.choice(["a", "b", "c", "d", "e"], size=60),
            "label_time": start + pd.to_timedelta(rng.integers(-10, 230, size=60), unit="D"),
        }
    )

    result = historical(store, entities)

    for row, (entity, label_time) in enumerate(entities.itertuples(index=False)):
        known = snapshots[(snapshots.customer_id == entity) & (snapshots.seen_at <= label_time)]
        expected = None if known.empty else known.sort_values("seen_at")["spend"].iloc[-1]
        got = result["spend"].iloc[row]
        assert (None if pd.isna(got) else got) == expected, (entity, label_time)
        if expected is not None:
            assert pd.Timestamp(int(got)) <= label_time  # no value from after the label


def test_historical_keeps_the_input_rows_order_index_and_other_columns(
    store: LocalFeatureStore,
) -> None:
    write(store, snapshot("2024-01-01", {"a": 1.0, "b": 2.0}))
    entities = labels(
        ("b", "2024-05-01"), ("a", "2023-01-01"), ("b", "2024-05-01"), ("a", "2025-01-01")
    )
    entities.index = [40, 30, 20, 10]
    entities["churned"] = [1, 0, 1, 0]

    result = historical(store, entities)

    assert list(result.index) == [40, 30, 20, 10]
    assert list(result.columns) == ["customer_id", "label_time", "churned", "spend"]
    assert as_list(result["spend"]) == [2.0, None, 2.0, 1.0]
    assert result["churned"].tolist() == [1, 0, 1, 0]


def test_a_label_without_a_time_or_with_an_unknown_entity_gets_missing_values(
    store: LocalFeatureStore,
) -> None:
    write(store, snapshot("2024-01-01", {"a": 1.0}))
    entities = pd.DataFrame(
        {"customer_id": ["a", "zzz", "a"], "label_time": [pd.NaT, "2024-02-01", "2024-02-01"]}
    )

    result = historical(store, entities)

    assert as_list(result["spend"]) == [None, None, 1.0]


def test_historical_fetches_only_the_features_asked_for_and_names_an_unknown_one(
    store: LocalFeatureStore,
) -> None:
    frame = snapshot("2024-01-01", {"a": 1.0})
    frame["orders"] = 3
    write(store, frame)

    result = historical(store, labels(("a", "2024-02-01")), features=["orders"])

    assert list(result.columns) == ["customer_id", "label_time", "orders"]
    with pytest.raises(DataError, match="no feature 'order'; it holds: spend, orders"):
        historical(store, labels(("a", "2024-02-01")), features=["order"])


def test_entity_ids_of_another_type_still_match(store: LocalFeatureStore) -> None:
    store.write_features(
        frame=pd.DataFrame({"id": [1, 2], "seen_at": pd.Timestamp("2024-01-01"), "x": [5, 6]}),
        entity="id",
        timestamp="seen_at",
    )
    entities = pd.DataFrame({"id": ["2", "1"], "when": ["2024-02-01", "2024-02-01"]})

    result = store.get_historical_features(
        entities=entities, entity="id", timestamp="when", features=None
    )

    assert result["x"].tolist() == [6, 5]


# Writing --------------------------------------------------------------------------------------


def test_materialising_the_same_table_twice_changes_nothing(store: LocalFeatureStore) -> None:
    frame = snapshot("2024-01-01", {"a": 1.0, "b": 2.0})

    assert write(store, frame) == 2
    first = (store.describe_features(), historical(store, labels(("a", "2024-02-01"))))
    assert write(store, frame) == 2
    second = (store.describe_features(), historical(store, labels(("a", "2024-02-01"))))

    assert first[0] == second[0]
    assert first[0]["offline_rows"] == 2 and first[0]["offline_files"] == 1
    pd.testing.assert_frame_equal(first[1], second[1])
    assert len(list(Path(store.offline).iterdir())) == 1, "no temporary files are left behind"


def test_a_row_with_the_same_entity_and_time_is_replaced(store: LocalFeatureStore) -> None:
    write(store, snapshot("2024-01-01", {"a": 1.0, "b": 2.0}))
    write(store, snapshot("2024-01-01", {"a": 1.5}))

    result = historical(store, labels(("a", "2024-01-02"), ("b", "2024-01-02")))

    assert result["spend"].tolist() == [1.5, 2.0]
    assert store.describe_features()["offline_rows"] == 2
    online = store.get_online_features(entity_ids=["a"], features=None)
    assert online["spend"].tolist() == [1.5]


def test_re_materialising_an_older_table_after_a_newer_one_makes_it_current_again_offline(
    store: LocalFeatureStore,
) -> None:
    january = snapshot("2024-01-01", {"a": 1.0})
    write(store, january)
    write(store, snapshot("2024-01-01", {"a": 9.0}))
    write(store, january)  # same content as the first part, but written last: it wins

    assert historical(store, labels(("a", "2024-02-01")))["spend"].tolist() == [1.0]


def test_rows_without_a_key_are_refused_naming_the_columns(store: LocalFeatureStore) -> None:
    frame = snapshot("2024-01-01", {"a": 1.0, "b": 2.0})
    frame.loc[1, "customer_id"] = None

    with pytest.raises(DataError, match=r"1 rows .* no 'customer_id' or no 'seen_at'"):
        write(store, frame)
    with pytest.raises(DataError, match=r"features.entity='client' is not a column"):
        store.write_features(frame=frame, entity="client", timestamp="seen_at")


def test_a_store_keyed_by_one_pair_of_columns_refuses_another(store: LocalFeatureStore) -> None:
    write(store, snapshot("2024-01-01", {"a": 1.0}))
    other = snapshot("2024-01-01", {"a": 1.0}).rename(columns={"seen_at": "updated_at"})

    with pytest.raises(DataError, match="keyed by entity 'customer_id' and timestamp 'seen_at'"):
        store.write_features(frame=other, entity="customer_id", timestamp="updated_at")


def test_event_times_written_as_iso_text_or_with_a_time_zone_are_read_as_utc(
    store: LocalFeatureStore,
) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "seen_at": ["2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z"],
            "spend": [1.0, 2.0],
        }
    )
    write(store, frame)

    result = historical(store, labels(("a", "2024-01-01 08:00"), ("b", "2024-01-01 07:59")))

    assert as_list(result["spend"]) == [1.0, None]


# Online store ---------------------------------------------------------------------------------


def test_online_holds_the_latest_value_per_entity_in_the_order_asked(
    store: LocalFeatureStore,
) -> None:
    write(store, snapshot("2024-01-01", {"a": 1.0, "b": 2.0}))
    write(store, snapshot("2024-02-01", {"a": 3.0}))

    result = store.get_online_features(entity_ids=["b", "nobody", "a"], features=None)

    assert list(result.columns) == ["customer_id", "seen_at", "spend"]
    assert result["customer_id"].tolist() == ["b", "nobody", "a"]
    assert as_list(result["spend"]) == [2.0, None, 3.0]
    assert as_list(result["seen_at"]) == [
        pd.Timestamp("2024-01-01"),
        None,
        pd.Timestamp("2024-02-01"),
    ]


def test_an_older_materialisation_never_overwrites_a_newer_online_value(
    store: LocalFeatureStore,
) -> None:
    write(store, snapshot("2024-02-01", {"a": 20.0}))
    write(store, snapshot("2024-01-01", {"a": 10.0, "b": 1.0}))

    online = store.get_online_features(entity_ids=["a", "b"], features=None)

    assert online["spend"].tolist() == [20.0, 1.0]
    # The offline store keeps both snapshots for training.
    assert historical(store, labels(("a", "2024-01-15")))["spend"].tolist() == [10.0]


def test_online_store_is_one_sqlite_row_per_entity(store: LocalFeatureStore) -> None:
    write(store, snapshot("2024-01-01", {"a": 1.0, "b": 2.0}))
    write(store, snapshot("2024-02-01", {"a": 3.0, "b": 4.0}))

    with sqlite3.connect(store.online) as db:
        rows = db.execute("SELECT entity, event_time FROM latest ORDER BY entity").fetchall()

    assert rows == [("a", "2024-02-01T00:00:00"), ("b", "2024-02-01T00:00:00")]


def test_online_features_can_be_limited_and_an_unknown_one_is_named(
    store: LocalFeatureStore,
) -> None:
    frame = snapshot("2024-01-01", {"a": 1.0})
    frame["plan"] = "basic"
    write(store, frame)

    result = store.get_online_features(entity_ids=["a"], features=["plan"])

    assert list(result.columns) == ["customer_id", "seen_at", "plan"]
    with pytest.raises(DataError, match="no feature 'plans'"):
        store.get_online_features(entity_ids=["a"], features=["plans"])


def test_online_lookup_before_any_write_says_to_materialise(store: LocalFeatureStore) -> None:
    with pytest.raises(DataError, match="run `bucle features materialize`"):
        store.get_online_features(entity_ids=["a"], features=None)


# Types ----------------------------------------------------------------------------------------


@pytest.fixture
def typed_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "seen_at": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "orders": np.array([3, 4], dtype="int64"),
            "age": pd.array([40, None], dtype="Int64"),
            "spend": [1.5, np.nan],
            "plan": ["basic", None],
            "signup": pd.to_datetime(["2020-05-01 12:30", None]),
            "vip": [True, False],
        }
    )


def test_types_round_trip_through_the_offline_store(
    store: LocalFeatureStore, typed_table: pd.DataFrame
) -> None:
    write(store, typed_table)

    result = historical(store, labels(("a", "2024-03-01"), ("b", "2024-03-01")))

    features = result.drop(columns=["label_time"])
    expected = typed_table.drop(columns=["seen_at"])
    pd.testing.assert_frame_equal(features, expected)


def test_types_round_trip_through_the_online_store(
    store: LocalFeatureStore, typed_table: pd.DataFrame
) -> None:
    write(store, typed_table)

    result = store.get_online_features(entity_ids=["a", "b", "nobody"], features=None)

    assert result["orders"].dtype == "Int64" and as_list(result["orders"]) == [3, 4, None]
    assert result["age"].dtype == "Int64" and as_list(result["age"]) == [40, None, None]
    assert result["spend"].dtype == "float64" and as_list(result["spend"]) == [1.5, None, None]
    assert as_list(result["plan"]) == ["basic", None, None]
    assert result["signup"].dtype == "datetime64[ns]"
    assert as_list(result["signup"]) == [pd.Timestamp("2020-05-01 12:30"), None, None]
    assert result["vip"].dtype == "boolean" and as_list(result["vip"]) == [True, False, None]
    assert result["seen_at"].dtype == "datetime64[ns]"


def test_describe_says_what_the_store_holds(
    store: LocalFeatureStore, typed_table: pd.DataFrame
) -> None:
    empty = store.describe_features()
    assert (empty["offline_rows"], empty["online_entities"], empty["latest_event"]) == (0, 0, None)

    write(store, typed_table)
    held = store.describe_features()

    assert held["entity"] == "customer_id" and held["timestamp"] == "seen_at"
    assert held["columns"] == ["orders", "age", "spend", "plan", "signup", "vip"]
    assert held["types"]["plan"] == "text" and held["types"]["signup"] == "datetime"
    assert (held["offline_rows"], held["online_entities"]) == (2, 2)
    assert held["latest_event"] == "2024-01-02T00:00:00"


# Through the plugin host ----------------------------------------------------------------------


def test_the_entry_point_builds_the_store_from_features_store_config(tmp_path: Path) -> None:
    cfg = {
        "features": {
            "store": {
                "name": "local",
                "offline": str(tmp_path / "off"),
                "online": str(tmp_path / "on.db"),
            }
        }
    }
    host = build_host(cfg, ["feature_store"])

    written = host.hook.write_features(
        frame=snapshot("2024-01-01", {"a": 1.0}), entity="customer_id", timestamp="seen_at"
    )

    assert written == 1
    assert list(host.active("feature_store")) == ["local"]
    assert host.hook.get_online_features(entity_ids=["a"], features=None)["spend"].tolist() == [1.0]
    assert build_host({"features": {"store": None}}, ["feature_store"]).plugins == {}


class TestLocalFeatureStoreContract(FeatureStoreContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> LocalFeatureStore:
        return LocalFeatureStore(
            offline=str(tmp_path / "offline"), online=str(tmp_path / "online.db")
        )
