"""A statistic that comes out NaN or infinite makes the performance monitor say error, not ok."""

from __future__ import annotations

import pytest

from framework.testing.monitor import synthetic_window
from plugins.monitors.performance import PerformanceMonitor


@pytest.mark.parametrize("label", [1.7e308, float("inf")])
def test_an_rmse_that_overflows_is_an_error_not_ok(label: float) -> None:
    window = synthetic_window("clean", rows=400, task="regression")
    window.labels.iloc[7] = label  # a label stored before labels were checked

    result = PerformanceMonitor().check_window(window=window)

    assert result.status == "error"
    assert "rmse" in result.summary and "not finite" in result.summary
    assert "1.7e+308" in result.summary or "inf" in result.summary


def test_a_clean_regression_window_is_still_ok() -> None:
    window = synthetic_window("clean", rows=400, task="regression")

    assert PerformanceMonitor().check_window(window=window).status == "ok"


def test_any_monitor_saying_ok_with_a_non_finite_figure_is_reported_as_an_error() -> None:
    from framework.commands.monitor import run_monitor
    from framework.monitoring.window import MonitorResult

    class Overflowing:  # a third-party monitor whose arithmetic overflowed
        def check_window(self, window: object) -> MonitorResult:
            return MonitorResult("custom", "ok", "all fine", {"mean_error": float("inf")})

    window = synthetic_window("clean", rows=50, task="regression")
    result = run_monitor("custom", Overflowing(), window)

    assert result.status == "error"
    assert result.summary.startswith("mean_error inf is not finite")
    assert result.metrics == {"mean_error": "inf"}  # the JSON report stays valid JSON
