"""Sweeps optimise the configured objective and record the best run: an Optuna search end to
end, and the choice of the best job in either direction."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from framework.errors import ConfigError
from framework.sweeps import best_result, objective_value

RESULTS = [
    {"run_id": "a", "value": 0.7},
    {"run_id": "b", "value": 0.9},
    {"run_id": "c", "value": None},  # a job that did not report the metric
    {"run_id": "d", "value": 0.9},
]


def test_the_best_job_depends_on_the_direction() -> None:
    assert best_result(RESULTS, "maximize")["run_id"] == "b"  # the first of equals
    assert best_result(RESULTS, "minimize")["run_id"] == "a"
    assert best_result([{"run_id": "x", "value": None}], "maximize") is None
    with pytest.raises(ConfigError, match=r"objective\.direction='up'"):
        best_result(RESULTS, "up")


def test_a_sweep_needs_the_objective_among_the_metrics() -> None:
    assert objective_value({"f1": 0.5}, "f1", required=True) == 0.5
    assert objective_value({"f1": 0.5}, "rmse", required=False) is None
    with pytest.raises(ConfigError) as raised:
        objective_value({"f1": 0.5, "roc_auc": 0.8, "name": "x"}, "rmse", required=True)
    assert "objective.metric='rmse'" in str(raised.value) and "f1, roc_auc" in str(raised.value)


@pytest.mark.slow
def test_an_optuna_search_maximises_the_objective_and_records_the_best_run(
    small_project: Path, run
) -> None:
    run(["bucle", "run", "sweep=optuna", "hydra.sweeper.n_trials=3"], small_project)

    (sweep,) = (small_project / "outputs" / "sweeps").glob("*/*")
    optuna = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    best = json.loads((sweep / "best_run.json").read_text())
    with sqlite3.connect(small_project / ".bucle" / "tracking.db") as db:
        auc = dict(db.execute("SELECT run_id, value FROM metrics WHERE key = 'roc_auc'"))
    assert len(auc) == 3 == best["jobs"]  # every trial is a tracked run
    assert best["best"]["run_id"] == max(auc, key=auc.get)
    assert optuna["best_value"] == pytest.approx(best["best"]["value"]) == max(auc.values())
    overrides = dict(item.split("=", 1) for item in best["best"]["overrides"])
    for key, value in optuna["best_params"].items():
        assert overrides[key] == str(value)  # Optuna's best trial is Bucle's best run
    with sqlite3.connect(small_project / ".bucle" / "tracking.db") as db:
        (manifest,) = db.execute(
            "SELECT manifest FROM runs WHERE run_id = ?", (best["best"]["run_id"],)
        ).fetchone()
    model = json.loads(manifest)["config"]["model"]
    assert model["_target_"].endswith("RandomForestClassifier")
    assert str(model["n_estimators"]) == overrides["model.n_estimators"]


def test_a_bad_direction_fails_before_any_run(small_project: Path, run) -> None:
    result = run(["bucle", "run", "objective.direction=upwards"], small_project, check=False)
    assert result.returncode != 0
    assert "objective.direction='upwards' is not a direction" in result.stderr
    assert not (small_project / ".bucle" / "tracking.db").exists()
