"""The model card: one Markdown page per registered version, for people who will not read JSON.

What it is for and who owns it, what data it learned from and how clean that was, which features
it reads, how good it is overall and per slice, what it is worth, whether it passed the gate,
and the lineage that traces it back to code, config and data. The register stage renders it
from the reports the pipeline wrote, stores it by sha256 next to the model and records that
hash in the version's lineage, so ``bucle models card VERSION`` prints the card of any version.

Rendering is a pure function of :class:`CardFacts`: the same facts give the same bytes, so a
card's hash changes only when something it says changes.

A card is read rendered (a registry's UI, a wiki, a pull request turn its Markdown into HTML),
and much of what it says comes from data or config: column and category names, slice values,
the project's name, metric names, prose. Each such text goes through :func:`_text` (HTML and
Markdown punctuation escaped) or :func:`_code` (a code span no backtick can close), so no name
becomes live markup: no ``<script>``, no ``<img onerror>``, no ``[x](javascript:...)`` link.
Config values pass through :func:`framework.secrets.redacted` before they are shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from framework.evaluation.metrics import METRIC_NAMES
from framework.evaluation.regression import REGRESSION_METRICS
from framework.evaluation.slices import describe

#: What a card says where the config left a descriptive field empty.
_MISSING_TEXT = "_not stated: set evaluate.model_card.{key}_"

#: Every model metric a card can show: the classification ones, then the regression ones.
CARD_METRICS = (*METRIC_NAMES, *REGRESSION_METRICS)


@dataclass
class CardFacts:
    """Everything a card says, gathered by the register stage from config and reports."""

    name: str
    version: int
    aliases: list[str]
    owner: str
    intended_use: str
    limitations: str
    source: dict[str, Any]
    target: str
    schema: dict[str, Any]
    metrics: dict[str, Any]
    gate: dict[str, dict[str, Any]]
    slice_gate: dict[str, dict[str, Any]]
    promoted: bool
    lineage: dict[str, Any]
    validation: dict[str, Any] | None = None
    featurize: dict[str, Any] | None = None
    slices: dict[str, Any] | None = None
    business: dict[str, Any] | None = None


def render_model_card(facts: CardFacts) -> str:
    """The card as Markdown."""
    sections = [
        _header(facts),
        _section(
            "Intended use", _text(facts.intended_use) or _MISSING_TEXT.format(key="intended_use")
        ),
        _section(
            "Limitations", _text(facts.limitations) or _MISSING_TEXT.format(key="limitations")
        ),
        _data(facts),
        _features(facts.schema),
        _metrics(facts.metrics),
        _slices(facts.slices),
        _business(facts.business, facts.metrics),
        _gate(facts),
        _lineage(facts.lineage),
    ]
    return "\n\n".join(section.rstrip() for section in sections) + "\n"


# --- sections --------------------------------------------------------------------------------


def _header(facts: CardFacts) -> str:
    rows = [
        ["model", _code(facts.name)],
        ["version", str(facts.version)],
        ["aliases at registration", ", ".join(map(_text, facts.aliases)) or "none"],
        ["owner", _text(facts.owner) or _MISSING_TEXT.format(key="owner")],
        ["estimator", _code(facts.lineage.get("model_target") or "unknown")],
        ["target", f"{_code(facts.target)} (classes: {_list(facts.schema['classes'])})"],
        ["registered by run", _code(facts.lineage.get("run_id", "unknown"))],
    ]
    title = f"# Model card: {_text(facts.name)} version {facts.version}"
    return title + "\n\n" + _table(["", ""], rows)


def _section(title: str, text: str) -> str:
    return f"## {title}\n\n{' '.join(str(text).split())}"


def _data(facts: CardFacts) -> str:
    from framework.secrets import redacted

    source = redacted(dict(facts.source))
    name = source.pop("name", "unknown")
    source.pop("target", None)
    options = ", ".join(_code(f"{key}={value}") for key, value in sorted(source.items()))
    lines = [f"Source plugin {_code(name)} with options {options or 'none'}."]
    report = facts.validation
    if report:
        counts = [
            f"{_count(report.get(key))} {label}"
            for key, label in (
                ("rows_in", "rows in"),
                ("rows_kept", "kept"),
                ("rows_quarantined", "quarantined"),
            )
            if report.get(key) is not None
        ]
        if counts:
            lines.append(f"Validation: {', '.join(counts)}.")
        if report.get("score") is not None:
            dimensions = report.get("dimensions") or {}
            scored = [
                f"{_text(dimension)} {_number(entry.get('score'))}"
                for dimension, entry in dimensions.items()
                if isinstance(entry, dict) and entry.get("score") is not None
            ]
            detail = f" ({', '.join(scored)})" if scored else ""
            lines.append(f"Data-quality score: {_number(report['score'])}{detail}.")
    else:
        lines.append("No validation report was found (`reports/validation.json`).")
    split = facts.featurize
    if split:
        if split.get("train_rows") is not None and split.get("test_rows") is not None:
            lines.append(
                f"Split: {_count(split['train_rows'])} training rows, "
                f"{_count(split['test_rows'])} test rows."
            )
        under = split.get("undersample")
        if under:
            lines.append(
                f"**Training rows were undersampled on purpose**: {_describe_undersample(under)}."
            )
    return "## Data\n\n" + "\n".join(f"- {line}" for line in lines)


def _describe_undersample(under: Any) -> str:
    if not isinstance(under, dict):
        return _text(under)
    parts = [_code(f"{under.get('column')} == {under.get('value')}")]
    if under.get("keep_share") is not None:
        parts.append(f"keep share {_text(under['keep_share'])}")
    if under.get("matched") is not None and under.get("kept") is not None:
        parts.append(f"{_count(under['kept'])} of {_count(under['matched'])} such rows kept")
    return ", ".join(parts)


def _features(schema: dict[str, Any]) -> str:
    lines = [
        f"- Numeric inputs: {_names(schema.get('numeric', []))}",
        f"- Categorical inputs: {_names(schema.get('categorical', []))}",
    ]
    derived = schema.get("derived") or {}
    if derived:
        lines.append("- Derived (computed the same way in training and serving):")
        lines.extend(
            f"  - {_code(f'{name} = {expression}')}" for name, expression in derived.items()
        )
    ignored = schema.get("ignored") or {}
    if ignored:
        lines.append("- Not used:")
        lines.extend(f"  - {_code(name)}: {_text(reason)}" for name, reason in ignored.items())
    return "## Features\n\n" + "\n".join(lines)


def _metrics(metrics: dict[str, Any]) -> str:
    rows = [[name, _number(metrics[name])] for name in CARD_METRICS if name in metrics]
    if "decision_threshold" in metrics:
        rows.append(["decision threshold", _number(metrics["decision_threshold"])])
    rows.append(["test rows", _count(metrics.get("n_test"))])
    return "## Metrics (held-out test rows)\n\n" + _table(["metric", "value"], rows)


def _slices(report: dict[str, Any] | None) -> str:
    if not report or not report.get("columns"):
        return (
            "## Slices\n\nNo slices configured: set `evaluate.slices` to see who the model is "
            "worse for."
        )
    metric = report.get("metric", "recall")
    parts = [
        "## Slices",
        f"Worst slice by {_text(metric)} (among slices with at least "
        f"{_text(report.get('min_slice_size'))} rows): "
        f"**{_text(describe(report.get('worst'), metric))}**.",
    ]
    for column, slices in report["columns"].items():
        names = [n for n in CARD_METRICS if any(n in entry for entry in slices.values())]
        rows = []
        for value, entry in slices.items():
            cells = [_code(value), _count(entry.get("size"))]
            cells += [_number(entry.get(name)) for name in names]
            if not entry.get("ranked", True):
                cells[1] += " (too few to rank)"
            rows.append(cells)
        parts.append(f"### {_text(column)}\n\n" + _table([_text(column), "rows", *names], rows))
    return "\n\n".join(parts)


def _business(business: dict[str, Any] | None, metrics: dict[str, Any]) -> str:
    if not business or "business_value" not in metrics:
        return "## Business value\n\nNo cell values configured (`evaluate.business`)."
    currency = _text(business.get("currency", ""))
    period = _text(business.get("period", "period"))
    rows = [
        [f"value per {period}", _money(metrics["business_value"], currency)],
        [
            f"without the model (baseline) per {period}",
            _money(metrics.get("business_value_baseline"), currency),
        ],
        [f"uplift per {period}", _money(metrics.get("business_value_uplift"), currency)],
        ["value per example", _money(metrics.get("business_value_per_example"), currency)],
        ["population per period", _count(business.get("population"))],
    ]
    if "decision_threshold" in metrics:
        if business.get("optimize_threshold"):
            how = "chosen to maximise value on out-of-fold training predictions"
        elif metrics["decision_threshold"] != 0.5:  # evaluate.threshold chose it
            how = "chosen by evaluate.threshold on out-of-fold training predictions"
        else:
            how = "the estimator's default"
        rows.append(["decision threshold", f"{_number(metrics['decision_threshold'])} ({how})"])
    if "business_value_default_threshold" in metrics:
        rows.append(
            [
                f"value per {period} at threshold 0.5",
                _money(metrics["business_value_default_threshold"], currency),
            ]
        )
    if "business_quantile" in metrics:
        rows.append(["value-maximising quantile", _number(metrics["business_quantile"])])
    cells = business.get("cells") or {}
    values = ", ".join(f"{_text(name)} {_text(value)}" for name, value in cells.items())
    note = f"\n\nValue per example of each confusion-matrix cell: {values}." if values else ""
    if business.get("per_unit"):
        over, under = business["per_unit"]
        note = (
            f"\n\nValue per unit predicted over the actual: {_text(over)}; "
            f"under it: {_text(under)}."
        )
    return "## Business value\n\n" + _table(["", ""], rows) + note


def _bound(result: dict[str, Any]) -> str:
    """``≥ 0.6`` for a minimum, ``≤ 12.5`` for a maximum (an error metric)."""
    if "maximum" in result:
        return f"≤ {_number(result['maximum'])}"
    return f"≥ {_number(result.get('minimum'))}"


def _gate(facts: CardFacts) -> str:
    rows = [
        [_text(name), _number(r.get("value")), _bound(r), _passed(r)]
        for name, r in facts.gate.items()
        if r.get("applies", True)
    ]
    rows += [
        [
            f"worst slice {_text(name)}" + (f" ({_text(r['slice'])})" if r.get("slice") else ""),
            _number(r.get("value")),
            _bound(r),
            _passed(r),
        ]
        for name, r in facts.slice_gate.items()
    ]
    outcome = (
        "Passed: the `candidate` alias moved to this version."
        if facts.promoted
        else "Not passed: the `candidate` alias did not move."
    )
    if not rows:
        return f"## Gate\n\nNo thresholds configured (`evaluate.gate`). {outcome}"
    return "## Gate\n\n" + _table(["check", "value", "bound", "passed"], rows) + f"\n\n{outcome}"


def _lineage(lineage: dict[str, Any]) -> str:
    dirty = lineage.get("git_dirty")
    commit = lineage.get("git_commit") or "unknown"
    rows = [
        ["run id", _code(lineage.get("run_id", "unknown"))],
        ["git commit", _code(commit) + (" (uncommitted changes)" if dirty else "")],
        ["config sha256", _code(lineage.get("config_sha256") or "unknown")],
        ["training data sha256", _code(lineage.get("data_sha256") or "unknown")],
        ["model artifact sha256", _code(lineage.get("artifact_sha256") or "unknown")],
        ["model artifact", _code(lineage.get("artifact_uri") or "unknown")],
    ]
    return "## Lineage\n\n" + _table(["", ""], rows)


# --- formatting ------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def _names(names: list[str]) -> str:
    return ", ".join(_code(name) for name in names) or "none"


#: Markdown punctuation that could start emphasis, a link or image (``[``), code or
#: strikethrough; ``_`` only at a word's edge (inside a word, as in ``roc_auc``, it is literal).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def _text(value: Any) -> str:
    """``value`` as plain text in Markdown: on one line, HTML and Markdown syntax escaped.

    Entities for ``&<>"`` (no tag, autolink or entity survives), a backslash before Markdown
    punctuation (no emphasis, link, image or code span); the reader sees the text as it is.
    """
    text = "".join(_HTML.get(char, char) for char in _one_line(value))
    return _MARKDOWN_PUNCTUATION.sub(lambda found: "\\" + found.group(0), text)


def _code(value: Any) -> str:
    """``value`` as a code span, on one line: fenced with more backticks than it holds, so no
    backtick inside can close it early; inside a code span Markdown renders HTML as text."""
    text = _one_line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    if not longest:
        return f"`{text}`"
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def _list(values: list[Any]) -> str:
    return ", ".join(_text(value) for value in values)


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):.4f}"


def _count(value: Any) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def _money(value: Any, currency: str) -> str:
    if value is None:
        return "n/a"
    return f"{float(value):,.2f} {currency}".strip()


def _passed(result: dict[str, Any]) -> str:
    return "yes" if result.get("passed") else "**no**"
