"""ingest: read the raw table from the configured source plugin and keep it as Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import DataError
from framework.pipeline.context import RunContext
from framework.tables import write_table

if TYPE_CHECKING:
    import pandas as pd


def run(context: RunContext) -> dict[str, Path]:
    import pandas as pd

    source = context.cfg.data.name
    frame = context.host.hook.load_data(seed=context.seed)
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"source plugin '{source}' returned {type(frame).__name__}, not a pandas DataFrame; "
            "its load_data hook must return the table"
        )
    if frame.empty:
        raise DataError(f"source plugin '{source}' returned an empty table; check data options")
    if context.target not in frame.columns:
        raise DataError(
            f"data.target='{context.target}' is not a column of the table from source "
            f"'{source}'; columns: {', '.join(map(str, frame.columns))}"
        )
    refuse_nested_columns(frame, source)
    return {"raw": write_table(frame, context.layout.raw)}


def refuse_nested_columns(frame: pd.DataFrame, source: str) -> None:
    """Columns holding lists or records (Parquet list/struct/map) are refused by name: turned
    into text they would become a meaningless category per distinct repr, silently."""
    nested = []
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object:
            continue
        kinds = {_nested_kind(value) for value in series.dropna().head(1000)} - {None}
        if kinds:
            nested.append(f"'{column}' ({'/'.join(sorted(kinds))})")
    if nested:
        noun = "column" if len(nested) == 1 else "columns"
        raise DataError(
            f"source '{source}' gives nested {noun} {', '.join(nested)}: a model needs one "
            "value per cell; flatten them into scalar columns (e.g. one column per field, or a "
            "count) or drop them from the table before ingest"
        )


def _nested_kind(value: Any) -> str | None:
    import numpy as np

    if isinstance(value, dict):
        return "struct"
    if isinstance(value, list | tuple | np.ndarray):
        return "list"
    return None
