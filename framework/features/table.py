"""The feature table a feature store holds, built the same way by ``featurize`` and
``bucle features materialize``: keyed by ``features.entity`` and ``features.timestamp``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from framework.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd


def store_keys(features: Any, columns: Iterable[Any]) -> tuple[str, str]:
    """``(entity, timestamp)`` column names from the ``features`` section, checked against the
    table's ``columns``; a ConfigError names the key that is unset or not a column."""
    available = [str(column) for column in columns]
    keys = []
    for key, example in (("entity", "customer_id"), ("timestamp", "last_active_at")):
        value = features.get(key)
        if value is None or str(value) == "":
            store = features.get("store")
            name = store.get("name") if hasattr(store, "get") else store
            raise ConfigError(
                f"features.store is set ({name}) but features.{key} is null; set "
                f"features.entity and features.timestamp to the columns that key the feature "
                f"table (e.g. features.{key}={example}), or features.store=null"
            )
        keys.append(require_column(f"features.{key}", value, available))
    return keys[0], keys[1]


def require_column(setting: str, value: Any, columns: list[str]) -> str:
    """``value`` as a column name, or a ConfigError naming ``setting``, the featurized table's
    ``columns`` and the closest one."""
    if str(value) in columns:
        return str(value)
    close = difflib.get_close_matches(str(value), columns, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(
        f"{setting}={value!r} is not a column of the featurized table; columns: "
        f"{', '.join(columns)}{hint}"
    )


def feature_table(
    frame: pd.DataFrame, target: str, entity: str, timestamp: str, exclude: Iterable[str]
) -> pd.DataFrame:
    """The rows a feature store keeps: the key columns, then every input and derived column.

    The target is left out (a feature store holds what is known before the label) and so are
    ``features.exclude`` columns other than the keys (ids and free text are not features).
    """
    excluded = {str(column) for column in exclude} - {entity, timestamp}
    features = [
        column
        for column in map(str, frame.columns)
        if column not in (entity, timestamp, target) and column not in excluded
    ]
    return frame[[entity, timestamp, *features]]
