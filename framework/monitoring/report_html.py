"""The monitoring report as one self-contained HTML page, plots included.

Plots are inline SVG drawn here (reference vs window bars per drifted column, metric trends as
lines): no script, font or stylesheet to fetch, so the page opens the same offline, as a CI
artifact or as an attachment. Every value from the data is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from framework.quality.report_html import PAGE_STYLE

EXTRA_STYLE = """
.ok { background: #1e7d3a; } .drift { background: #b3261e; } .warning { background: #d98b00; }
.skipped { background: #6b7385; } .error { background: #5c1a8a; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { font-size: .85rem; color: #4a5263; max-width: 30rem; }
"""
#: Series colours, in order: reference, window, others.
COLOURS = ("#8a94a8", "#2360c4", "#d98b00", "#1e7d3a")
#: Plots drawn per monitor, so a report with hundreds of drifted columns stays readable.
MAX_PLOTS = 12
WIDTH, HEIGHT, PAD = 460, 220, 34


def render_monitoring_html(report: Mapping[str, Any]) -> str:
    title = f"Monitoring: {report['model']} v{report['version']}"
    window = report["window"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{PAGE_STYLE}{EXTRA_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        f'<p><span class="verdict {_e(report["status"])}">{_e(report["status"])}</span> '
        f"{_e(window['rows'])} rows from {_e(window['start'])} to {_e(window['end'])}; "
        f"{_e(window['labelled_rows'])} with ground truth; reference of "
        f"{_e(window['reference_rows'])} training rows.</p>",
        "<table><tr><th>monitor</th><th>status</th><th>summary</th></tr>",
        *(
            f'<tr><td>{_e(m["monitor"])}</td><td><span class="verdict {_e(m["status"])}">'
            f"{_e(m['status'])}</span></td><td>{_e(m['summary'])}</td></tr>"
            for m in report["monitors"]
        ),
        "</table>",
    ]
    for monitor in report["monitors"]:
        parts += _monitor_section(monitor)
    if report.get("alerts"):
        parts += [
            "<h2>Alerts</h2>",
            "<table><tr><th>alerter</th><th>delivered</th><th>detail</th></tr>",
        ]
        for alert in report["alerts"]:
            detail = alert.get("error") or alert.get("url") or ""
            parts.append(
                f"<tr><td>{_e(alert['alerter'])}</td><td>{_e(alert.get('delivered'))}</td>"
                f"<td>{_e(detail)}</td></tr>"
            )
        parts.append("</table>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _monitor_section(monitor: Mapping[str, Any]) -> list[str]:
    parts = [f"<h2>{_e(monitor['monitor'])}</h2>", f"<p>{_e(monitor['summary'])}</p>"]
    if monitor.get("metrics"):
        parts.append("<table>")
        parts += [
            f'<tr><th>{_e(k)}</th><td class="num">{_value(v)}</td></tr>'
            for k, v in monitor["metrics"].items()
        ]
        parts.append("</table>")
    details = monitor.get("details") or []
    if details:
        columns = list(dict.fromkeys(key for row in details for key in row if key != "plot"))
        parts.append('<div class="scroll"><table><tr>')
        parts += [f"<th>{_e(c)}</th>" for c in columns]
        parts.append("</tr>")
        for row in details:
            cells = "".join(f"<td>{_value(row.get(c))}</td>" for c in columns)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table></div>")
    plots = monitor.get("plots") or []
    if plots:
        parts.append('<div class="plots">')
        parts += [_figure(plot) for plot in plots[:MAX_PLOTS]]
        parts.append("</div>")
        if len(plots) > MAX_PLOTS:
            parts.append(f"<p>{len(plots) - MAX_PLOTS} more plots are in the JSON report.</p>")
    return parts


def _figure(plot: Mapping[str, Any]) -> str:
    svg = _bars(plot) if plot["kind"] == "bars" else _lines(plot)
    legend = " ".join(
        f'<span style="color:{COLOURS[i % len(COLOURS)]}">■ {_e(name)}</span>'
        for i, name in enumerate(plot["series"])
    )
    return f"<figure>{svg}<figcaption>{_e(plot['title'])} {legend}</figcaption></figure>"


def _numbers(plot: Mapping[str, Any]) -> list[float]:
    return [
        float(v)
        for values in plot["series"].values()
        for v in values
        if v is not None and math.isfinite(float(v))
    ]


def _bars(plot: Mapping[str, Any]) -> str:
    labels: Sequence[str] = plot["labels"]
    series = list(plot["series"].items())
    top = max(_numbers(plot), default=0.0) or 1.0
    slots = max(len(labels), 1)
    slot = (WIDTH - 2 * PAD) / slots
    bar = slot * 0.8 / max(len(series), 1)
    shapes = [_axes(top)]
    for index, label in enumerate(labels):
        x0 = PAD + index * slot + slot * 0.1
        for s, (_, values) in enumerate(series):
            value = values[index] if index < len(values) else None
            if value is None or not math.isfinite(float(value)):
                continue
            height = (HEIGHT - 2 * PAD) * float(value) / top
            shapes.append(
                f'<rect x="{x0 + s * bar:.1f}" y="{HEIGHT - PAD - height:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}" fill="{COLOURS[s % len(COLOURS)]}">'
                f"<title>{_e(label)}: {_value(value)}</title></rect>"
            )
        if slots <= 12:
            shapes.append(
                f'<text x="{x0 + slot * 0.4:.1f}" y="{HEIGHT - PAD + 12}" font-size="9" '
                f'text-anchor="middle">{_e(str(label)[:10])}</text>'
            )
    return _svg(shapes)


def _lines(plot: Mapping[str, Any]) -> str:
    labels: Sequence[str] = plot["labels"]
    numbers = _numbers(plot)
    low, high = min(numbers, default=0.0), max(numbers, default=1.0)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    step = (WIDTH - 2 * PAD) / max(len(labels) - 1, 1)
    shapes = [_axes(high, low)]
    for s, (_, values) in enumerate(plot["series"].items()):
        points = [
            f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * (float(v) - low) / (high - low):.1f}"  # noqa: E501
            for i, v in enumerate(values)
            if v is not None and math.isfinite(float(v))
        ]
        if points:
            shapes.append(
                f'<polyline fill="none" stroke="{COLOURS[s % len(COLOURS)]}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
    if labels:
        shapes.append(
            f'<text x="{PAD}" y="{HEIGHT - PAD + 12}" font-size="9">{_e(labels[0])}</text>'
            f'<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 12}" font-size="9" '
            f'text-anchor="end">{_e(labels[-1])}</text>'
        )
    return _svg(shapes)


def _axes(top: float, bottom: float = 0.0) -> str:
    return (
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#6b7385"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#6b7385"/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" font-size="9" text-anchor="end">{top:.3g}</text>'
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" font-size="9" text-anchor="end">'
        f"{bottom:.3g}</text>"
    )


def _svg(shapes: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">{"".join(shapes)}</svg>'
    )


def _value(value: Any) -> str:
    if value is None:
        return '<span class="none">n/a</span>'
    if isinstance(value, bool):
        return _e("yes" if value else "no")
    if isinstance(value, float):
        return _e(f"{value:.4g}")
    if isinstance(value, list | tuple):
        return _e(", ".join(str(v) for v in value[:8]) + (" …" if len(value) > 8 else ""))
    return _e(value)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
