"""The retraining journal: every retraining with its facts, and which triggers it consumed.

``<paths.state>/retrain/retrains.json`` holds the last 50 retrainings. A trigger is consumed once
per (monitor report, production version): ``bucle retrain --if-needed`` run again on the same
report while the same version serves (a scheduler's retry, a second cron tick before the next
monitor run) finds the earlier record and does nothing, whatever that retraining's outcome. A
retraining that failed with an error did not act, so a retry may try again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from framework.errors import BucleError

JOURNAL = "retrains.json"
KEPT = 50


def journal_path(state: Path) -> Path:
    return Path(state) / "retrain" / JOURNAL


def read_records(state: Path) -> list[dict[str, Any]]:
    """Every recorded retraining, oldest first; a damaged journal is a one-line error."""
    from framework.files import read_json

    path = journal_path(state)
    records = read_json(path, "move the retraining journal aside to start a new one") or []
    if not isinstance(records, list):
        raise BucleError(f"the retraining journal {path} is not a list; move it aside")
    return records


def append_record(state: Path, record: dict[str, Any]) -> None:
    from framework.files import write_json

    records = read_records(state)
    write_json(journal_path(state), [*records[-(KEPT - 1) :], record])


def acted_on(
    state: Path, report_sha256: str | None, production_version: int
) -> dict[str, Any] | None:
    """The retraining that already consumed this report for this production version, if any."""
    for record in reversed(read_records(state)):
        if (
            record.get("report_sha256") == report_sha256
            and record.get("production_before") == production_version
            and not str(record.get("outcome", "")).startswith("failed")
        ):
            return record
    return None
