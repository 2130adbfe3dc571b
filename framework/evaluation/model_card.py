"""The model card: one Markdown page per registered version, for people who will not read JSON.

What it is for and who owns it, what data it learned from and how clean that was, which features
it reads, how good it is overall and per slice, what it is worth, whether it passed the gate,
and the lineage that traces it back to code, config and data. The register stage renders it
from the reports the pipeline wrote, stores it by sha256 next to the model and records that
hash in the version's lineage, so ``bucle models card VERSION`` prints the card of any version.

Rendering is a pure function of :class:`CardFacts`: the same facts give the same bytes, so a
card's hash changes only when something it says changes.
"""

from __future__ import annotations

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
        _section("Intended use", facts.intended_use or _MISSING_TEXT.format(key="intended_use")),
        _section("Limitations", facts.limitations or _MISSING_TEXT.format(key="limitations")),
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
        ["model", f"`{facts.name}`"],
        ["version", str(facts.version)],
        ["aliases at registration", ", ".join(facts.aliases) or "none"],
        ["owner", facts.owner or _MISSING_TEXT.format(key="owner")],
        ["estimator", f"`{facts.lineage.get('model_target') or 'unknown'}`"],
        ["target", f"`{facts.target}` (classes: {', '.join(map(str, facts.schema['classes']))})"],
        ["registered by run", f"`{facts.lineage.get('run_id', 'unknown')}`"],
    ]
    return f"# Model card: {facts.name} version {facts.version}\n\n" + _table(["", ""], rows)


def _section(title: str, text: str) -> str:
    return f"## {title}\n\n{' '.join(str(text).split())}"


def _data(facts: CardFacts) -> str:
    source = dict(facts.source)
    name = source.pop("name", "unknown")
    source.pop("target", None)
    options = ", ".join(f"`{key}={value}`" for key, value in sorted(source.items())) or "none"
    lines = [f"Source plugin `{name}` with options {options}."]
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
                f"{dimension} {_number(entry.get('score'))}"
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
        return str(under)
    parts = [f"`{under.get('column')} == {under.get('value')}`"]
    if under.get("keep_share") is not None:
        parts.append(f"keep share {under['keep_share']}")
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
        lines.extend(f"  - `{name} = {expression}`" for name, expression in derived.items())
    ignored = schema.get("ignored") or {}
    if ignored:
        lines.append("- Not used:")
        lines.extend(f"  - `{name}`: {reason}" for name, reason in ignored.items())
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
        f"Worst slice by {metric} (among slices with at least "
        f"{report.get('min_slice_size')} rows): **{describe(report.get('worst'), metric)}**.",
    ]
    for column, slices in report["columns"].items():
        names = [n for n in CARD_METRICS if any(n in entry for entry in slices.values())]
        rows = []
        for value, entry in slices.items():
            cells = [f"`{value}`", _count(entry.get("size"))]
            cells += [_number(entry.get(name)) for name in names]
            if not entry.get("ranked", True):
                cells[1] += " (too few to rank)"
            rows.append(cells)
        parts.append(f"### {column}\n\n" + _table([column, "rows", *names], rows))
    return "\n\n".join(parts)


def _business(business: dict[str, Any] | None, metrics: dict[str, Any]) -> str:
    if not business or "business_value" not in metrics:
        return "## Business value\n\nNo cell values configured (`evaluate.business`)."
    currency, period = business.get("currency", ""), business.get("period", "period")
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
        how = (
            "chosen to maximise value on out-of-fold training predictions"
            if business.get("optimize_threshold")
            else "the estimator's default"
        )
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
    values = ", ".join(f"{name} {value}" for name, value in cells.items())
    note = f"\n\nValue per example of each confusion-matrix cell: {values}." if values else ""
    if business.get("per_unit"):
        over, under = business["per_unit"]
        note = f"\n\nValue per unit predicted over the actual: {over}; under it: {under}."
    return "## Business value\n\n" + _table(["", ""], rows) + note


def _bound(result: dict[str, Any]) -> str:
    """``≥ 0.6`` for a minimum, ``≤ 12.5`` for a maximum (an error metric)."""
    if "maximum" in result:
        return f"≤ {_number(result['maximum'])}"
    return f"≥ {_number(result.get('minimum'))}"


def _gate(facts: CardFacts) -> str:
    rows = [
        [name, _number(r.get("value")), _bound(r), _passed(r)]
        for name, r in facts.gate.items()
        if r.get("applies", True)
    ]
    rows += [
        [
            f"worst slice {name}" + (f" ({r['slice']})" if r.get("slice") else ""),
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
        ["run id", f"`{lineage.get('run_id', 'unknown')}`"],
        ["git commit", f"`{commit}`" + (" (uncommitted changes)" if dirty else "")],
        ["config sha256", f"`{lineage.get('config_sha256') or 'unknown'}`"],
        ["training data sha256", f"`{lineage.get('data_sha256') or 'unknown'}`"],
        ["model artifact sha256", f"`{lineage.get('artifact_sha256') or 'unknown'}`"],
        ["model artifact", f"`{lineage.get('artifact_uri') or 'unknown'}`"],
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
    return ", ".join(f"`{name}`" for name in names) or "none"


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
