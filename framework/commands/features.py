"""``bucle features list | materialize | get ID...``: the declared features and the feature store.

``materialize`` computes the feature table from the validated data with the very code the
``featurize`` stage runs (``compute_features`` and ``feature_table``), so what the store holds
is what training saw.
"""

from __future__ import annotations

import sys
from typing import Any

from framework.commands.project import project_host, table
from framework.errors import ConfigError, StageError

NO_STORE = (
    "features.store is null: no feature store is configured; set features.store in conf/ "
    "(e.g. name: local, see docs/features.md) and run `bucle params`"
)


def list_features() -> int:
    """Print every derived feature, then what the feature store holds (when there is one)."""
    from framework.features.expressions import parse_expression

    cfg, host = project_host("feature_store")
    derived = dict(cfg.features.derived)
    if derived:
        rows = []
        for name, expression in derived.items():
            feature = parse_expression(str(name), expression)
            rows.append([feature.name, feature.expression, ", ".join(feature.columns)])
        print(f"derived features (features.derived): {len(rows)}")
        print(table(rows, ["name", "expression", "reads"]))
    else:
        print("derived features (features.derived): none")
    print()
    stores = host.active("feature_store")
    if not stores:
        print("feature store: none (features.store is null)")
        return 0
    name = next(iter(stores))
    held = host.hook.describe_features() or {}
    print(
        f"feature store: {name} (entity {cfg.features.entity}, timestamp {cfg.features.timestamp})"
    )
    for key in ("offline", "online"):
        if key in held:
            print(f"  {key}: {held[key]}")
    if not held.get("offline_rows") and not held.get("online_entities"):
        print("  empty: run `bucle features materialize` (or the featurize stage)")
        return 0
    print(
        f"  offline rows: {held.get('offline_rows')} in {held.get('offline_files', '?')} "
        f"file(s); latest event: {held.get('latest_event') or '-'}"
    )
    print(f"  online entities: {held.get('online_entities')}")
    types = held.get("types") or {}
    rows = [[f"  {column}", types.get(column, "-")] for column in held.get("columns", [])]
    print(table(rows, ["  column", "type"]))
    return 0


def materialize() -> int:
    """Compute features from the validated table and write them to the feature store."""
    from framework.features.expressions import compute_features
    from framework.features.table import feature_table, store_keys
    from framework.pipeline.layout import Layout
    from framework.tables import read_table

    cfg, host = project_host("feature_store")
    stores = host.active("feature_store")
    if not stores:
        raise ConfigError(NO_STORE)
    validated = Layout.from_config(cfg.paths).validated
    if not validated.is_file():
        raise StageError(
            f"{validated} does not exist; run `bucle stage validate` (or `dvc repro validate`) "
            "first"
        )
    features = cfg.features
    frame = compute_features(read_table(validated), dict(features.derived))
    entity, timestamp = store_keys(features, frame.columns)
    target = str(cfg.data.target)
    rows = feature_table(frame, target, entity, timestamp, features.exclude)
    written = host.hook.write_features(frame=rows, entity=entity, timestamp=timestamp)
    print(
        f"materialized {written} rows x {rows.shape[1] - 2} feature columns from {validated} "
        f"into the {next(iter(stores))} feature store (entity {entity}, timestamp {timestamp})"
    )
    return 0


def lookup(entity_ids: list[str]) -> int:
    """Print the online values of each entity; exit 1 when any id is unknown to the store."""
    _cfg, host = project_host("feature_store")
    if not host.active("feature_store"):
        raise ConfigError(NO_STORE)
    found = host.hook.get_online_features(entity_ids=list(entity_ids), features=None)
    entity = str(found.columns[0])
    timestamp = str(found.columns[1]) if len(found.columns) > 1 else None
    known = found[timestamp].notna().tolist() if timestamp else [False] * len(found)
    ids = [str(value) for value in found[entity].tolist()]
    rows = [
        [str(column), *(_cell(value) for value in found[column].tolist())]
        for column in found.columns[1:]
    ]
    print(table(rows, [entity, *ids]))
    unknown = [key for key, seen in zip(ids, known, strict=True) if not seen]
    if unknown:
        print(f"bucle: unknown to the online feature store: {', '.join(unknown)}", file=sys.stderr)
        return 1
    return 0


def _cell(value: Any) -> str:
    """One value as terminal text: '-' for missing, compact numbers, ISO timestamps."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return "-"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
