"""The alerter contract: a report's summary is delivered or the failure reported, never raised."""

from __future__ import annotations

from typing import Any

import pytest

from framework.testing.host import host_with

SUMMARY = {
    "model": "churn",
    "version": 3,
    "status": "drift",
    "rows": 1200,
    "start": "2026-11-30T08:00:00+00:00",
    "end": "2026-11-30T09:00:00+00:00",
    "monitors": [
        {"monitor": "drift", "status": "drift", "summary": "7 of 13 columns drifted"},
        {"monitor": "quality", "status": "ok", "summary": "26 checks passed"},
    ],
    "json": "/tmp/report.json",
    "html": "/tmp/report.html",
}


class AlerterContract:
    """Subclass as ``Test...`` and provide a ``plugin`` fixture: an alerter that can deliver."""

    @pytest.fixture
    def plugin(self) -> Any:
        raise NotImplementedError("define a `plugin` fixture: an alerter that can deliver")

    def test_a_summary_is_delivered(self, plugin: Any) -> None:
        (outcome,) = host_with("alerter", plugin).send_alert(summary=SUMMARY)
        assert isinstance(outcome, dict) and outcome["delivered"] is True, outcome

    def test_a_summary_without_findings_is_accepted(self, plugin: Any) -> None:
        quiet = {**SUMMARY, "status": "ok", "monitors": []}
        (outcome,) = host_with("alerter", plugin).send_alert(summary=quiet)
        assert isinstance(outcome, dict) and "delivered" in outcome, outcome


class RemoteAlerterContract(AlerterContract):
    """For alerters that send somewhere that can be down: also provide ``unreachable``, the
    same alerter pointed at a destination that refuses (a closed port, say)."""

    @pytest.fixture
    def unreachable(self) -> Any:
        raise NotImplementedError("define `unreachable`: the alerter with a failing destination")

    def test_a_failed_delivery_is_reported_not_raised(self, unreachable: Any) -> None:
        (outcome,) = host_with("alerter", unreachable).send_alert(summary=SUMMARY)
        assert isinstance(outcome, dict) and outcome["delivered"] is False, outcome
