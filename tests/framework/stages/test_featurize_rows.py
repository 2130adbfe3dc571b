"""featurize says "too few rows" before a splitter fails or a gate blames a missing metric."""

from __future__ import annotations

import pytest

from framework.errors import DataError
from framework.stages.featurize import MIN_ROWS, require_enough_rows


@pytest.mark.parametrize(("rows", "noun"), [(0, "0 rows"), (1, "1 row"), (3, "3 rows")])
def test_a_tiny_table_is_too_few_rows(rows: int, noun: str) -> None:
    with pytest.raises(DataError) as raised:
        require_enough_rows(rows, 0.2)
    assert str(raised.value).startswith(
        f"too few rows: the validated table has {noun}, and a train/test split "
        f"(features.test_size=0.2) needs at least {MIN_ROWS}"
    )


def test_enough_rows_pass() -> None:
    require_enough_rows(MIN_ROWS, 0.2)
