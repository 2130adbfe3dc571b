"""validate: run every validator, quarantine the rows that break a check, score, report, and gate.

Nothing is dropped silently: rows in = rows kept + rows quarantined, and each quarantined row
carries the checks it broke. Every check is filed under a data-quality dimension (accuracy,
completeness, consistency, timeliness) and scored as :mod:`framework.quality.score` defines. The
report goes to ``reports/validation.json`` for machines and ``reports/validation.html`` for
people; both are written before the gate, so a failed run can be read too. The stage fails past
``quarantine.max_bad_share``, when a dataset-level check fails, or when the overall score is below
``quarantine.min_score``, in one line naming the worst checks.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import ConfigError, DataError
from framework.files import write_json, write_text
from framework.pipeline import tracking
from framework.pipeline.context import RunContext
from framework.quality.report_html import render_validation_html
from framework.quality.score import (
    format_score,
    quality_metrics,
    score_dimensions,
    worst_first,
)
from framework.records import CheckResult
from framework.tables import read_table, write_table

if TYPE_CHECKING:
    import pandas as pd

REASON_COLUMN = "_quarantine_reason"
#: How many quarantined rows the HTML report shows; the parquet file holds them all.
SAMPLE_ROWS = 20


def target_check(frame: pd.DataFrame, target: str) -> CheckResult:
    """Rows without a label cannot train or evaluate a model: the framework always checks it."""
    if target not in frame.columns:
        # data.target changed since ingest (or raw.parquet is stale): say so, not a KeyError.
        columns = ", ".join(map(str, frame.columns))
        raise DataError(
            f"data.target='{target}' is not a column of the ingested table; run "
            f"`bucle stage ingest` again or fix data.target; columns: {columns}"
        )
    missing = tuple(int(i) for i in frame[target].isna().to_numpy().nonzero()[0])
    detail = f"{len(missing)} rows have no {target}" if missing else ""
    return CheckResult(
        f"{target}:label_present", not missing, target, missing, detail, dimension="completeness"
    )


def summarise(
    frame: pd.DataFrame,
    checks: list[tuple[str, CheckResult]],
    max_bad_share: float,
    min_score: float = 0.0,
) -> tuple[dict[str, Any], dict[int, list[str]]]:
    """The report and the reasons per bad row position."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for _validator, check in checks:
        if check.level == "row" and not check.passed:
            for position in dict.fromkeys(check.failed_rows):
                reasons[int(position)].append(check.name)
    rows_in = len(frame)
    bad_share = len(reasons) / rows_in if rows_in else 0.0
    dataset_failures = [c.name for _, c in checks if c.level == "dataset" and not c.passed]
    scores = score_dimensions(checks, rows_in)
    failures = []
    if dataset_failures:
        failures.append(f"dataset check(s) failed: {', '.join(dataset_failures)}")
    if bad_share > max_bad_share:
        failures.append(
            f"{bad_share:.1%} of rows break a check (quarantine.max_bad_share={max_bad_share})"
        )
    if scores["score"] is not None and scores["score"] < min_score:
        failures.append(
            f"quality score {format_score(scores['score'])} is below "
            f"quarantine.min_score={min_score} ({_dimension_scores(scores['dimensions'])})"
        )
    report = {
        "rows_in": rows_in,
        "rows_kept": rows_in - len(reasons),
        "rows_quarantined": len(reasons),
        "bad_share": bad_share,
        "max_bad_share": max_bad_share,
        "score": scores["score"],
        "min_score": min_score,
        "dimensions": scores["dimensions"],
        "dataset_failures": dataset_failures,
        "failures": failures,
        "passed": not failures,
        "checks": [{"validator": name, **check.to_dict()} for name, check in checks],
    }
    return report, reasons


def _dimension_scores(dimensions: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{name} {format_score(d['score'])}" for name, d in dimensions.items())


def failure_message(report: dict[str, Any], report_path: Path, html_path: Path) -> str:
    """One line: why the stage failed, the three worst checks and where the report is."""
    failing = [c for c in report["checks"] if not c["passed"]]
    failing.sort(key=worst_first)
    worst = ", ".join(
        f"{c['name']} ({c['failed_rows']} {'row' if c['failed_rows'] == 1 else 'rows'})"
        if c["level"] == "row"
        else c["name"]
        for c in failing[:3]
    )
    return (
        f"validation failed: {'; '.join(report['failures'])}; worst: {worst or 'none'}; "
        f"see {report_path} or open {html_path}"
    )


def _quality_options(context: RunContext) -> tuple[float, float]:
    quarantine = context.cfg.quarantine
    options = {"max_bad_share": quarantine.max_bad_share, "min_score": quarantine.min_score}
    for key, value in options.items():
        if not 0 <= float(value) <= 1:
            raise ConfigError(
                f"quarantine.{key}={value} is not allowed; set it to a number from 0 to 1"
            )
    return float(options["max_bad_share"]), float(options["min_score"])


def sample_records(quarantined: pd.DataFrame, limit: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """The first ``limit`` quarantined rows as plain values, the reason first, for the HTML."""
    import pandas as pd

    head = quarantined.head(limit)
    columns = [REASON_COLUMN, *(c for c in head.columns if c != REASON_COLUMN)]

    def plain(value: Any) -> Any:
        missing = pd.isna(value)
        return None if isinstance(missing, bool) and missing else value

    return [
        {str(column): plain(value) for column, value in row.items()}
        for row in head[columns].astype(object).to_dict(orient="records")
    ]


def split_rows(
    frame: pd.DataFrame, reasons: dict[int, list[str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, quarantined): one boolean mask by position splits every row into exactly one.

    Positions, not index labels: a table with repeated labels must not lose or duplicate rows.
    """
    import numpy as np

    bad = np.zeros(len(frame), dtype=bool)
    positions = sorted(reasons)
    bad[positions] = True
    quarantined = frame.iloc[positions].copy()
    quarantined[REASON_COLUMN] = [";".join(reasons[position]) for position in positions]
    return frame.iloc[np.flatnonzero(~bad)], quarantined


def run(context: RunContext) -> dict[str, Path]:
    layout = context.layout
    max_bad_share, min_score = _quality_options(context)
    frame = read_table(layout.raw)
    checks: list[tuple[str, CheckResult]] = [("bucle", target_check(frame, context.target))]
    for name, validator in context.host.active("validator").items():
        for check in validator.validate_data(frame=frame, target=context.target) or []:
            checks.append((name, check))
    report, reasons = summarise(frame, checks, max_bad_share, min_score)

    kept, quarantined = split_rows(frame, reasons)

    write_table(kept, layout.validated)
    write_table(quarantined, layout.quarantine)
    write_json(layout.validation_report, report)
    html = render_validation_html(
        report, sample_records(quarantined), title=f"Data quality: {context.project}"
    )
    write_text(layout.validation_html, html)
    tracking.log_metrics(context, quality_metrics(report))
    if not report["passed"]:
        raise DataError(failure_message(report, layout.validation_report, layout.validation_html))
    return {
        "validated": layout.validated,
        "quarantine": layout.quarantine,
        "validation_report": layout.validation_report,
        "validation_html": layout.validation_html,
    }
