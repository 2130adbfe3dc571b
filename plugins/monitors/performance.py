"""The ``performance`` monitor: the model's metrics on traffic whose ground truth came back.

Predictions that received a label through ``POST /feedback`` are scored with the evaluate
stage's own metric code, on the answers clients actually got, and compared with the production
version's evaluate-time metrics. A drop beyond ``max_drop`` on any watched metric means the
relation between inputs and target has moved: concept drift, which input drift alone cannot
show. Below ``min_labels`` labelled rows the monitor says so and judges nothing: a handful of
labels would raise false alarms.

A regression model is watched on its errors (``regression_metrics``, RMSE and MAE by default)
and R²: an error that grew by more than ``max_error_increase`` (a share of the baseline, so the
same setting serves any unit) and beyond chance is concept drift; R² drops like a classifier's
metrics, by ``max_drop``.

Both figures are estimates: the baseline from ``n_test`` held-out rows, the window's from its
labelled rows. A drop counts only when it is larger than ``max_drop`` *and* larger than chance
explains at ``confidence``: the window metric's standard error is bootstrapped from its rows,
the baseline's is taken to scale with ``1/sqrt(n_test)`` the same way, and the drop must exceed
``z`` times the two combined. Without that, a small test set alone raises alarms.
"""

from __future__ import annotations

import math
from typing import Any

from framework import hookimpl
from framework.errors import ConfigError
from framework.evaluation.metrics import METRIC_NAMES
from framework.evaluation.regression import LOWER_IS_BETTER, REGRESSION_METRICS
from framework.monitoring.window import MonitorResult, MonitorWindow, Plot

#: Chunks of the labelled rows, in time order, for the trend plot.
TREND_POINTS = 10
#: Bootstrap resamples for the window metrics' standard errors (seeded: same window, same say).
BOOTSTRAP = 200


class PerformanceMonitor:
    """Metrics on labelled predictions against the evaluate baseline."""

    def __init__(
        self,
        metrics: list[str] | None = None,
        max_drop: float = 0.05,
        min_labels: int = 30,
        confidence: float = 0.99,
        regression_metrics: list[str] | None = None,
        max_error_increase: float = 0.10,
    ) -> None:
        chosen = list(metrics or ["accuracy", "f1", "roc_auc"])
        numeric = list(regression_metrics or ["rmse", "mae"])
        for key, names, known in (
            ("metrics", chosen, METRIC_NAMES),
            ("regression_metrics", numeric, REGRESSION_METRICS),
        ):
            unknown = [name for name in names if name not in known]
            if unknown:
                raise ConfigError(
                    f"monitor.performance.{key}: unknown metric '{unknown[0]}'; "
                    f"use any of {', '.join(known)}"
                )
        if float(max_error_increase) <= 0:
            raise ConfigError(
                f"monitor.performance.max_error_increase={max_error_increase} must be a positive "
                "share of the baseline error, e.g. 0.10"
            )
        self.regression_metrics = numeric
        self.max_error_increase = float(max_error_increase)
        if not 0 <= float(max_drop) <= 1 or int(min_labels) < 1:
            raise ConfigError(
                "monitor.performance: max_drop must be between 0 and 1 and min_labels at least 1 "
                f"(got max_drop={max_drop}, min_labels={min_labels})"
            )
        if not 0.5 <= float(confidence) < 1:
            raise ConfigError(
                f"monitor.performance.confidence={confidence} must be in [0.5, 1), e.g. 0.95"
            )
        from statistics import NormalDist

        self.metrics = chosen
        self.max_drop = float(max_drop)
        self.min_labels = int(min_labels)
        self.confidence = float(confidence)
        self.z = NormalDist().inv_cdf(0.5 + float(confidence) / 2)

    def watched(self, window: MonitorWindow) -> list[str]:
        return self.regression_metrics if window.regression else self.metrics

    @hookimpl
    def check_window(self, window: MonitorWindow) -> MonitorResult:
        labelled = window.labels.notna()
        count = int(labelled.sum())
        if count < self.min_labels:
            return MonitorResult(
                "performance",
                "skipped",
                f"{count} labelled predictions in the window; at least {self.min_labels} "
                "(monitor.performance.min_labels) are needed to judge",
                {"labelled": count},
            )
        current = self._score(window, labelled)
        broken = non_finite(current, self.watched(window))
        if broken:
            return self._unjudgeable(window, labelled, broken, count)
        errors = self._standard_errors(window, labelled)
        n_test = window.baseline.get("n_test")
        details = [
            self._compare(name, window.baseline.get(name), current.get(name), errors, count, n_test)
            for name in self.watched(window)
        ]
        findings = [d for d in details if d["finding"]]
        metrics = {"labelled": count, **{f"current_{k}": v for k, v in current.items()}}
        plots = [self._trend(window, labelled)]
        if findings:
            said = ", ".join(
                f"{d['metric']} {d['current']:.3f} vs {d['baseline']:.3f} "
                f"({'up' if d['metric'] in LOWER_IS_BETTER else 'down'} {abs(d['drop']):.3f})"
                for d in findings
            )
            return MonitorResult(
                "performance",
                "drift",
                f"concept drift: {said} on {count} labelled predictions, beyond "
                + (
                    f"monitor.performance.max_error_increase={self.max_error_increase:g}"
                    if window.regression
                    else f"monitor.performance.max_drop={self.max_drop:g}"
                )
                + " and chance",
                metrics,
                details,
                plots,
            )
        shown = ", ".join(
            f"{d['metric']} {d['current']:.3f}" for d in details if d["current"] is not None
        )
        bound = (
            f"errors within {self.max_error_increase:.0%} of evaluate's"
            if window.regression
            else f"within {self.max_drop:g} of evaluate"
        )
        return MonitorResult(
            "performance",
            "ok",
            f"{shown} on {count} labelled predictions, {bound} or within chance",
            metrics,
            details,
            plots,
        )

    def _unjudgeable(
        self, window: MonitorWindow, labelled: Any, broken: dict[str, float], count: int
    ) -> MonitorResult:
        """An ``error``: a watched metric came out NaN or infinite, so nothing can be judged.

        Comparing ``inf`` with a baseline says neither drift nor ok; calling it ``ok`` would
        hide real concept drift behind one absurd label. The summary names the metric and the
        most extreme label, which is where to look.
        """
        import numpy as np

        said = ", ".join(f"{name} {value}" for name, value in broken.items())
        extreme = ""
        if window.regression:
            values = np.asarray(window.labels[labelled].tolist(), dtype=float)
            with np.errstate(invalid="ignore"):
                worst = values[np.argmax(np.where(np.isnan(values), np.inf, np.abs(values)))]
            extreme = f"; the most extreme label is {worst:g}"
        return MonitorResult(
            "performance",
            "error",
            f"{said} is not finite on {count} labelled predictions, so the window cannot be "
            f"judged{extreme}: check the feedback for absurd labels (serve.label_bounds refuses "
            "new ones)",
            {"labelled": count, **{f"current_{k}": str(v) for k, v in broken.items()}},
        )

    def _compare(
        self,
        name: str,
        baseline: Any,
        value: Any,
        errors: dict[str, float],
        count: int,
        n_test: Any,
    ) -> dict[str, Any]:
        """One metric's drop, the drop chance explains, and whether it is a finding."""
        if baseline is None or value is None:
            return {
                "metric": name,
                "baseline": baseline,
                "current": value,
                "drop": None,
                "noise": None,
                "finding": False,
            }
        # How much worse the window is: a lower score, or for an error metric a higher error.
        worse = float(value) > float(baseline) if name in LOWER_IS_BETTER else None
        drop = (
            float(value) - float(baseline)
            if name in LOWER_IS_BETTER
            else float(baseline) - float(value)
        )
        error = errors.get(name)
        if error is not None and n_test:
            # The baseline's error, scaled from the window's by the two sample sizes.
            error = error * math.sqrt(1 + count / float(n_test))
        noise = None if error is None else self.z * error
        if worse is None:
            beyond = drop > self.max_drop
        else:  # a share of the baseline error, so one setting serves any unit
            beyond = worse and drop > self.max_error_increase * abs(float(baseline))
        finding = beyond and (noise is None or drop > noise)
        return {
            "metric": name,
            "baseline": float(baseline),
            "current": value,
            "drop": drop,
            "noise": noise,
            "finding": finding,
        }

    def _score(self, window: MonitorWindow, rows: Any) -> dict[str, Any]:
        import numpy as np

        return self._score_rows(window, np.flatnonzero(np.asarray(rows)))

    def _score_rows(self, window: MonitorWindow, positions: Any) -> dict[str, Any]:
        """Metrics of the rows at ``positions`` (repeats allowed, as a bootstrap draws them)."""
        import numpy as np

        from framework.evaluation.metrics import score
        from framework.evaluation.regression import regression_score

        if window.regression:
            return regression_score(
                np.asarray(window.labels.iloc[positions].tolist(), dtype=float),
                np.asarray(window.predictions.iloc[positions].tolist(), dtype=float),
                undefined_as_none=True,
            )
        proba = window.probabilities.to_numpy(dtype=float)[positions]
        # Labels and predictions are object Series (classes of any type): plain lists give
        # scikit-learn arrays of the classes' own dtype.
        return score(
            np.asarray(window.labels.iloc[positions].tolist()),
            np.asarray(window.predictions.iloc[positions].tolist()),
            proba,
            window.classes,
            window.positive_label,
            undefined_as_none=True,
        )

    def _standard_errors(self, window: MonitorWindow, labelled: Any) -> dict[str, float]:
        """Bootstrap standard error of each watched metric over the window's labelled rows."""
        import numpy as np

        rows = np.flatnonzero(labelled.to_numpy())
        rng = np.random.default_rng(0)
        names = self.watched(window)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(BOOTSTRAP):
            scored = self._score_rows(window, rng.choice(rows, size=len(rows), replace=True))
            for name in names:
                if scored.get(name) is not None:
                    samples[name].append(float(scored[name]))
        return {name: float(np.std(values)) for name, values in samples.items() if values}

    def _trend(self, window: MonitorWindow, labelled: Any) -> Plot:
        """The first watched metric over the window, in time-ordered chunks of labelled rows."""
        import numpy as np

        name = self.watched(window)[0]
        order = window.log.loc[labelled, "timestamp"].sort_values().index
        chunks = [chunk for chunk in np.array_split(order, TREND_POINTS) if len(chunk)]
        labels, values = [], []
        for chunk in chunks:
            mask = window.labels.index.isin(chunk)
            labels.append(str(window.log.loc[chunk[-1], "timestamp"])[:16])
            values.append(self._score(window, mask).get(name))
        baseline = window.baseline.get(name)
        return Plot(
            f"{name} over the window (labelled predictions) vs evaluate",
            "line",
            labels,
            {"window": values, "evaluate": [baseline] * len(labels)},
        )


def non_finite(metrics: dict[str, Any], names: list[str]) -> dict[str, float]:
    """The metrics among ``names`` whose value is a number that is NaN or infinite."""
    found = {}
    for name in names:
        value = metrics.get(name)
        if isinstance(value, int | float) and not math.isfinite(float(value)):
            found[name] = float(value)
    return found
