"""The monitoring report: one JSON document for machines, one HTML page for people.

The JSON holds everything (each monitor's verdict, figures, per-column details and plot data)
and the HTML is rendered from it alone, so the page never says what the JSON does not. Both are
written atomically under ``<paths.state>/monitoring/`` with a timestamped name, so reports
accumulate as a history and a retrain can name the one that triggered it by path and sha256.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framework.files import write_json, write_text
from framework.monitoring.window import SEVERITY, MonitorResult, MonitorWindow

REPORTS = "monitoring"


def overall_status(results: list[MonitorResult]) -> str:
    """The worst status among the monitors (``skipped`` only when every one skipped)."""
    if not results:
        return "skipped"
    return max((result.status for result in results), key=SEVERITY.__getitem__)


def build_report(window: MonitorWindow, results: list[MonitorResult]) -> dict[str, Any]:
    version = window.model
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": version.name,
        "version": int(version.version),
        "sha256": version.sha256,
        "profile_sha256": (version.lineage or {}).get("profile_sha256"),
        "window": {
            "start": window.start,
            "end": window.end,
            "rows": len(window.inputs),
            "unreadable_rows": window.unreadable,
            "labelled_rows": int(window.labels.notna().sum()),
            "reference_rows": window.profile.rows,
        },
        "status": overall_status(results),
        "monitors": [result.to_dict() for result in results],
        "alerts": [],
    }


def summary_of(report: dict[str, Any]) -> dict[str, Any]:
    """What alerters receive: the verdicts without the per-column details and plots."""
    return {
        "model": report["model"],
        "version": report["version"],
        "status": report["status"],
        "rows": report["window"]["rows"],
        "start": report["window"]["start"],
        "end": report["window"]["end"],
        "monitors": [
            {"monitor": m["monitor"], "status": m["status"], "summary": m["summary"]}
            for m in report["monitors"]
        ],
        "json": report.get("paths", {}).get("json"),
        "html": report.get("paths", {}).get("html"),
    }


def report_paths(state_dir: Path | str, output: Path | str | None = None) -> tuple[Path, Path]:
    """``report-<UTC time>.json`` and ``.html`` under ``output`` or ``<state>/monitoring``."""
    directory = Path(output) if output else Path(state_dir) / REPORTS
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return directory / f"report-{stamp}.json", directory / f"report-{stamp}.html"


def write_report(report: dict[str, Any], json_path: Path, html_path: Path) -> None:
    from framework.monitoring.report_html import render_monitoring_html

    report["paths"] = {"json": str(json_path), "html": str(html_path)}
    write_text(html_path, render_monitoring_html(report))
    write_json(json_path, report)


def latest_report(state_dir: Path | str) -> Path | None:
    """The newest JSON report under ``<state>/monitoring``, if any."""
    found = sorted((Path(state_dir) / REPORTS).glob("report-*.json"))
    return found[-1] if found else None
