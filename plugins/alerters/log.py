"""The ``log`` alerter: a report's summary as log lines, the alert every project has.

One line for the report and one per monitor that found something, on the ``bucle.alert``
logger at the configured level, so whatever collects the process's logs (a terminal, journald,
a CI job's output) carries the alert without any service to run.
"""

from __future__ import annotations

import logging
from typing import Any

from framework import hookimpl
from framework.errors import ConfigError

logger = logging.getLogger("bucle.alert")

LEVELS = ("debug", "info", "warning", "error", "critical")


class LogAlerter:
    """Write the summary to the ``bucle.alert`` logger."""

    def __init__(self, level: str = "warning") -> None:
        if str(level).lower() not in LEVELS:
            raise ConfigError(f"alert.log.level={level!r} is not a log level; use one of {LEVELS}")
        self.level = getattr(logging, str(level).upper())

    @hookimpl
    def send_alert(self, summary: dict[str, Any]) -> dict[str, Any]:
        logger.log(
            self.level,
            "%s v%s: %s over %s rows (%s to %s); report %s",
            summary.get("model"),
            summary.get("version"),
            summary.get("status"),
            summary.get("rows"),
            summary.get("start"),
            summary.get("end"),
            summary.get("html"),
        )
        for monitor in summary.get("monitors", []):
            if monitor.get("status") in ("warning", "drift"):
                logger.log(
                    self.level,
                    "  %s: %s — %s",
                    monitor["monitor"],
                    monitor["status"],
                    monitor["summary"],
                )
        return {"delivered": True}
