"""``bucle monitor`` end to end: a real server, traffic from the churn source (clean, with
input drift, with concept drift) and ground truth through ``bucle traffic``, then the report,
the exit code and the alerts a real local HTTP endpoint receives."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from framework.monitoring.collect import window_start
from tests.conftest import run_command
from tests.framework.serving.conftest import Server, promote, token_env
from tests.plugins.alerters.test_alerters import Endpoint

pytestmark = pytest.mark.slow

TRAFFIC = ["data.n_rows=1200", "data.invalid_share=0"]


def send(project: Path, server: Server, drift: str, seed: int, feedback: float = 1.0) -> None:
    run_command(
        [
            "bucle",
            "traffic",
            "--url",
            server.base,
            "--seed",
            str(seed),
            "--feedback",
            str(feedback),
            f"data.drift={drift}",
            *TRAFFIC,
        ],
        project,
        env=token_env(server.token),  # the labels go in with the server's write token
    )


def monitor(project: Path, server: Server, *arguments: str) -> tuple[int, dict[str, Any], str]:
    result = run_command(
        ["bucle", "monitor", "--url", server.base, "--last", "1200", *arguments],
        project,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    path = re.search(r"^json: (.+)$", result.stdout, re.M).group(1)
    return result.returncode, json.loads((project / path).read_text()), result.stdout


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["monitor"]: m for m in report["monitors"]}


@pytest.fixture
def served(project_copy: Path, start_server: Any) -> Server:
    promote(project_copy, 1)
    return start_server(project_copy, "serve.flush_seconds=0.5")


def test_clean_traffic_raises_no_alarm_and_writes_both_reports(
    project_copy: Path, served: Server
) -> None:
    send(project_copy, served, "none", seed=11)

    code, report, stdout = monitor(project_copy, served, "--fail-on-drift")

    assert code == 0, stdout
    assert report["status"] == "ok"
    monitors = by_name(report)
    assert set(monitors) == {"drift", "quality", "performance", "service"}
    assert all(m["status"] == "ok" for m in monitors.values()), stdout
    assert report["window"]["rows"] == 1200 and report["window"]["labelled_rows"] == 1200
    assert monitors["service"]["metrics"]["answered"] >= 24
    assert report["alerts"] == []  # log alerts only on findings
    page = Path(project_copy / report["paths"]["html"]).read_text()
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "churn v1" in page and "performance" in page


def test_input_drift_is_found_named_plotted_and_alerted(project_copy: Path, served: Server) -> None:
    send(project_copy, served, "input", seed=12)

    with Endpoint() as hook:
        code, report, stdout = monitor(
            project_copy,
            served,
            "--fail-on-drift",
            "alert=[log,webhook]",
            f"alert.webhook.url={hook.url}",
            "alert.webhook.retries=0",
        )

    assert code == 1, stdout
    assert report["status"] == "drift"
    drift = by_name(report)["drift"]
    assert drift["status"] == "drift"
    drifted = set(drift["metrics"]["drifted_columns"])
    assert {"monthly_charges", "age", "support_tickets"} <= drifted
    assert "region" not in drifted and "plan" not in drifted
    assert drift["plots"] and all(plot["kind"] == "bars" for plot in drift["plots"])
    assert by_name(report)["quality"]["status"] == "warning"  # charges beyond training's range
    page = Path(project_copy / report["paths"]["html"]).read_text()
    assert page.count("<svg") >= 3
    assert [alert["alerter"] for alert in report["alerts"]] == ["log", "webhook"]
    assert all(alert["delivered"] for alert in report["alerts"])
    (summary,) = hook.received
    assert summary["status"] == "drift" and summary["version"] == 1
    assert summary["html"] == report["paths"]["html"]


def test_concept_drift_shows_in_performance_not_in_inputs(
    project_copy: Path, served: Server
) -> None:
    send(project_copy, served, "concept", seed=13)

    code, report, stdout = monitor(project_copy, served, "--fail-on-drift")

    assert code == 1, stdout
    monitors = by_name(report)
    assert monitors["drift"]["metrics"]["dataset_drift"] is False
    assert monitors["performance"]["status"] == "drift"
    assert "concept drift" in monitors["performance"]["summary"]
    drops = {d["metric"]: d["drop"] for d in monitors["performance"]["details"]}
    assert drops["roc_auc"] > 0.1


def test_a_down_webhook_is_reported_and_the_monitor_still_succeeds(
    project_copy: Path, served: Server
) -> None:
    from framework.httpclient import free_port

    send(project_copy, served, "input", seed=14, feedback=0.0)

    code, report, stdout = monitor(
        project_copy,
        served,
        "alert=[webhook]",
        f"alert.webhook.url=http://127.0.0.1:{free_port()}/down",
        "alert.webhook.retries=1",
        "alert.webhook.backoff_seconds=0",
    )

    assert code == 0  # no --fail-on-drift: findings alone do not fail the command
    (alert,) = report["alerts"]
    assert alert["delivered"] is False and alert["attempts"] == 2
    assert "NOT delivered" in stdout
    assert by_name(report)["performance"]["status"] == "skipped"  # no labels came back


def test_monitor_mistakes_are_one_line_errors(project_copy: Path, run: Any) -> None:
    nothing = run(["bucle", "monitor"], project_copy, check=False)
    assert "promote one with `bucle models promote" in nothing.stderr
    promote(project_copy, 1)
    since = run(["bucle", "monitor", "--since", "yesterday"], project_copy, check=False)
    assert "--since 'yesterday' is neither a moment" in since.stderr
    wrong = run(["bucle", "monitor", "monitor.drift.p_value=2"], project_copy, check=False)
    assert "monitor.drift" in wrong.stderr and "p_value=2.0" in wrong.stderr
    send_on = run(["bucle", "monitor", "alert.log.send_on=sometimes"], project_copy, check=False)
    assert "alert.log.send_on='sometimes' must be one of" in send_on.stderr
    from framework.httpclient import free_port

    down = run(
        ["bucle", "traffic", "--url", f"http://127.0.0.1:{free_port()}", "data.n_rows=10"],
        project_copy,
        check=False,
    )
    assert "does not answer" in down.stderr
    for result in (nothing, since, wrong, send_on, down):
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_empty_window_is_reported_not_crashed(project_copy: Path, run: Any) -> None:
    promote(project_copy, 1)
    result = run(["bucle", "monitor", "--since", "1h"], project_copy)
    assert "churn v1: skipped — 0 rows" in result.stdout
    assert "service: skipped — no running server" in result.stdout


def test_since_reads_moments_and_durations() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert window_start("6h", now) == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert window_start("2w", now) == datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    assert window_start("2026-11-30T08:00", now) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert window_start(None, now) is None
