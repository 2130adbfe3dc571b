"""The JSON Lines tracker passes Bucle's tracker contract (``framework.testing``)."""

from pathlib import Path

import pytest
from bucle_jsonl_tracker import JsonlTracker

from framework.testing import TrackerContract


class TestJsonlTracker(TrackerContract):
    @pytest.fixture
    def plugin(self, tmp_path: Path) -> JsonlTracker:
        return JsonlTracker(path=str(tmp_path / "runs.jsonl"))
