"""Live evidence about the challenger, read from the production server's ``/metrics``.

Counters are cumulative over the server's life, so a release reads them once when it starts and
judges only what happened since (:meth:`Evidence.since`). Under canary the challenger's own
answers are ``bucle_requests_total`` and ``bucle_request_duration_seconds`` labelled with its
version; under shadow they are the ``bucle_shadow_*`` families, plus agreement with the answers
production gave.

Errors are answers the server could not give (``error``, ``unavailable``); a canary request
refused for the client's input (``invalid``) says nothing about the model and is not counted.
A shadow that refuses a record production answered (``invalid``) does count: production traffic
is exactly what the challenger must handle. Latency p99 is the upper bound of the histogram
bucket holding the 99th percentile, so it errs on the side of refusing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from framework.release.policy import ReleasePolicy

CANARY_ERRORS = ("error", "unavailable")
SHADOW_ERRORS = ("error", "invalid")


@dataclass
class Evidence:
    """What the challenger did: requests, failures, latency buckets, agreement."""

    requests: float = 0.0
    errors: float = 0.0
    #: Cumulative histogram counts by bucket upper bound in seconds (``le``).
    buckets: dict[float, float] = field(default_factory=dict)
    agreed: float = 0.0
    compared: float = 0.0
    #: Regression shadow: the sum and count of |challenger - answer| per record.
    difference_sum: float = 0.0
    difference_count: float = 0.0

    def since(self, earlier: Evidence) -> Evidence:
        return Evidence(
            requests=self.requests - earlier.requests,
            errors=self.errors - earlier.errors,
            buckets={
                le: count - earlier.buckets.get(le, 0.0) for le, count in self.buckets.items()
            },
            agreed=self.agreed - earlier.agreed,
            compared=self.compared - earlier.compared,
            difference_sum=self.difference_sum - earlier.difference_sum,
            difference_count=self.difference_count - earlier.difference_count,
        )

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    @property
    def mean_difference(self) -> float | None:
        """Regression shadow: the mean absolute difference from production's answers."""
        return self.difference_sum / self.difference_count if self.difference_count else None

    def p99_seconds(self) -> float | None:
        """Upper bound of the bucket where the 99th percentile falls; None before any request."""
        ordered = sorted(self.buckets.items())
        total = ordered[-1][1] if ordered else 0.0
        if total <= 0:
            return None
        for upper, count in ordered:
            if count >= 0.99 * total:
                return upper
        return ordered[-1][0]

    def summary(self) -> dict[str, Any]:
        p99 = self.p99_seconds()
        agreement = self.agreement
        return {
            "requests": int(self.requests),
            "errors": int(self.errors),
            "error_rate": round(self.error_rate, 6),
            "p99_ms": None if p99 is None else (p99 * 1000 if p99 != float("inf") else "inf"),
            "agreement": None if agreement is None else round(agreement, 6),
            "mean_difference": None
            if self.mean_difference is None
            else round(self.mean_difference, 6),
        }


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text as ``sample name -> [(labels, value)]``."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return samples


def challenger_evidence(text: str, strategy: str, version: int) -> Evidence:
    """The challenger's figures (version ``version``) in one ``/metrics`` exposition."""
    samples = parse_metrics(text)
    wanted = str(version)

    def total(name: str, **match: Any) -> float:
        return sum(
            value
            for labels, value in samples.get(name, [])
            if labels.get("model_version") == wanted
            and all(labels.get(key) in allowed for key, allowed in match.items())
        )

    def buckets(name: str, **match: Any) -> dict[float, float]:
        found: dict[float, float] = {}
        for labels, value in samples.get(name, []):
            if labels.get("model_version") != wanted:
                continue
            if not all(labels.get(key) in allowed for key, allowed in match.items()):
                continue
            upper = float(labels["le"])
            found[upper] = found.get(upper, 0.0) + value
        return found

    if strategy == "shadow":
        outcomes = ("ok", *SHADOW_ERRORS)
        return Evidence(
            requests=total("bucle_shadow_requests_total", outcome=outcomes),
            errors=total("bucle_shadow_requests_total", outcome=SHADOW_ERRORS),
            buckets=buckets("bucle_shadow_duration_seconds_bucket"),
            agreed=total("bucle_shadow_records_total", agreement=("agree",)),
            compared=total("bucle_shadow_records_total", agreement=("agree", "disagree")),
            difference_sum=total("bucle_shadow_abs_difference_sum"),
            difference_count=total("bucle_shadow_abs_difference_count"),
        )
    outcomes = ("ok", *CANARY_ERRORS)
    return Evidence(
        requests=total("bucle_requests_total", outcome=outcomes),
        errors=total("bucle_requests_total", outcome=CANARY_ERRORS),
        buckets=buckets("bucle_request_duration_seconds_bucket", outcome=outcomes),
    )


@dataclass(frozen=True)
class Verdict:
    """``promote``, ``roll back`` or ``wait``, with the reason in words."""

    action: str
    reason: str


def judge(evidence: Evidence, policy: ReleasePolicy, strategy: str, timed_out: bool) -> Verdict:
    """Decide on the evidence so far: fail fast, wait for enough requests, then promote or not."""
    budget = policy.max_error_rate * policy.min_requests
    if evidence.errors > budget:
        return Verdict(
            "roll back",
            f"{int(evidence.errors)} failed of {int(evidence.requests)} challenger requests: "
            f"more than deploy.release.max_error_rate={policy.max_error_rate:g} of "
            f"{policy.min_requests} allows",
        )
    if evidence.requests < policy.min_requests:
        if timed_out:
            return Verdict(
                "roll back",
                f"only {int(evidence.requests)} of {policy.min_requests} challenger requests "
                f"(deploy.release.min_requests) in {policy.timeout_seconds:g}s: not enough "
                "evidence to promote",
            )
        return Verdict("wait", f"{int(evidence.requests)} of {policy.min_requests} requests")
    rate = evidence.error_rate
    if rate > policy.max_error_rate:
        return Verdict(
            "roll back",
            f"error rate {rate:.2%} over {int(evidence.requests)} requests exceeds "
            f"deploy.release.max_error_rate={policy.max_error_rate:g}",
        )
    p99 = evidence.p99_seconds()
    if p99 is not None and p99 * 1000 > policy.max_p99_ms:
        shown = "over 10 s" if p99 == float("inf") else f"up to {p99 * 1000:g} ms"
        return Verdict(
            "roll back",
            f"p99 latency {shown} exceeds deploy.release.max_p99_ms={policy.max_p99_ms:g}",
        )
    agreement = evidence.agreement
    if strategy == "shadow" and agreement is not None and agreement < policy.min_agreement:
        return Verdict(
            "roll back",
            f"agreement with production {agreement:.2%} is below "
            f"deploy.release.min_agreement={policy.min_agreement:g}",
        )
    difference = evidence.mean_difference
    if (
        strategy == "shadow"
        and difference is not None
        and difference > policy.max_shadow_difference
    ):
        return Verdict(
            "roll back",
            f"mean absolute difference from production {difference:g} exceeds "
            f"deploy.release.max_shadow_difference={policy.max_shadow_difference:g}",
        )
    said = f", agreement {agreement:.2%}" if strategy == "shadow" and agreement is not None else ""
    if strategy == "shadow" and difference is not None:
        said = f", mean absolute difference {difference:g}"
    latency = "" if p99 is None else f", p99 ≤ {p99 * 1000:g} ms"
    return Verdict(
        "promote",
        f"{int(evidence.requests)} requests, error rate {rate:.2%}{latency}{said}: within "
        "the release bounds",
    )
