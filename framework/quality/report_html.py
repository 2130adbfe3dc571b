"""The validation report as one self-contained HTML page a person can open offline.

Everything is in the file: styles are inline, bars are plain ``div`` widths, there are no
scripts, fonts or links to fetch, so the page reads the same from a laptop, a CI artifact or an
email attachment. Every value that comes from the data or a validator is HTML-escaped: a
quarantined row holding ``<script>`` must show as text, never run.

The page is built from the JSON report alone (plus a sample of quarantined rows), so it never
says anything the machine-readable report does not.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from framework.quality.score import format_score

PAGE_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2433;
       margin: 0 auto; max-width: 72rem; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #d8dde6; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #d8dde6; padding: .3rem .6rem; text-align: left;
         vertical-align: top; }
th { background: #f2f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { display: inline-block; padding: .2rem .8rem; border-radius: .3rem; color: #fff;
           font-weight: 600; }
.passed { background: #1e7d3a; }
.failed { background: #b3261e; }
.bar { width: 16rem; height: .9rem; background: #e6e9ef; border-radius: .2rem; }
.bar > div { height: 100%; border-radius: .2rem; }
.good { background: #2e9e4f; }
.warn { background: #d98b00; }
.none { color: #6b7385; font-style: italic; }
.scroll { overflow-x: auto; }
code { background: #f2f4f8; padding: 0 .2rem; }
"""


def render_validation_html(
    report: Mapping[str, Any], sample: Sequence[Mapping[str, Any]], title: str = "Data quality"
) -> str:
    """The whole page: verdict, scores per dimension, failing checks, a quarantine sample.

    :param report: the validate stage's JSON report (``reports/validation.json``).
    :param sample: the first quarantined rows as column -> value, ``_quarantine_reason`` first.
    :param title: the page's heading, e.g. ``"Data quality: churn"``.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{PAGE_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        *_verdict(report),
        *_summary(report),
        *_dimension_overview(report),
        *_dimension_sections(report),
        *_quarantine_sample(report, sample),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _verdict(report: Mapping[str, Any]) -> list[str]:
    passed = bool(report.get("passed"))
    word, css = ("PASSED", "passed") if passed else ("FAILED", "failed")
    lines = [f'<p><span class="verdict {css}">{word}</span></p>']
    failures = report.get("failures") or []
    if failures:
        lines.append("<ul>")
        lines.extend(f"<li>{_e(reason)}</li>" for reason in failures)
        lines.append("</ul>")
    return lines


def _summary(report: Mapping[str, Any]) -> list[str]:
    rows = [
        ("rows in", _count(report.get("rows_in"))),
        ("rows kept", _count(report.get("rows_kept"))),
        (
            "rows quarantined",
            f"{_count(report.get('rows_quarantined'))} ({_share(report.get('bad_share'))}; "
            f"at most {_share(report.get('max_bad_share'))} allowed)",
        ),
        (
            "overall score",
            f"{_score(report.get('score'))} (at least {_score(report.get('min_score'))} required)",
        ),
    ]
    body = "".join(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in rows)
    return ["<h2>Summary</h2>", f"<table>{body}</table>"]


def _dimension_overview(report: Mapping[str, Any]) -> list[str]:
    rows = []
    for name, dimension in (report.get("dimensions") or {}).items():
        score = dimension.get("score")
        rows.append(
            "<tr>"
            f'<th><a href="#{_e(name)}">{_e(name)}</a></th>'
            f"<td>{_bar(score, int(dimension.get('failed', 0)))}</td>"
            f'<td class="num">{_e(_score(score))}</td>'
            f'<td class="num">{_e(dimension.get("checks", 0))}</td>'
            f'<td class="num">{_e(dimension.get("failed", 0))}</td>'
            "</tr>"
        )
    head = "<tr><th>dimension</th><th></th><th>score</th><th>checks</th><th>failed</th></tr>"
    note = (
        "<p>A row check scores the share of rows that pass it, a dataset check 1 or 0; a "
        "dimension scores the mean of its checks (none: no check measured it) and the overall "
        "score the mean of the measured dimensions.</p>"
    )
    return ["<h2>Scores by dimension</h2>", f"<table>{head}{''.join(rows)}</table>", note]


def _dimension_sections(report: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    checks = report.get("checks") or []
    for name, dimension in (report.get("dimensions") or {}).items():
        lines.append(f'<h2 id="{_e(name)}">{_e(name)}: {_e(_score(dimension.get("score")))}</h2>')
        failing = dimension.get("failing_checks") or []
        mine = [check for check in checks if check.get("dimension") == name]
        if not mine:
            lines.append('<p class="none">No check measured this dimension.</p>')
            continue
        if failing:
            lines.append(f"<p>{len(failing)} of {len(mine)} checks failed:</p>")
            lines.append(_checks_table(failing))
        else:
            lines.append(f"<p>All {len(mine)} checks passed.</p>")
        lines.append(f"<details><summary>every {_e(name)} check</summary>")
        lines.append(_checks_table(mine))
        lines.append("</details>")
    return lines


def _checks_table(checks: Iterable[Mapping[str, Any]]) -> str:
    head = (
        "<tr><th>check</th><th>result</th><th>column</th><th>level</th>"
        "<th>failed rows</th><th>detail</th><th>validator</th></tr>"
    )
    rows = [
        "<tr>"
        f"<td><code>{_e(check.get('name'))}</code></td>"
        f"<td>{'passed' if check.get('passed') else 'failed'}</td>"
        f"<td>{_e(check.get('column') or '')}</td>"
        f"<td>{_e(check.get('level'))}</td>"
        f'<td class="num">{_e(check.get("failed_rows", 0) if check.get("level") == "row" else "")}'
        "</td>"
        f"<td>{_e(check.get('detail') or '')}</td>"
        f"<td>{_e(check.get('validator') or '')}</td>"
        "</tr>"
        for check in checks
    ]
    return f'<div class="scroll"><table>{head}{"".join(rows)}</table></div>'


def _quarantine_sample(report: Mapping[str, Any], sample: Sequence[Mapping[str, Any]]) -> list[str]:
    total = int(report.get("rows_quarantined") or 0)
    lines = ["<h2>Quarantined rows</h2>"]
    if not total:
        lines.append('<p class="none">No row was quarantined.</p>')
        return lines
    lines.append(
        f"<p>The first {len(sample)} of {total} quarantined rows, with the checks each broke; "
        "all of them are in <code>data/quarantine.parquet</code>.</p>"
    )
    columns: list[str] = []
    for row in sample:
        columns.extend(column for column in row if column not in columns)
    head = "".join(f"<th>{_e(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(column))}</td>" for column in columns) + "</tr>"
        for row in sample
    )
    lines.append(f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>')
    return lines


# ---------------------------------------------------------------------------------------------
# Formatting: every value goes through _e (escape) on its way into the page.
# ---------------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<span class="none">missing</span>'
    if isinstance(value, dt.datetime | dt.date):
        return _e(value.isoformat())
    if isinstance(value, float):
        return _e(f"{value:.6g}")
    return _e(value)


def _bar(score: float | None, failed: int) -> str:
    if score is None:
        return '<span class="none">no checks</span>'
    width = max(0.0, min(1.0, float(score))) * 100
    css = "good" if failed == 0 else "warn"
    return f'<div class="bar"><div class="{css}" style="width:{width:.1f}%"></div></div>'


def _score(score: Any) -> str:
    return format_score(score)


def _share(share: Any) -> str:
    return "n/a" if share is None else f"{float(share):.1%}"


def _count(count: Any) -> str:
    return "n/a" if count is None else f"{int(count):,}"
