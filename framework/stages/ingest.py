"""ingest: read the raw table from the configured source plugin and keep it as Parquet."""

from __future__ import annotations

from pathlib import Path

from framework.errors import DataError
from framework.pipeline.context import RunContext
from framework.tables import write_table


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
    return {"raw": write_table(frame, context.layout.raw)}
