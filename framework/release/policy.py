"""The release policy: the ``deploy.release`` thresholds a candidate must meet to take traffic.

Smoke tests run on a staging server before any user sees the candidate; the canary (or shadow)
thresholds are then judged on live traffic. Every key has a default, so a project whose
``deploy`` section predates releases still releases with sensible bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from framework.errors import ConfigError, did_you_mean


@dataclass(frozen=True)
class ReleasePolicy:
    """Thresholds of one release, from ``deploy.release``."""

    #: Port of the staging server; 0 picks a free one.
    staging_port: int = 0
    #: Seconds the staging server may take to load the candidate.
    staging_timeout: float = 60.0
    #: Records of the sample the smoke tests send, one request each, for the latency check.
    smoke_records: int = 20
    #: The staging server's p99 latency over those requests must stay within this.
    smoke_latency_ms: float = 500.0
    #: Challenger requests (canary) or shadowed requests (shadow) before a decision.
    min_requests: int = 100
    #: Largest share of the challenger's requests that may fail (5xx, or refused as a shadow).
    max_error_rate: float = 0.01
    #: Largest p99 latency of the challenger on live traffic, in milliseconds.
    max_p99_ms: float = 500.0
    #: Shadow only: least share of records on which the challenger agrees with production.
    min_agreement: float = 0.0
    #: Shadow of a regression model: largest mean absolute difference from production's
    #: answers, in the target's unit (the default, infinity, checks nothing).
    max_shadow_difference: float = float("inf")
    #: Seconds to wait for ``min_requests``; without them by then the release is rolled back.
    timeout_seconds: float = 600.0
    #: Seconds between two reads of the production server's metrics.
    poll_seconds: float = 1.0

    @classmethod
    def from_config(cls, deploy: Any) -> ReleasePolicy:
        """Read ``deploy.release``; an unknown key or a value out of range is a ConfigError."""
        section = (deploy or {}).get("release") or {}
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in dict(section).items():
            if key not in known:
                raise ConfigError(
                    f"deploy.release has no key '{key}'; known keys: {', '.join(known)}"
                    f"{did_you_mean(str(key), known)}"
                )
            kind = int if known[key].type in (int, "int") else float
            try:
                values[key] = kind(raw)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"deploy.release.{key}={raw!r} must be a number ({kind.__name__})"
                ) from None
        policy = cls(**values)
        policy.check()
        return policy

    def check(self) -> None:
        shares = ("max_error_rate", "min_agreement")
        for name in shares:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"deploy.release.{name}={value} must be a share between 0 and 1")
        if not 0 <= self.staging_port <= 65535:
            raise ConfigError(
                f"deploy.release.staging_port={self.staging_port} is not a TCP port; "
                "use 1 to 65535, or 0 for a free one"
            )
        for f in fields(self):
            if f.name in (*shares, "staging_port"):
                continue
            if getattr(self, f.name) <= 0:
                raise ConfigError(
                    f"deploy.release.{f.name}={getattr(self, f.name)} must be positive"
                )
