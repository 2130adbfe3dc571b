"""The ``drift`` monitor: has the input data, or what the model predicts, moved from training?

Per model input, the test is chosen by type and window size (KS or chi-square on small windows,
normalised Wasserstein or Jensen-Shannon distance on large ones; PSI reported for every
column), against the reference profile saved at evaluate time — never the training data. The
window drifts when at least ``drift_share`` of the columns do. Prediction drift runs the same
tests on the predicted class and the class probabilities; on small windows it, and a
``warning`` for columns below ``drift_share``, count p-values Bonferroni-corrected for the
number of tests (:func:`significant`). Thresholds and their meaning:
:class:`~framework.monitoring.drift.DriftThresholds` and docs/monitoring.md.
"""

from __future__ import annotations

from typing import Any

from framework import hookimpl
from framework.errors import ConfigError
from framework.monitoring.window import MonitorResult, MonitorWindow, Plot

#: The constructor's defaults, quoted as the example in an option's error.
DEFAULTS = {
    "small_sample": 1000,
    "p_value": 0.05,
    "wasserstein": 0.1,
    "jensen_shannon": 0.1,
    "psi": 0.2,
    "drift_share": 0.5,
}


class DriftMonitor:
    """Input drift per column, the data-set rule, and prediction drift."""

    def __init__(
        self,
        small_sample: int = 1000,
        p_value: float = 0.05,
        wasserstein: float = 0.1,
        jensen_shannon: float = 0.1,
        psi: float = 0.2,
        drift_share: float = 0.5,
        prediction: bool = True,
    ) -> None:
        from framework.monitoring.drift import DriftThresholds

        numbers = {
            "small_sample": _option("small_sample", small_sample, int),
            "p_value": _option("p_value", p_value, float),
            "wasserstein": _option("wasserstein", wasserstein, float),
            "jensen_shannon": _option("jensen_shannon", jensen_shannon, float),
            "psi": _option("psi", psi, float),
            "drift_share": _option("drift_share", drift_share, float),
        }
        try:
            self.thresholds = DriftThresholds(**numbers)
        except (TypeError, ValueError, ConfigError) as error:
            raise ConfigError(f"monitor.drift: {error}") from None
        self.prediction = bool(prediction)

    @hookimpl
    def check_window(self, window: MonitorWindow) -> MonitorResult:
        from framework.monitoring.drift import dataset_drift, prediction_drift

        inputs = dataset_drift(window.profile, window.inputs, self.thresholds)
        if inputs.reason and not inputs.n_tested:
            return MonitorResult("drift", "skipped", inputs.reason)
        details = [column_row(column) for column in inputs.columns]
        plots = [column_plot(column, "input") for column in inputs.columns if column.drifted]
        predicted = None
        if self.prediction and window.profile.predictions is not None:
            predicted = prediction_drift(
                window.profile, window.predictions, window.probabilities, self.thresholds
            )
            for column in [predicted.prediction, *predicted.probabilities]:
                if column is not None:
                    details.append(column_row(column, "prediction"))
            if predicted.prediction is not None:
                plots.insert(0, column_plot(predicted.prediction, "prediction"))
        prediction_drifted = predicted is not None and bool(
            significant([predicted.prediction, *predicted.probabilities], self.thresholds)
        )
        warned = significant(inputs.columns, self.thresholds)
        metrics = {
            "rows": inputs.rows,
            "columns_tested": inputs.n_tested,
            "columns_drifted": inputs.n_drifted,
            "drift_share": inputs.drift_share,
            "dataset_drift": inputs.dataset_drifted,
            "prediction_drift": prediction_drifted if predicted is not None else None,
            "drifted_columns": inputs.drifted_columns,
            "missing_columns": inputs.missing_columns,
            "thresholds": self.thresholds.to_dict(),
        }
        share = f"{inputs.n_drifted} of {inputs.n_tested} columns drifted"
        named = f" ({', '.join(inputs.drifted_columns[:5])})" if inputs.n_drifted else ""
        said_prediction = ""
        if prediction_drifted:
            said_prediction = "; predictions drifted"
        if inputs.dataset_drifted or prediction_drifted:
            rule = (
                f", at least drift_share={self.thresholds.drift_share:g}"
                if inputs.dataset_drifted
                else ""
            )
            return MonitorResult(
                "drift",
                "drift",
                f"{share}{named}{rule}{said_prediction}",
                metrics,
                details,
                plots,
            )
        status = "warning" if warned else "ok"
        return MonitorResult(
            "drift",
            status,
            f"{share}{named}, below drift_share={self.thresholds.drift_share:g}",
            metrics,
            details,
            plots,
        )


def significant(columns: list[Any], thresholds: Any) -> list[Any]:
    """The drifted columns that survive a Bonferroni correction for testing several at once.

    A p-value test (small windows) counts only at ``p_value / tests``; a distance test is
    already a size of effect, not a probability, and counts as it is. Without the correction
    13 input columns at p < 0.05 flag a third of clean 500-row windows, and the two prediction
    tests one in nine (benchmarks/false_alarms.py).
    """
    tested = [column for column in columns if column is not None and column.test is not None]
    level = thresholds.p_value / max(len(tested), 1)
    return [
        column
        for column in tested
        if column.drifted and (column.p_value is None or column.p_value < level)
    ]


def _option(key: str, value: Any, kind: type) -> Any:
    """``value`` as ``kind``, or a ConfigError naming ``monitor.drift.<key>`` and the value."""
    if isinstance(value, bool) or value is None:
        readable = False
    else:
        try:
            converted = kind(value)
        except (TypeError, ValueError):
            readable = False
        else:
            readable = kind is not int or float(value) == converted
    if not readable:
        what = "an integer" if kind is int else "a number"
        raise ConfigError(
            f"monitor.drift.{key}={value!r} is not {what}; set it to {what}, "
            f"e.g. monitor.drift.{key}={DEFAULTS[key]!r}"
        )
    return converted


def column_row(column: Any, group: str = "input") -> dict[str, Any]:
    return {
        "group": group,
        "column": column.name,
        "kind": column.kind,
        "test": column.test,
        "statistic": column.statistic,
        "p_value": column.p_value,
        "threshold": column.threshold,
        "drifted": column.drifted,
        "psi": column.psi,
        "n": column.n_current,
        "missing": column.missing_share_current,
        "missing_reference": column.missing_share_reference,
        "new_categories": column.new_categories,
        "note": column.reason,
    }


def column_plot(column: Any, group: str) -> Plot:
    test = f"{column.test} {column.statistic:.3g}" if column.statistic is not None else "untested"
    return Plot(
        f"{group} {column.name}: reference vs window share per bin ({test})",
        "bars",
        list(column.labels),
        {"reference": list(column.reference_shares), "window": list(column.current_shares)},
    )
