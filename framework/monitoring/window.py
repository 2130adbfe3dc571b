"""What a monitor reads (:class:`MonitorWindow`) and what it returns (:class:`MonitorResult`).

A window is a slice of the production inference log, already joined with everything a monitor
may need, so that monitors stay small and never read files themselves: the production version
and its reference profile, the model inputs of the window's rows (computed from the logged
requests by the same feature code as training), the predictions and probabilities the clients
received, the ground truth fed back so far, and the running server's metrics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from framework.monitoring.profile import ReferenceProfile
    from framework.records import ModelVersion

Status = Literal["ok", "warning", "drift", "skipped", "error"]

#: How bad each status is: the report's overall status is the worst of its monitors'.
#: ``error`` (a statistic came out NaN or infinite, so the window cannot be judged) is the
#: worst: it hides whatever the window holds, drift included.
SEVERITY: dict[str, int] = {"skipped": 0, "ok": 1, "warning": 2, "drift": 3, "error": 4}


@dataclass
class MonitorWindow:
    """One window of production traffic with its reference, handed to every monitor."""

    model: ModelVersion
    profile: ReferenceProfile
    #: Evaluate-stage metrics of the production version: the performance baseline.
    baseline: dict[str, float]
    #: Inference-log rows of the window: request_id, timestamp, model_version, prediction…
    log: pd.DataFrame
    #: Model inputs of the same rows (numeric and categorical columns of the model's schema).
    inputs: pd.DataFrame
    #: Predicted class per row, as answered.
    predictions: pd.Series
    #: Class probabilities per row, one column per class (text labels), as answered.
    probabilities: pd.DataFrame
    #: Ground truth per row where feedback arrived, missing elsewhere.
    labels: pd.Series
    #: Rows of the window whose inputs could not be rebuilt (a field the model no longer reads).
    unreadable: int
    #: Start and end of the window (UTC, ISO 8601).
    start: str | None
    end: str | None
    #: The running server's Prometheus exposition, or None when no server answers.
    service_metrics: str | None = None
    #: The positive class for binary metrics (from the model), or None.
    positive_label: Any = None
    classes: list[Any] = field(default_factory=list)
    #: ``classification`` or ``regression``: a regression window's predictions and labels are
    #: numbers and it has no probabilities.
    task: str = "classification"

    @property
    def regression(self) -> bool:
        return self.task == "regression"


@dataclass
class Plot:
    """A chart for the HTML report: reference vs current shares, or a trend over time."""

    title: str
    kind: Literal["bars", "line"]
    labels: list[str]
    series: dict[str, list[float | None]]


@dataclass
class MonitorResult:
    """One monitor's verdict on a window."""

    monitor: str
    status: Status
    summary: str
    metrics: dict[str, Any] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
