"""``bucle retrain --if-needed`` acts once per (monitor report, production version), and a
retrained model replaces production only when better by ``retrain.min_improvement``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framework.config.compose import compose_config, validate_config
from framework.errors import ConfigError
from framework.files import sha256_file
from framework.retraining.promotion import beats_production
from tests.conftest import ROOT
from tests.framework.serving.conftest import promote

DRIFTED = {"monitors": [{"monitor": "drift", "metrics": {"drift_share": 0.9}}]}


def test_an_exact_tie_never_replaces_production() -> None:
    margin = float(
        validate_config(compose_config([], ROOT / "conf"), "test").retrain.min_improvement
    )
    assert margin > 0, "the default margin must be positive"
    assert not beats_production(0.9381, 0.9381, "roc_auc", margin)
    assert not beats_production(0.9381, 0.9381, "roc_auc", 0.0)  # a tie, even without a margin
    assert not beats_production(0.9385, 0.9381, "roc_auc", 0.001)  # within the margin
    assert beats_production(0.9400, 0.9381, "roc_auc", 0.001)
    assert beats_production(1.90, 2.00, "rmse", 0.05)  # an error metric must fall
    assert not beats_production(2.00, 2.00, "rmse", 0.0)
    with pytest.raises(ConfigError, match=r"retrain\.min_improvement=-0\.1 is negative"):
        beats_production(0.99, 0.5, "roc_auc", -0.1)


def test_a_report_already_acted_on_is_a_one_line_no_op(project_copy: Path, run) -> None:
    promote(project_copy, 1)
    report = project_copy / "report.json"
    report.write_text(json.dumps(DRIFTED))
    journal = project_copy / ".bucle" / "retrain" / "retrains.json"
    journal.parent.mkdir(parents=True, exist_ok=True)
    earlier = {
        "id": "20260101-000000-abcdef",
        "production_before": 1,
        "report_sha256": sha256_file(report),
        "outcome": "lost the gate",
    }
    journal.write_text(json.dumps([earlier]))

    result = run(["bucle", "retrain", "--if-needed", "--report", str(report)], project_copy)

    assert result.stdout.splitlines() == [
        f"no retraining needed: retrain {earlier['id']} already acted on the report {report} for "
        "production v1 (outcome: lost the gate); run `bucle monitor` for a new report"
    ]
    assert json.loads(journal.read_text()) == [earlier]  # nothing new was recorded


def test_a_failed_retraining_did_not_consume_its_report(project_copy: Path, run) -> None:
    promote(project_copy, 1)
    report = project_copy / "report.json"
    report.write_text(json.dumps(DRIFTED))
    journal = project_copy / ".bucle" / "retrain" / "retrains.json"
    journal.parent.mkdir(parents=True, exist_ok=True)
    failed = {"id": "x", "production_before": 1, "report_sha256": sha256_file(report)}
    journal.write_text(json.dumps([{**failed, "outcome": "failed: disk full"}]))

    result = run(
        ["bucle", "retrain", "--if-needed", "--report", str(report)], project_copy, check=False
    )

    assert "trigger drift_share" in result.stdout  # the retry acts on the report again
