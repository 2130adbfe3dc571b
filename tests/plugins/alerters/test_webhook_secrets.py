"""A webhook whose URL is its credential (a token in the path or the query) is never shown."""

from __future__ import annotations

import json
import logging

import pytest

from framework.httpclient import free_port
from plugins.alerters.webhook import WebhookAlerter

TOKEN = "xoxbHookToken1234567890"


@pytest.mark.parametrize(
    "path", [f"/services/T000/B000/{TOKEN}", f"/hooks/{TOKEN}", f"/notify?token={TOKEN}"]
)
def test_a_failing_webhook_never_shows_its_token(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{free_port()}{path}"  # nothing listens there
    alerter = WebhookAlerter(url=url, retries=1, backoff_seconds=0.01, timeout=1)
    with caplog.at_level(logging.WARNING, logger="bucle.alert"):
        outcome = alerter.send_alert(summary={"status": "drift"})
    assert outcome["delivered"] is False
    said = caplog.text + json.dumps(outcome)
    assert TOKEN not in said
    assert "127.0.0.1" in outcome["url"] and "***" in outcome["url"]
