"""The validator contract: checks filed under the four dimensions, rows named by position, and
the table left untouched."""

from __future__ import annotations

from typing import Any

import pytest

from framework.records import CheckResult
from framework.testing.host import host_with

DIMENSIONS = {"accuracy", "completeness", "consistency", "timeliness"}


class ValidatorContract:
    """Subclass as ``Test...``; provide ``plugin`` (a configured validator), ``frame`` (a table
    it checks, with at least one row it must flag) and ``target`` fixtures."""

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture returning a configured validator")

    @pytest.fixture
    def frame(self) -> Any:
        raise NotImplementedError("define a `frame` fixture: a table with at least one bad row")

    @pytest.fixture
    def target(self) -> str:
        raise NotImplementedError("define a `target` fixture: the target column's name")

    @pytest.fixture
    def hook(self, plugin: Any) -> Any:
        return host_with("validator", plugin)

    def checks(self, hook: Any, frame: Any, target: str) -> list[CheckResult]:
        (results,) = hook.validate_data(frame=frame, target=target)  # one validator registered
        return results

    def test_every_check_is_a_filed_result(self, hook: Any, frame: Any, target: str) -> None:
        results = self.checks(hook, frame, target)
        assert results, "a validator reports every check it ran, passed ones included"
        for result in results:
            assert isinstance(result, CheckResult)
            assert result.dimension in DIMENSIONS, result
            assert result.level in ("row", "dataset"), result
            assert result.passed == (not result.failed_rows) or result.level == "dataset", result

    def test_failed_rows_are_positions_in_the_table(
        self, hook: Any, frame: Any, target: str
    ) -> None:
        failed = [row for r in self.checks(hook, frame, target) for row in r.failed_rows]
        assert failed, "the `frame` fixture must hold at least one row this validator flags"
        assert all(isinstance(row, int) and 0 <= row < len(frame) for row in failed)

    def test_the_table_is_left_as_it_was(self, hook: Any, frame: Any, target: str) -> None:
        import pandas as pd

        before = frame.copy(deep=True)
        self.checks(hook, frame, target)
        pd.testing.assert_frame_equal(frame, before)

    def test_a_clean_table_passes_every_row_check(self, hook: Any, frame: Any, target: str) -> None:
        failed = {row for r in self.checks(hook, frame, target) for row in r.failed_rows}
        clean = frame.drop(index=frame.index[sorted(failed)]).reset_index(drop=True)
        again = self.checks(hook, clean, target)
        assert not [r.name for r in again if r.level == "row" and not r.passed]
