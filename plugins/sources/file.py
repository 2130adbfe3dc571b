"""The ``file`` source: read a table a user already has, as CSV or Parquet.

It is the way in for real data: ``bucle run data=file data.path=my.csv data.target=label``.
Every way the file can be wrong (missing, an unsupported suffix, unreadable, empty) is a one-line
:class:`~framework.errors.DataError` naming the file, so a user never sees a parser's traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from framework import hookimpl
from framework.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "parquet")

#: File suffixes read without ``data.format``, by format. Compressed CSV is read by pandas.
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".csv.bz2": "csv",
    ".csv.xz": "csv",
    ".csv.zip": "csv",
    ".csv.zst": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_FIX = "set data.path to a CSV or Parquet file"


class FileSource:
    """Reads ``path`` at ingest time; a relative path is relative to the current directory."""

    def __init__(self, path: str, format: str | None = None) -> None:
        if not isinstance(path, str | Path) or not str(path).strip():
            raise ConfigError(f"data.path={path!r} is not a file path; {_FIX}")
        if format is not None and str(format).lower().lstrip(".") not in FORMATS:
            raise ConfigError(
                f"data.format={format!r} is not supported; set data.format to one of "
                f"{', '.join(FORMATS)}, or to null to read the file's suffix"
            )
        self.path = str(path)
        self.format = None if format is None else str(format).lower().lstrip(".")

    @hookimpl
    def load_data(self, seed: int) -> pd.DataFrame:
        """Read the table; ``seed`` is unused because a file is the same on every run."""
        import pandas as pd

        path = Path(self.path).expanduser()
        named = f"data.path={self.path!r}"
        if not path.exists():
            raise DataError(f"{named} does not exist (looked at {path.absolute()}); {_FIX}")
        if path.is_dir():
            raise DataError(f"{named} is a directory, not a file; {_FIX}")
        file_format = self.format or _format_from_suffix(path, named)

        try:
            frame = pd.read_csv(path) if file_format == "csv" else pd.read_parquet(path)
        except pd.errors.EmptyDataError:
            raise DataError(
                f"{named} is empty (no header, no rows); {_FIX} that holds data"
            ) from None
        except (ValueError, OSError) as error:
            # ValueError covers pandas' ParserError, UnicodeDecodeError and pyarrow's ArrowInvalid.
            raise DataError(
                f"{named} cannot be read as {file_format}: {_one_line(error)}; check the file, "
                f"or set data.format if its suffix is misleading"
            ) from None

        if frame.empty:
            raise DataError(
                f"{named} holds an empty table ({len(frame)} rows, {len(frame.columns)} "
                f"columns); {_FIX} that holds data"
            )
        if file_format == "csv" and not isinstance(frame.index, pd.RangeIndex):
            raise ragged_first_row(path, named, frame.index.nlevels)
        return frame


def ragged_first_row(path: Path, named: str, extra: int) -> DataError:
    """The row that has more fields than the header, by line number.

    pandas reads a first data row with ``extra`` more fields than the header as row labels and
    shifts every column by that much, silently; a later ragged row is its own parser error.
    """
    import csv

    header = None
    line_number = 2
    if path.name.lower().endswith(".csv"):
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            for row in reader:
                if not row:
                    continue
                if header is None:
                    header = len(row)
                elif len(row) > header:
                    line_number = reader.line_num
                    fields = len(row)
                    break
    if header is None:
        return DataError(
            f"{named}: the first data row has {extra} more field(s) than the header; fix that "
            "row (a stray delimiter or an unquoted comma) or the header"
        )
    return DataError(
        f"{named}: line {line_number} has {fields} fields but the header (line 1) has "
        f"{header}; fix that row (a stray delimiter or an unquoted comma) or the header"
    )


def _format_from_suffix(path: Path, named: str) -> str:
    """The format that ``path``'s suffix names, or a DataError listing the accepted suffixes."""
    name = path.name.lower()
    for suffix, file_format in SUFFIX_FORMATS.items():
        if name.endswith(suffix):
            return file_format
    suffix = repr(path.suffix) if path.suffix else "(none)"
    raise DataError(
        f"{named} has unsupported suffix {suffix}; use one of "
        f"{', '.join(SUFFIX_FORMATS)}, or set data.format to csv or parquet"
    )


def _one_line(error: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type's name when it has none."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip().rstrip(".")
    return type(error).__name__
