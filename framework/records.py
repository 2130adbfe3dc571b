"""The records that cross the plugin boundary: check results, runs and model versions.

Plain dataclasses with JSON-friendly fields, so every plugin (sqlite, MLflow, a web service) can
store and return them without importing anything heavy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one data-quality check run by a validator.

    ``failed_rows`` holds the *positions* (0..n-1) of the rows that break a row-level check; the
    validate stage quarantines them. A dataset-level check (freshness, say) has no rows: when it
    fails, the stage fails. ``dimension`` files the check under one of the four data-quality
    dimensions the validate report scores: accuracy (ranges, types, allowed values),
    completeness (missing values), consistency (cross-column rules, duplicate keys, one spelling
    per category) and timeliness (freshness).
    """

    name: str
    passed: bool
    column: str | None = None
    failed_rows: tuple[int, ...] = ()
    detail: str = ""
    level: Literal["row", "dataset"] = "row"
    dimension: Literal["accuracy", "completeness", "consistency", "timeliness"] = "accuracy"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed_rows"] = len(self.failed_rows)
        return data


@dataclass(frozen=True)
class RunInfo:
    """What a tracker is told when a run starts."""

    run_id: str
    project: str
    started_at: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RunRecord:
    """A tracked run as a tracker returns it for ``bucle runs``."""

    run_id: str
    project: str
    status: str
    started_at: str
    ended_at: str | None
    params: dict[str, Any]
    metrics: dict[str, float]
    artifacts: dict[str, str]
    manifest: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelVersion:
    """One registered model version with its lineage and the aliases that point at it."""

    name: str
    version: int
    sha256: str
    created_at: str
    run_id: str
    lineage: dict[str, Any]
    metrics: dict[str, float]
    aliases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
