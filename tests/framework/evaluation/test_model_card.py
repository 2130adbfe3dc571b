"""The model card's Markdown: every section a reader needs; plain words where reports are absent."""

from __future__ import annotations

import re

from framework.evaluation.model_card import CardFacts, render_model_card

SCHEMA = {
    "target": "churned",
    "classes": [0, 1],
    "numeric": ["age", "age_band"],
    "categorical": ["region"],
    "ignored": {"customer_id": "excluded in features.exclude"},
    "derived": {"age_band": "bucket(age, 30, 45, 60)"},
    "categories": {"region": ["north", "west"]},
}
SLICES = {
    "metric": "recall",
    "min_slice_size": 30,
    "columns": {
        "region": {
            "north": {"size": 300, "ranked": True, "accuracy": 0.8, "precision": 0.5,
                      "recall": 0.81, "f1": 0.6, "roc_auc": 0.8},
            "west": {"size": 90, "ranked": True, "accuracy": 0.5, "precision": 0.3,
                     "recall": 0.31, "f1": 0.3, "roc_auc": None},
        }
    },
    "worst": {"column": "region", "value": "west", "size": 90, "recall": 0.31},
    "lowest": {"recall": {"column": "region", "value": "west", "size": 90, "recall": 0.31}},
}  # fmt: skip
METRICS = {
    "accuracy": 0.7, "precision": 0.4, "recall": 0.8, "f1": 0.53, "roc_auc": 0.76, "n_test": 990,
    "decision_threshold": 0.18, "business_value": 51111.11, "business_value_baseline": 0.0,
    "business_value_uplift": 51111.11, "business_value_per_example": 0.51,
    "slice_worst_recall": 0.31,
}  # fmt: skip
LINEAGE = {
    "run_id": "20260101-000000-abcdef",
    "git_commit": "a" * 40,
    "git_dirty": True,
    "config_sha256": "c" * 64,
    "data_sha256": "d" * 64,
    "artifact_sha256": "e" * 64,
    "artifact_uri": "file:///store/ee",
    "model_target": "sklearn.linear_model.LogisticRegression",
}


def facts(**changes) -> CardFacts:
    values = dict(
        name="churn",
        version=3,
        aliases=["candidate"],
        owner="Retention analytics",
        intended_use="Rank subscribers by churn risk.",
        limitations="Synthetic data.",
        source={"name": "synthetic_churn", "target": "churned", "n_rows": 5000},
        target="churned",
        schema=SCHEMA,
        metrics=METRICS,
        gate={"roc_auc": {"value": 0.76, "minimum": 0.6, "passed": True}},
        slice_gate={
            "recall": {"value": 0.31, "minimum": 0.5, "passed": False, "slice": "region=west"}
        },
        promoted=False,
        lineage=LINEAGE,
        validation={
            "rows_in": 5000,
            "rows_kept": 4950,
            "rows_quarantined": 50,
            "score": 0.9997,
            "dimensions": {"accuracy": {"score": 0.9995}, "timeliness": {"score": None}},
        },
        featurize={
            "train_rows": 3960,
            "test_rows": 990,
            "undersample": {
                "column": "region",
                "value": "west",
                "keep_share": 0.05,
                "matched": 400,
                "kept": 20,
            },
        },
        slices=SLICES,
        business={
            "currency": "USD",
            "period": "month",
            "population": 100000,
            "optimize_threshold": True,
            "cells": {"tp": 4.0, "fp": -1.0},
        },
    )
    values.update(changes)
    return CardFacts(**values)


def test_the_card_has_every_section_in_order() -> None:
    card = render_model_card(facts())
    headings = re.findall(r"^## (.+)$", card, re.MULTILINE)
    assert headings == [
        "Intended use",
        "Limitations",
        "Data",
        "Features",
        "Metrics (held-out test rows)",
        "Slices",
        "Business value",
        "Gate",
        "Lineage",
    ]
    assert card.startswith("# Model card: churn version 3\n")


def test_the_card_states_the_facts() -> None:
    card = render_model_card(facts())
    for text in (
        "| aliases at registration | candidate |",
        "| owner | Retention analytics |",
        "Rank subscribers by churn risk.",
        "Source plugin `synthetic_churn` with options `n_rows=5000`.",
        "5,000 rows in, 4,950 kept, 50 quarantined",
        "Data-quality score: 0.9997 (accuracy 0.9995).",
        "3,960 training rows, 990 test rows",
        "`region == west`, keep share 0.05, 20 of 400 such rows kept",
        "`age_band = bucket(age, 30, 45, 60)`",
        "`customer_id`: excluded in features.exclude",
        "| roc_auc | 0.7600 |",
        "**region=west (90 rows): recall 0.3100**",
        "| `west` | 90 | 0.5000 | 0.3000 | 0.3100 | 0.3000 | n/a |",
        "| value per month | 51,111.11 USD |",
        "0.1800 (chosen to maximise value on out-of-fold training predictions)",
        "| worst slice recall (region=west) | 0.3100 | ≥ 0.5000 | **no** |",
        "Not passed: the `candidate` alias did not move.",
        f"`{'a' * 40}` (uncommitted changes)",
        f"| model artifact sha256 | `{'e' * 64}` |",
    ):
        assert text in card, text


def test_the_same_facts_render_the_same_bytes() -> None:
    assert render_model_card(facts()) == render_model_card(facts())
    assert render_model_card(facts()) != render_model_card(facts(version=4))


def test_missing_reports_and_settings_are_said_plainly() -> None:
    card = render_model_card(
        facts(
            owner="",
            intended_use="",
            validation=None,
            featurize=None,
            slices=None,
            business=None,
            slice_gate={},
            gate={},
            promoted=True,
            metrics={"accuracy": 0.9, "n_test": 10},
        )
    )
    assert "_not stated: set evaluate.model_card.owner_" in card
    assert "_not stated: set evaluate.model_card.intended_use_" in card
    assert "No validation report was found" in card
    assert "No slices configured" in card
    assert "No cell values configured" in card
    assert "No thresholds configured (`evaluate.gate`). Passed" in card


def test_a_validation_report_without_scores_still_renders() -> None:
    card = render_model_card(facts(validation={"rows_in": 10, "rows_quarantined": 1}))
    assert "10 rows in, 1 quarantined" in card and "Data-quality score" not in card


# --- names and values from data carry no live markup ----------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "[click](javascript:alert(3))",
    "![pixel](javascript:alert(4))",
    "a`<img src=y onerror=alert(5)>`b",
    "<javascript:alert(6)>",
    "x\n\n<iframe src=javascript:alert(7)>",
    "| cell | <svg onload=alert(8)> |",
]
#: What the card's own Markdown renders to; anything else came from a name or a value.
MARKDOWN_TAGS = {
    "h1", "h2", "h3", "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "code",
    "strong", "em",
}  # fmt: skip


def live_markup(card: str) -> list[str]:
    """Tags and attributes a browser would act on, in the card rendered as HTML."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(card)
    found: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag not in MARKDOWN_TAGS or attrs:
                found.append(f"<{tag} {attrs}>")

        handle_startendtag = handle_starttag

    Collect().feed(html)
    return found


def hostile_facts() -> CardFacts:
    """Facts as the register stage gathers them from a data set whose names are hostile."""
    import numpy as np
    import pandas as pd

    from framework.evaluation.slices import slice_report
    from framework.modeling.schema import infer_schema

    rng = np.random.default_rng(0)
    rows = 80
    frame = pd.DataFrame(
        {
            HOSTILE[0]: rng.normal(size=rows),
            HOSTILE[1]: [HOSTILE[(i % 4) + 2] for i in range(rows)],
            HOSTILE[7]: rng.normal(size=rows),
            "label": ["<b onmouseover=alert(9)>yes</b>" if i % 3 else "no" for i in range(rows)],
        }
    )
    schema = infer_schema(frame, "label", [], {})
    classes = sorted(frame["label"].unique())
    y_true = frame["label"].to_numpy()
    proba = rng.uniform(size=(rows, 2))
    y_pred = np.asarray(classes)[proba.argmax(axis=1)]
    slices = slice_report(
        frame, [HOSTILE[1]], y_true, y_pred, proba, classes, classes[0], "recall", 5
    )
    metric = "<img src=z onerror=alert(10)>"
    return facts(
        name="[churn](javascript:alert(11))",
        owner="<a href=javascript:alert(12)>team</a>",
        intended_use="<script>alert(13)</script>",
        limitations="[docs](javascript:alert(14))",
        aliases=["<i onclick=alert(15)>candidate</i>"],
        source={"name": "file", "path": HOSTILE[4], "password": "hunter2",
                "url": "postgresql://ana:s3cret@db/x"},
        target="label",
        schema=schema.to_dict(),
        slices=slices,
        gate={metric: {"value": 0.7, "minimum": 0.6, "passed": True}},
        slice_gate={"recall": {"value": 0.3, "minimum": 0.5, "passed": False,
                               "slice": f"{HOSTILE[1]}={HOSTILE[2]}"}},
        business={"currency": "<u onclick=alert(16)>", "period": HOSTILE[3],
                  "population": 1, "cells": {HOSTILE[0]: 1.0}},
        validation={"rows_in": 10, "score": 0.9,
                    "dimensions": {HOSTILE[1]: {"score": 0.5}}},
        lineage={**LINEAGE, "model_target": HOSTILE[4], "artifact_uri": HOSTILE[5]},
    )  # fmt: skip


def test_a_card_from_hostile_names_renders_to_html_without_live_markup() -> None:
    card = render_model_card(hostile_facts())
    assert live_markup(card) == []


def test_a_card_still_shows_hostile_names_as_text() -> None:
    """Escaped, not dropped: the reader still sees what the column is called."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(render_model_card(hostile_facts()))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[click](javascript:alert(3))" in html


def test_config_values_in_the_card_are_redacted() -> None:
    card = render_model_card(hostile_facts())
    assert "hunter2" not in card and "s3cret" not in card


def test_a_threshold_chosen_for_recall_is_not_called_the_estimators_default() -> None:
    business = {"currency": "USD", "period": "month", "population": 100000}
    card = render_model_card(facts(business={**business, "optimize_threshold": False}))
    assert "0.1800 (chosen by evaluate.threshold on out-of-fold training predictions)" in card
    default = facts(
        business={**business, "optimize_threshold": False},
        metrics={**METRICS, "decision_threshold": 0.5},
    )
    assert "0.5000 (the estimator's default)" in render_model_card(default)
