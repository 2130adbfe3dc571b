"""``bucle monitor``: judge a window of production traffic, write the report, send alerts.

Every monitor of the ``monitor`` config group reads the same window
(:mod:`framework.monitoring.collect`); their verdicts make one report, written as JSON and HTML
under ``<paths.state>/monitoring/`` (or ``--output``). Alerters of the ``alert`` group get the
summary when the report has findings (each alerter's ``send_on``); a delivery that fails is
recorded in the report and never fails the command. ``--fail-on-drift`` makes the exit code 1
when any monitor found drift, for schedulers and CI.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from framework.errors import ConfigError

logger = logging.getLogger("bucle.monitor")

#: ``send_on`` values: which report statuses an alerter is sent.
SEND_ON = {
    "findings": ("warning", "drift", "error"),
    "drift": ("drift", "error"),
    "always": ("ok", "warning", "drift", "skipped", "error"),
}


def monitor(
    overrides: Sequence[str] = (),
    since: str | None = None,
    last: int | None = None,
    fail_on_drift: bool = False,
    url: str | None = None,
    output: str | None = None,
) -> int:
    from framework.commands.serve import command_config
    from framework.hooks.host import build_host
    from framework.monitoring.collect import collect_window
    from framework.monitoring.report import build_report, report_paths, write_report

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = with_builtin_defaults(command_config(overrides))
    alert_rules = send_rules(cfg)
    host = build_host(cfg, ["registry", "store", "deployer", "monitor", "alerter", "hooks"])
    monitors = host.active("monitor")
    window = collect_window(cfg, host, since, last, service_metrics(host.hook, url))
    results = [run_monitor(name, plugin, window) for name, plugin in monitors.items()]
    report = build_report(window, results)
    json_path, html_path = report_paths(str(cfg.paths.state), output)
    report["paths"] = {"json": str(json_path), "html": str(html_path)}
    report["alerts"] = send_alerts(host.active("alerter"), alert_rules, report)
    write_report(report, json_path, html_path)
    host.hook.on_monitor_report(report=report)
    print_report(report)
    # An error (a statistic that is NaN or infinite) can hide drift: it fails the run too.
    return 1 if fail_on_drift and report["status"] in ("drift", "error") else 0


def with_builtin_defaults(cfg: Any) -> Any:
    """A project whose conf/ has no ``monitor`` (or ``alert``) group gets the built-in monitors
    (alerter) with their default thresholds, as one without a ``deploy`` group gets the local
    deployer: monitoring works before anyone has tuned it."""
    from omegaconf import open_dict

    with open_dict(cfg):
        if not cfg.get("monitor"):
            logger.info("no monitor configured: using drift, quality, performance, service")
            cfg.monitor = {name: {} for name in ("drift", "quality", "performance", "service")}
        if not cfg.get("alert"):
            cfg.alert = {"log": {}}
    return cfg


def send_rules(cfg: Any) -> dict[str, tuple[str, ...]]:
    """Each configured alerter's ``send_on``, checked before anything runs."""
    rules = {}
    for name, options in dict(cfg.get("alert") or {}).items():
        value = str((options or {}).get("send_on", "findings"))
        if value not in SEND_ON:
            raise ConfigError(f"alert.{name}.send_on={value!r} must be one of {', '.join(SEND_ON)}")
        rules[name] = SEND_ON[value]
    return rules


def service_metrics(hook: Any, url: str | None) -> str | None:
    """The production server's Prometheus text: ``--url``, else the deployer's running one."""
    from framework.httpclient import get_text

    if url is None:
        try:
            status = hook.deployment_status()
        except Exception as error:  # a broken deployment record must not stop monitoring
            logger.warning("cannot read the deployment record: %s", error)
            return None
        if not (status and status.get("alive") and status.get("url")):
            return None
        url = str(status["url"])
    return get_text(url.rstrip("/") + "/metrics")


def run_monitor(name: str, plugin: Any, window: Any) -> Any:
    """One monitor's result; a monitor that crashes is reported as skipped with the error."""
    from framework.monitoring.window import MonitorResult

    try:
        result = plugin.check_window(window=window)
    except Exception as error:
        logger.exception("monitor %s failed", name)
        return MonitorResult(name, "skipped", f"failed: {type(error).__name__}: {error}")
    if result is None:
        return MonitorResult(name, "skipped", "the monitor returned nothing")
    return refuse_non_finite(result)


def refuse_non_finite(result: Any) -> Any:
    """A result that says ``ok`` while one of its figures is NaN or infinite becomes ``error``:
    such a figure judges nothing, and ``ok`` would hide whatever the window holds."""
    import math

    if result.status != "ok":
        return result
    broken = [
        f"{key} {value}"
        for key, value in (result.metrics or {}).items()
        if isinstance(value, float) and not math.isfinite(value)
    ]
    if not broken:
        return result
    result.status = "error"
    result.summary = f"{', '.join(broken)} is not finite, so the window cannot be judged"
    result.metrics = {
        key: str(value) if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in result.metrics.items()
    }
    return result


def send_alerts(
    alerters: dict[str, Any], rules: dict[str, tuple[str, ...]], report: dict[str, Any]
) -> list[dict[str, Any]]:
    """Send the summary to each alerter whose ``send_on`` matches; record what happened."""
    from framework.monitoring.report import summary_of

    summary = summary_of(report)
    sent = []
    for name, alerter in alerters.items():
        if report["status"] not in rules.get(name, SEND_ON["findings"]):
            continue
        try:
            outcome = alerter.send_alert(summary=summary) or {"delivered": True}
        except Exception as error:
            outcome = {"delivered": False, "error": f"{type(error).__name__}: {error}"}
        sent.append({"alerter": name, **outcome})
        if not outcome.get("delivered"):
            logger.warning("alert %s was not delivered: %s", name, outcome.get("error"))
    return sent


def print_report(report: dict[str, Any]) -> None:
    window = report["window"]
    print(
        f"{report['model']} v{report['version']}: {report['status']} — {window['rows']} rows "
        f"from {window['start']} to {window['end']}"
    )
    for result in report["monitors"]:
        print(f"  {result['monitor']}: {result['status']} — {result['summary']}")
    for alert in report["alerts"]:
        said = "sent" if alert.get("delivered") else f"NOT delivered ({alert.get('error')})"
        print(f"  alert {alert['alerter']}: {said}")
    print(f"report: {report['paths']['html']}")
    print(f"json: {report['paths']['json']}")
