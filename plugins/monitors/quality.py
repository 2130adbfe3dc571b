"""The ``quality`` monitor: is the inference data as clean as the training data was?

Three checks per model input, each against the reference profile, so a column that was often
missing in training is not flagged for being missing now:

- missing share: the window's, against the reference's plus ``max_missing_increase``;
- out of range (numeric): the share of values below the training minimum or above its maximum;
- unseen categories (categorical): the share of values training never had. When the profile
  folded rare categories together, a value outside the kept ones may be one of them, so the
  check reports it but as a warning only.

Rows whose model inputs could not be rebuilt at all (a field the model reads is absent from the
logged request) count against the window as a whole.
"""

from __future__ import annotations

from typing import Any

from framework import hookimpl
from framework.errors import ConfigError
from framework.monitoring.window import MonitorResult, MonitorWindow, Plot


class QualityMonitor:
    """Missing values, out-of-range numbers and unseen categories in the inference data."""

    def __init__(
        self,
        max_missing_increase: float = 0.05,
        max_out_of_range: float = 0.01,
        max_unseen: float = 0.01,
    ) -> None:
        for key, value in (
            ("max_missing_increase", max_missing_increase),
            ("max_out_of_range", max_out_of_range),
            ("max_unseen", max_unseen),
        ):
            if not 0 <= float(value) <= 1:
                raise ConfigError(f"monitor.quality.{key}={value} must be a share between 0 and 1")
        self.max_missing_increase = float(max_missing_increase)
        self.max_out_of_range = float(max_out_of_range)
        self.max_unseen = float(max_unseen)

    @hookimpl
    def check_window(self, window: MonitorWindow) -> MonitorResult:
        import numpy as np
        import pandas as pd

        frame = window.inputs
        if frame.empty:
            return MonitorResult("quality", "skipped", "no rows in the window")
        details: list[dict[str, Any]] = []
        for name, reference in window.profile.columns.items():
            if name not in frame.columns:
                details.append(
                    {
                        "column": name,
                        "check": "present",
                        "value": 0.0,
                        "limit": 1.0,
                        "finding": True,
                        "note": "the column is absent from the window",
                    }
                )
                continue
            values = frame[name]
            missing = float(values.isna().mean())
            limit = reference.missing_share + self.max_missing_increase
            details.append(
                {
                    "column": name,
                    "check": "missing",
                    "value": missing,
                    "reference": reference.missing_share,
                    "limit": limit,
                    "finding": missing > limit,
                }
            )
            present = values.dropna()
            if present.empty:
                continue
            if reference.kind == "numeric" and reference.min is not None:
                numbers = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float)
                outside = float(np.mean((numbers < reference.min) | (numbers > reference.max)))
                details.append(
                    {
                        "column": name,
                        "check": "out_of_range",
                        "value": outside,
                        "range": [reference.min, reference.max],
                        "limit": self.max_out_of_range,
                        "finding": outside > self.max_out_of_range,
                    }
                )
            elif reference.kind == "categorical" and reference.frequencies:
                known = set(reference.frequencies)
                unseen_mask = ~present.astype(str).isin(known)
                unseen = float(unseen_mask.mean())
                examples = sorted(set(present[unseen_mask].astype(str)))[:5]
                details.append(
                    {
                        "column": name,
                        "check": "unseen",
                        "value": unseen,
                        "examples": examples,
                        "limit": self.max_unseen,
                        "finding": unseen > self.max_unseen,
                        "folded": reference.folded,
                    }
                )
        findings = [d for d in details if d["finding"]]
        unreadable_share = window.unreadable / (window.unreadable + len(frame))
        metrics = {
            "rows": len(frame),
            "unreadable_rows": window.unreadable,
            "findings": len(findings),
            "worst_missing": max(
                (d["value"] for d in details if d["check"] == "missing"), default=0.0
            ),
        }
        plot = Plot(
            "missing share per column: reference vs window",
            "bars",
            [d["column"] for d in details if d["check"] == "missing"],
            {
                "reference": [d["reference"] for d in details if d["check"] == "missing"],
                "window": [d["value"] for d in details if d["check"] == "missing"],
            },
        )
        if not findings and not window.unreadable:
            return MonitorResult(
                "quality",
                "ok",
                f"{len(details)} checks on {len(frame)} rows passed",
                metrics,
                details,
                [plot],
            )
        said = [
            f"{d['column']} {d['check'].replace('_', ' ')} {d['value']:.1%} > {d['limit']:.1%}"
            for d in findings[:3]
        ]
        if window.unreadable:
            said.insert(0, f"{window.unreadable} rows unreadable ({unreadable_share:.1%})")
        more = f" and {len(findings) - 3} more" if len(findings) > 3 else ""
        return MonitorResult("quality", "warning", "; ".join(said) + more, metrics, details, [plot])
