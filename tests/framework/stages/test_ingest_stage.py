"""ingest refuses nested columns (Parquet list/struct) by name instead of storing reprs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framework.errors import DataError
from framework.stages.ingest import refuse_nested_columns


def test_list_and_struct_columns_are_refused_by_name() -> None:
    frame = pd.DataFrame(
        {
            "a": [1.0, 2.0],
            "tags": [np.array([1, 2]), np.array([3])],
            "address": [{"city": "x"}, None],
            "y": [0, 1],
        }
    )
    with pytest.raises(DataError) as raised:
        refuse_nested_columns(frame, "file")
    message = str(raised.value)
    assert message.startswith(
        "source 'file' gives nested columns 'tags' (list), 'address' (struct): "
    )
    assert "flatten them" in message


def test_a_round_trip_through_parquet_is_refused_the_same_way(tmp_path) -> None:
    path = tmp_path / "nested.parquet"
    pd.DataFrame({"tags": [[1, 2], [3]], "y": [0, 1]}).to_parquet(path)
    with pytest.raises(DataError, match=r"nested column 'tags' \(list\)"):
        refuse_nested_columns(pd.read_parquet(path), "file")


def test_scalar_text_columns_pass() -> None:
    refuse_nested_columns(pd.DataFrame({"plan": ["basic", None, "pro"], "y": [0, 1, 0]}), "file")
