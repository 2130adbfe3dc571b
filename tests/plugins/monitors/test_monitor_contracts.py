"""Every built-in monitor passes the monitor contract on the synthetic windows: an answer for an
empty window, quiet on a clean one, and the right finding on a drifted one."""

from __future__ import annotations

import pytest

from framework.testing import MonitorContract
from plugins.monitors.drift import DriftMonitor
from plugins.monitors.performance import PerformanceMonitor
from plugins.monitors.quality import QualityMonitor
from plugins.monitors.service import ServiceMonitor


class TestDriftMonitorContract(MonitorContract):
    on_clean = frozenset({"ok"})
    on_drifted = frozenset({"drift"})

    @pytest.fixture
    def plugin(self) -> DriftMonitor:
        return DriftMonitor()


class TestQualityMonitorContract(MonitorContract):
    on_clean = frozenset({"ok"})
    on_drifted = frozenset({"warning", "drift"})  # an unseen plan and 20% missing amounts

    @pytest.fixture
    def plugin(self) -> QualityMonitor:
        return QualityMonitor()


class TestPerformanceMonitorContract(MonitorContract):
    on_clean = frozenset({"ok"})
    on_drifted = frozenset({"drift"})  # the label now disagrees with the model

    @pytest.fixture
    def plugin(self) -> PerformanceMonitor:
        return PerformanceMonitor()


class TestServiceMonitorContract(MonitorContract):
    on_clean = frozenset({"skipped"})  # no server answers in the synthetic world
    on_drifted = frozenset({"skipped"})

    @pytest.fixture
    def plugin(self) -> ServiceMonitor:
        return ServiceMonitor()


class TestDriftMonitorOnARegressionModelContract(TestDriftMonitorContract):
    task = "regression"  # the predictions are numbers: their drift is a numeric test


class TestQualityMonitorOnARegressionModelContract(MonitorContract):
    task = "regression"
    on_clean = frozenset({"ok"})
    on_drifted = frozenset({"warning", "drift"})  # amounts beyond the training range

    @pytest.fixture
    def plugin(self) -> QualityMonitor:
        return QualityMonitor()


class TestPerformanceMonitorOnARegressionModelContract(TestPerformanceMonitorContract):
    task = "regression"  # RMSE and MAE against evaluate's; the drifted truth is 10 - 3x


def test_a_regression_models_predictions_are_tested_for_drift_as_numbers() -> None:
    from framework.testing import synthetic_window

    monitor = DriftMonitor()
    clean = monitor.check_window(synthetic_window("clean", task="regression"))
    drifted = monitor.check_window(synthetic_window("drifted", task="regression"))
    assert clean.metrics["prediction_drift"] is False
    assert drifted.metrics["prediction_drift"] is True  # x moved, so 10 + 3x did too
    (row,) = [d for d in drifted.details if d.get("column") == "prediction"]
    assert row["kind"] == "numeric", row
