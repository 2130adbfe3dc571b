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
