"""The built-in alerters against real endpoints: a local HTTP server that records what it is
sent (or fails on purpose), and a closed port that refuses every connection."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from framework.errors import ConfigError
from framework.httpclient import free_port
from framework.testing import AlerterContract, RemoteAlerterContract
from framework.testing.alerter import SUMMARY
from framework.urls import masked
from plugins.alerters.log import LogAlerter
from plugins.alerters.webhook import WebhookAlerter


class Endpoint:
    """A real HTTP server on a free loopback port; answers ``statuses`` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.statuses = list(statuses or [])
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append(json.loads(body))
                endpoint.headers.append(dict(self.headers))
                status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Endpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with Endpoint() as running:
        yield running


def test_webhook_posts_the_summary_as_json(endpoint: Endpoint) -> None:
    alerter = WebhookAlerter(url=endpoint.url, headers={"Authorization": "Bearer s3cret"})

    outcome = alerter.send_alert(summary=SUMMARY)

    assert outcome == {"delivered": True, "attempts": 1, "url": endpoint.url}
    assert endpoint.received == [SUMMARY]
    assert endpoint.headers[0]["Authorization"] == "Bearer s3cret"
    assert endpoint.headers[0]["Content-Type"] == "application/json"


def test_webhook_retries_a_failing_endpoint_until_it_answers() -> None:
    with Endpoint(statuses=[503, 500]) as flaky:
        alerter = WebhookAlerter(url=flaky.url, retries=3, backoff_seconds=0.01)
        outcome = alerter.send_alert(summary=SUMMARY)
    assert outcome["delivered"] is True and outcome["attempts"] == 3
    assert len(flaky.received) == 3


def test_a_down_endpoint_is_retried_then_reported_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://user:hunter2@127.0.0.1:{free_port()}/hook"  # nothing listens there
    alerter = WebhookAlerter(
        url=url, retries=2, backoff_seconds=0.01, timeout=1, headers={"X-Token": "tok-123"}
    )
    with caplog.at_level(logging.WARNING, logger="bucle.alert"):
        outcome = alerter.send_alert(summary=SUMMARY)
    assert outcome["delivered"] is False and outcome["attempts"] == 3
    assert "Connection refused" in outcome["error"] or "URLError" in outcome["error"]
    said = caplog.text + json.dumps(outcome)
    assert "hunter2" not in said and "tok-123" not in said  # credentials never shown
    assert outcome["url"] == masked(url) and "***" in outcome["url"]


def test_an_endpoint_that_keeps_failing_is_reported_with_its_status() -> None:
    with Endpoint(statuses=[500] * 5) as broken:
        outcome = WebhookAlerter(url=broken.url, retries=1, backoff_seconds=0).send_alert(
            summary=SUMMARY
        )
    assert outcome == {
        "delivered": False,
        "attempts": 2,
        "url": broken.url,
        "error": "HTTP 500 Internal Server Error",
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "ftp://example.invalid/x"}, "is not an http(s) URL"),
        ({"url": "http://a:pw@"}, "is not an http(s) URL"),
        ({"url": "http://127.0.0.1/x", "timeout": 0}, "timeout must be positive"),
        ({"url": "http://127.0.0.1/x", "retries": -1}, "retries and backoff_seconds"),
    ],
)
def test_webhook_config_mistakes_are_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=r"alert\.webhook") as error:
        WebhookAlerter(**options)
    assert message in str(error.value) and "pw" not in str(error.value)


def test_log_alerter_writes_the_report_and_each_finding(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bucle.alert"):
        outcome = LogAlerter(level="info").send_alert(summary=SUMMARY)
    assert outcome == {"delivered": True}
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0].startswith("churn v3: drift over 1200 rows")
    assert lines[1] == "  drift: drift — 7 of 13 columns drifted"
    assert len(lines) == 2  # quality was ok: not an alert line
    with pytest.raises(ConfigError, match=r"alert\.log\.level='loud'"):
        LogAlerter(level="loud")


class TestLogAlerterContract(AlerterContract):
    @pytest.fixture
    def plugin(self) -> LogAlerter:
        return LogAlerter(level="info")


class TestWebhookAlerterContract(RemoteAlerterContract):
    @pytest.fixture
    def plugin(self, endpoint: Endpoint) -> WebhookAlerter:
        return WebhookAlerter(url=endpoint.url)

    @pytest.fixture
    def unreachable(self) -> WebhookAlerter:
        return WebhookAlerter(url=f"http://127.0.0.1:{free_port()}/hook", backoff_seconds=0.01)
