"""The source contract: a table with the target column, the same table for the same seed."""

from __future__ import annotations

from typing import Any

import pytest

from framework.testing.host import host_with


class SourceContract:
    """Subclass as ``Test...``; provide ``plugin`` (a fresh source) and ``target`` fixtures."""

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture returning a configured source")

    @pytest.fixture
    def target(self) -> str:
        raise NotImplementedError("define a `target` fixture: the target column's name")

    @pytest.fixture
    def hook(self, plugin: Any) -> Any:
        return host_with("source", plugin)

    def test_the_table_holds_the_target_and_features(self, hook: Any, target: str) -> None:
        import pandas as pd

        frame = hook.load_data(seed=7)
        assert isinstance(frame, pd.DataFrame)
        assert target in frame.columns, f"no target column {target!r} in {list(frame.columns)}"
        assert len(frame.columns) >= 2 and len(frame) >= 1
        assert frame.columns.is_unique

    def test_the_same_seed_gives_the_same_table(self, hook: Any) -> None:
        import pandas as pd

        pd.testing.assert_frame_equal(hook.load_data(seed=7), hook.load_data(seed=7))
