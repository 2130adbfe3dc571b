"""The ``service`` monitor: request rate, error rate and latency from the server's metrics.

It reads the running server's ``/metrics`` (the one ``bucle deploy`` recorded, or
``bucle monitor --url``). Counters there are cumulative since the server started, so the rates
are over the server's life; the window's own request rate comes from the inference log. No
server answering is not an error: the monitor is skipped and says so.
"""

from __future__ import annotations

from typing import Any

from framework import hookimpl
from framework.errors import ConfigError
from framework.monitoring.window import MonitorResult, MonitorWindow, Plot

#: Outcomes that are the service's failures; ``invalid`` is the client's.
FAILED = ("error", "unavailable")


class ServiceMonitor:
    """Error rate and latency percentiles of the production server against bounds."""

    def __init__(self, max_error_rate: float = 0.01, max_p99_ms: float = 500.0) -> None:
        if not 0 <= float(max_error_rate) <= 1 or float(max_p99_ms) <= 0:
            raise ConfigError(
                "monitor.service: max_error_rate must be between 0 and 1 and max_p99_ms positive "
                f"(got {max_error_rate}, {max_p99_ms})"
            )
        self.max_error_rate = float(max_error_rate)
        self.max_p99_ms = float(max_p99_ms)

    @hookimpl
    def check_window(self, window: MonitorWindow) -> MonitorResult:
        if window.service_metrics is None:
            return MonitorResult(
                "service",
                "skipped",
                "no running server answered /metrics (bucle deploy, or bucle monitor --url)",
            )
        from framework.release.evidence import parse_metrics

        samples = parse_metrics(window.service_metrics)
        requests: dict[str, float] = {}
        for labels, value in samples.get("bucle_requests_total", []):
            requests[labels["outcome"]] = requests.get(labels["outcome"], 0.0) + value
        answered = sum(v for k, v in requests.items() if k != "invalid")
        failed = sum(requests.get(k, 0.0) for k in FAILED)
        buckets: dict[float, float] = {}
        for labels, value in samples.get("bucle_request_duration_seconds_bucket", []):
            if labels.get("outcome") == "ok":
                upper = float(labels["le"])
                buckets[upper] = buckets.get(upper, 0.0) + value
        quantiles = {q: quantile(buckets, q) for q in (0.5, 0.9, 0.99)}
        rate = window_rate(window)
        metrics: dict[str, Any] = {
            "requests": int(sum(requests.values())),
            "answered": int(answered),
            "failed": int(failed),
            "refused_invalid": int(requests.get("invalid", 0.0)),
            "error_rate": failed / answered if answered else 0.0,
            "p50_ms": ms(quantiles[0.5]),
            "p90_ms": ms(quantiles[0.9]),
            "p99_ms": ms(quantiles[0.99]),
            "window_requests_per_second": rate,
        }
        ordered = sorted(buckets.items())
        plot = Plot(
            "latency of answered requests (cumulative share by bucket, ms)",
            "bars",
            [f"≤{ms(upper):g}" if upper != float("inf") else "+inf" for upper, _ in ordered],
            {"share": [count / ordered[-1][1] if ordered[-1][1] else 0.0 for _, count in ordered]}
            if ordered
            else {"share": []},
        )
        problems = []
        if metrics["error_rate"] > self.max_error_rate:
            problems.append(f"error rate {metrics['error_rate']:.2%} > {self.max_error_rate:.2%}")
        p99 = metrics["p99_ms"]
        if p99 is not None and p99 > self.max_p99_ms:
            problems.append(f"p99 ≤ {p99:g} ms > {self.max_p99_ms:g} ms")
        said = (
            f"{int(answered)} answered, error rate {metrics['error_rate']:.2%}, "
            f"p99 ≤ {p99 if p99 is not None else 'n/a'} ms"
        )
        if problems:
            return MonitorResult(
                "service", "warning", "; ".join(problems) + f" ({said})", metrics, [], [plot]
            )
        return MonitorResult("service", "ok", said, metrics, [], [plot])


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """Upper bound of the histogram bucket holding quantile ``q`` (None without requests)."""
    ordered = sorted(buckets.items())
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        return None
    return next(upper for upper, count in ordered if count >= q * total)


def ms(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    return seconds * 1000 if seconds != float("inf") else float("inf")


def window_rate(window: MonitorWindow) -> float | None:
    """Requests per second in the window, from the inference log's request ids and times."""
    import pandas as pd

    if window.log.empty:
        return None
    times = pd.to_datetime(window.log["timestamp"], utc=True)
    span = (times.max() - times.min()).total_seconds()
    requests = window.log["request_id"].str.rsplit("-", n=1).str[0].nunique()
    return requests / span if span > 0 else None
