"""Read and write the pipeline's tables as Parquet, atomically and whatever their dtypes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from framework.errors import StageError
from framework.files import write_with

if TYPE_CHECKING:
    import pandas as pd


def read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not Path(path).is_file():
        raise StageError(f"table {path} does not exist; run the stage that writes it first")
    return pd.read_parquet(path)


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as Parquet. Object columns mixing types (``"abc"`` among numbers in a
    quarantined row) are stored as text rather than failing the write."""
    import pandas as pd

    frame = frame.copy()
    frame.columns = [str(column) for column in frame.columns]
    for column in frame.columns:
        series = frame[column]
        if series.dtype == object:
            kinds = {type(value) for value in series.dropna()}
            if len(kinds) > 1:
                frame[column] = series.map(lambda v: v if pd.isna(v) else str(v))
    return write_with(path, lambda temporary: frame.to_parquet(temporary, index=False))
