"""The ``webhook`` alerter: an HTTP POST of the report summary as JSON, retried, never fatal.

A chat service, an incident tool or a workflow engine takes a JSON POST; this is the one
integration they all share. A failed delivery (refused connection, timeout, a non-2xx answer) is
retried ``retries`` times with exponential backoff and then reported as undelivered: the
monitor's report records it and the monitor itself still succeeds, because a down alerting
endpoint must not hide the report.

Headers may carry credentials (``Authorization``); they are sent but never logged or returned,
and a URL's ``user:password@`` part is masked wherever the URL is shown.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from framework import hookimpl
from framework.errors import ConfigError
from framework.secrets import masked_value
from framework.urls import masked

logger = logging.getLogger("bucle.alert")


class WebhookAlerter:
    """POST the summary to ``url``; retry with backoff; report, never raise, on failure."""

    def __init__(
        self,
        url: str,
        timeout: float = 5.0,
        retries: int = 3,
        backoff_seconds: float = 1.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"alert.webhook.url={masked(str(url))!r} is not an http(s) URL; "
                "set alert.webhook.url=https://host/path"
            )
        if float(timeout) <= 0 or int(retries) < 0 or float(backoff_seconds) < 0:
            raise ConfigError(
                "alert.webhook: timeout must be positive, retries and backoff_seconds at least 0 "
                f"(got timeout={timeout}, retries={retries}, backoff_seconds={backoff_seconds})"
            )
        self.url = str(url)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff_seconds = float(backoff_seconds)
        self.headers = {str(k): str(v) for k, v in dict(headers or {}).items()}

    @hookimpl
    def send_alert(self, summary: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(summary, default=str).encode()
        error = ""
        for attempt in range(1, self.retries + 2):
            error = masked_value(self._post(body))  # a library's words may quote the URL
            if not error:
                return {"delivered": True, "attempts": attempt, "url": masked(self.url)}
            logger.warning(
                "webhook %s, attempt %d of %d: %s",
                masked(self.url),
                attempt,
                self.retries + 1,
                error,
            )
            if attempt <= self.retries:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        return {
            "delivered": False,
            "attempts": self.retries + 1,
            "url": masked(self.url),
            "error": error,
        }

    def _post(self, body: bytes) -> str:
        """Send once; the failure in words, or "" when the endpoint took it (2xx)."""
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **self.headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
                return ""
        except urllib.error.HTTPError as failure:
            return f"HTTP {failure.code} {failure.reason}"
        except (OSError, ValueError) as failure:
            reason = getattr(failure, "reason", None) or failure
            return f"{type(failure).__name__}: {reason}"
