"""validate: run every validator, quarantine the rows that break a check, report, and gate.

Nothing is dropped silently: rows in = rows kept + rows quarantined, and each quarantined row
carries the checks it broke. The stage fails past ``quarantine.max_bad_share`` or when a
dataset-level check (freshness) fails, naming the worst checks.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import DataError
from framework.files import write_json
from framework.pipeline import tracking
from framework.pipeline.context import RunContext
from framework.records import CheckResult
from framework.tables import read_table, write_table

if TYPE_CHECKING:
    import pandas as pd

REASON_COLUMN = "_quarantine_reason"


def target_check(frame: pd.DataFrame, target: str) -> CheckResult:
    """Rows without a label cannot train or evaluate a model: the framework always checks it."""
    missing = tuple(int(i) for i in frame[target].isna().to_numpy().nonzero()[0])
    detail = f"{len(missing)} rows have no {target}" if missing else ""
    return CheckResult(f"{target}:label_present", not missing, target, missing, detail)


def summarise(
    frame: pd.DataFrame, checks: list[tuple[str, CheckResult]], max_bad_share: float
) -> tuple[dict[str, Any], dict[int, list[str]]]:
    """The report and the reasons per bad row position."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for _validator, check in checks:
        if check.level == "row" and not check.passed:
            for position in check.failed_rows:
                reasons[int(position)].append(check.name)
    rows_in = len(frame)
    bad_share = len(reasons) / rows_in if rows_in else 0.0
    dataset_failures = [c.name for _, c in checks if c.level == "dataset" and not c.passed]
    report = {
        "rows_in": rows_in,
        "rows_kept": rows_in - len(reasons),
        "rows_quarantined": len(reasons),
        "bad_share": bad_share,
        "max_bad_share": max_bad_share,
        "dataset_failures": dataset_failures,
        "passed": bad_share <= max_bad_share and not dataset_failures,
        "checks": [{"validator": name, **check.to_dict()} for name, check in checks],
    }
    return report, reasons


def failure_message(report: dict[str, Any], report_path: Path) -> str:
    failing = [c for c in report["checks"] if not c["passed"]]
    failing.sort(key=lambda c: (c["level"] != "dataset", -c["failed_rows"]))
    worst = ", ".join(
        f"{c['name']} ({c['failed_rows']} rows)" if c["level"] == "row" else f"{c['name']}"
        for c in failing[:3]
    )
    if report["dataset_failures"]:
        why = f"dataset check(s) failed: {', '.join(report['dataset_failures'])}"
    else:
        why = (
            f"{report['bad_share']:.1%} of rows break a check "
            f"(quarantine.max_bad_share={report['max_bad_share']})"
        )
    return f"validation failed: {why}; worst: {worst}; see {report_path}"


def run(context: RunContext) -> dict[str, Path]:
    layout = context.layout
    frame = read_table(layout.raw)
    checks: list[tuple[str, CheckResult]] = [("bucle", target_check(frame, context.target))]
    for name, validator in context.host.active("validator").items():
        for check in validator.validate_data(frame=frame, target=context.target) or []:
            checks.append((name, check))
    max_bad_share = float(context.cfg.quarantine.max_bad_share)
    report, reasons = summarise(frame, checks, max_bad_share)

    bad = sorted(reasons)
    quarantined = frame.iloc[bad].copy()
    quarantined[REASON_COLUMN] = [";".join(reasons[position]) for position in bad]
    kept = frame.drop(frame.index[bad])
    assert len(kept) + len(quarantined) == len(frame)

    write_table(kept, layout.validated)
    write_table(quarantined, layout.quarantine)
    write_json(layout.validation_report, report)
    tracking.log_metrics(
        context,
        {
            "validate.rows_in": float(report["rows_in"]),
            "validate.rows_quarantined": float(report["rows_quarantined"]),
            "validate.bad_share": float(report["bad_share"]),
        },
    )
    if not report["passed"]:
        raise DataError(failure_message(report, layout.validation_report))
    return {
        "validated": layout.validated,
        "quarantine": layout.quarantine,
        "validation_report": layout.validation_report,
    }
