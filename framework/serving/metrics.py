"""Prometheus metrics of the inference service, in a registry of the app's own.

Names follow Prometheus conventions (a ``_total`` counter, a histogram in ``_seconds``, base
units, the ``bucle_`` prefix). A per-app :class:`~prometheus_client.CollectorRegistry` rather
than the process-wide default keeps two apps in one process (tests, a benchmark's bare endpoint)
from sharing counts or clashing on registration.
"""

from __future__ import annotations

import collections

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary

#: Latency buckets in seconds: fine below 100 ms, where a healthy model answers.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

#: Outcomes of a /predict request: answered, refused for the client's input, no model or log.
OUTCOMES = ("ok", "invalid", "unavailable", "error")


class ServingMetrics:
    """The metric families ``/metrics`` exposes: four for answered requests, one for records
    breaking the data rules, four for shadow.

    Shadow predictions get families of their own so that they never count as answered requests:
    a dashboard summing ``bucle_requests_total`` sees exactly what clients saw.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "bucle_requests",
            "Prediction requests by the model version that handled them and their outcome.",
            ["model_version", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bucle_request_duration_seconds",
            "Time from receiving a prediction request to answering it.",
            ["model_version", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "bucle_requests_in_flight",
            "Prediction requests being handled right now.",
            registry=self.registry,
        )
        self.predictions = Counter(
            "bucle_predictions",
            "Predicted records by model version and predicted class.",
            ["model_version", "class"],
            registry=self.registry,
        )

        self.prediction_values = Summary(
            "bucle_prediction_value",
            "A regression model's predicted values by model version: count and sum give the mean.",
            ["model_version"],
            registry=self.registry,
        )

        self.rule_violations = Counter(
            "bucle_rule_violations",
            "Records breaking a validate.rules rule, by rule and what serve.rules did about it.",
            ["rule", "action"],
            registry=self.registry,
        )

        self.shadow_predictions = Counter(
            "bucle_shadow_requests",
            "Requests the shadow model predicted (answers discarded), by version and outcome.",
            ["model_version", "outcome"],
            registry=self.registry,
        )
        self.shadow_latency = Histogram(
            "bucle_shadow_duration_seconds",
            "Time the shadow model took to predict a request's records.",
            ["model_version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.shadow_difference = Summary(
            "bucle_shadow_abs_difference",
            "Regression: |shadow prediction - answer| per record; sum / count is the mean.",
            ["model_version"],
            registry=self.registry,
        )
        self.shadow_agreement = Counter(
            "bucle_shadow_records",
            "Records the shadow model predicted, by whether it agreed with the answer given.",
            ["model_version", "agreement"],
            registry=self.registry,
        )

    def observe(self, model_version: str, outcome: str, seconds: float) -> None:
        self.requests.labels(model_version, outcome).inc()
        self.latency.labels(model_version, outcome).observe(seconds)

    def count_predictions(
        self, model_version: str, predictions: list, regression: bool = False
    ) -> None:
        if regression:
            summary = self.prediction_values.labels(model_version)
            for value in predictions:
                summary.observe(float(value))
            return
        for label, count in collections.Counter(map(str, predictions)).items():
            self.predictions.labels(model_version, label).inc(count)

    def count_rule_violations(self, counts: dict[str, int], action: str) -> None:
        """Records per broken rule of one request; ``action`` is ``warned`` or ``refused``."""
        for rule, records in counts.items():
            self.rule_violations.labels(rule, action).inc(records)

    def observe_shadow_difference(
        self, model_version: str, seconds: float, differences: list[float]
    ) -> None:
        """A regression shadow: the absolute difference from the answer, record by record."""
        self.shadow_predictions.labels(model_version, "ok").inc()
        self.shadow_latency.labels(model_version).observe(seconds)
        summary = self.shadow_difference.labels(model_version)
        for difference in differences:
            summary.observe(difference)

    def observe_shadow(
        self, model_version: str, outcome: str, seconds: float, agreed: int = 0, total: int = 0
    ) -> None:
        self.shadow_predictions.labels(model_version, outcome).inc()
        if outcome == "ok":
            self.shadow_latency.labels(model_version).observe(seconds)
            self.shadow_agreement.labels(model_version, "agree").inc(agreed)
            self.shadow_agreement.labels(model_version, "disagree").inc(total - agreed)

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
