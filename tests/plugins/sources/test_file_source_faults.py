"""A file whose shape pandas would silently misread is refused, naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.errors import DataError
from plugins.sources.file import FileSource


def load(path: Path):
    return FileSource(path=str(path)).load_data(seed=0)


def test_a_first_row_with_an_extra_field_names_its_line(tmp_path: Path) -> None:
    """pandas would take the first column as row labels and shift every column by one."""
    table = tmp_path / "table.csv"
    table.write_text("a,b,y\n1,2,0,9\n2,3,1\n3,4,0\n")
    with pytest.raises(DataError) as raised:
        load(table)
    assert str(raised.value) == (
        f"data.path='{table}': line 2 has 4 fields but the header (line 1) has 3; fix that row "
        "(a stray delimiter or an unquoted comma) or the header"
    )


def test_the_line_number_counts_quoted_newlines(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text('a,b,y\n"multi\nline",1,2,3\n2,3,1\n')
    with pytest.raises(DataError, match=r": line 3 has 4 fields but the header \(line 1\) has 3"):
        load(table)


def test_a_later_ragged_row_is_named_by_the_parser(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("a,b,y\n1,2,0\n2,3,1\n3,4,0,9\n")
    with pytest.raises(DataError, match=r"Expected 3 fields in line 4, saw 4"):
        load(table)


def test_a_well_formed_csv_keeps_its_columns(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("a,b,y\n1,2,0\n2,3,1\n")
    assert list(load(table).columns) == ["a", "b", "y"]
