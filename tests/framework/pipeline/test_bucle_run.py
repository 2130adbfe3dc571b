"""``bucle run`` end to end through the real CLI: one tracked run, one registered version."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest


def runs_in(project: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(project / ".bucle" / "tracking.db") as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM runs ORDER BY started_at").fetchall()


def output_dir(stderr: str) -> Path:
    line = next(line for line in stderr.splitlines() if "outputs in" in line)
    return Path(line.split("outputs in ", 1)[1].strip())


def test_bucle_run_tracks_one_run_and_registers_a_candidate(small_project: Path, run) -> None:
    result = run(["bucle", "run"], small_project)
    work = output_dir(result.stderr)
    assert work.is_relative_to(small_project / "outputs" / "runs")

    (tracked,) = runs_in(small_project)
    assert tracked["status"] == "finished"
    manifest = json.loads(tracked["manifest"])
    assert manifest["config"]["model"]["_target_"].endswith("LogisticRegression")
    assert manifest["git"]["commit"] and len(manifest["git"]["commit"]) == 40
    assert manifest["git"]["dirty"] is False
    assert manifest["stages"] == [
        "ingest",
        "validate",
        "featurize",
        "train",
        "evaluate",
        "register",
    ]
    assert set(manifest["outputs"]) >= {"model", "metrics", "train", "test", "validated"}
    assert manifest["outputs"]["model"]["sha256"] and manifest["inputs"]["raw"]["sha256"]
    assert manifest["packages"]["scikit-learn"]

    registration = json.loads((work / "reports" / "registration.json").read_text())
    assert registration["version"] == 1
    assert registration["promoted_to"] == "candidate"
    assert registration["run_id"] == tracked["run_id"]
    listing = run(["bucle", "models", "list"], small_project).stdout
    assert "candidate" in listing and tracked["run_id"] in listing


def test_validate_keeps_every_row_it_does_not_quarantine(small_project: Path, run) -> None:
    work = output_dir(run(["bucle", "run"], small_project).stderr)
    raw = pd.read_parquet(work / "data" / "raw.parquet")
    kept = pd.read_parquet(work / "data" / "validated.parquet")
    quarantined = pd.read_parquet(work / "data" / "quarantine.parquet")
    report = json.loads((work / "reports" / "validation.json").read_text())

    assert len(raw) == len(kept) + len(quarantined) == report["rows_in"]
    assert len(quarantined) > 0, "the churn generator injects invalid rows"
    assert quarantined["_quarantine_reason"].str.len().gt(0).all()
    duplicated = quarantined["_quarantine_reason"].str.contains("customer_id:unique")
    assert duplicated.any()
    assert set(quarantined.loc[duplicated, "customer_id"]) <= set(kept["customer_id"])
    assert kept["customer_id"].dropna().is_unique
    assert (kept["age"].dropna() <= 120).all()
    assert kept["plan"].isin(["basic", "standard", "premium"]).all()


def test_a_failing_gate_registers_without_moving_the_candidate(small_project: Path, run) -> None:
    work = output_dir(run(["bucle", "run", "evaluate.gate.roc_auc=0.999"], small_project).stderr)
    registration = json.loads((work / "reports" / "registration.json").read_text())
    assert registration["promoted_to"] is None
    assert registration["gate"]["roc_auc"]["passed"] is False
    assert "candidate" not in run(["bucle", "models", "list"], small_project).stdout


def test_too_many_bad_rows_fail_in_one_line_and_the_run_is_recorded_failed(
    small_project: Path, run
) -> None:
    result = run(["bucle", "run", "quarantine.max_bad_share=0.0"], small_project, check=False)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("bucle: error:")]
    assert len(errors) == 1
    assert "validation failed" in errors[0] and "worst:" in errors[0]
    assert "Traceback" not in result.stderr
    (tracked,) = runs_in(small_project)
    assert tracked["status"] == "failed"
    assert "validation failed" in json.loads(tracked["manifest"])["error"]


def test_a_bad_override_is_one_line_before_anything_runs(small_project: Path, run) -> None:
    result = run(["bucle", "run", "model.C=abc"], small_project, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "model.C" in result.stderr
    assert not (small_project / "outputs").exists()


@pytest.mark.parametrize("labels", ["binary", "multiclass"])
def test_run_trains_on_a_table_it_has_never_seen(
    small_project: Path, run, tmp_path: Path, labels: str
) -> None:
    from sklearn.datasets import load_breast_cancer, load_iris

    loader = load_breast_cancer if labels == "binary" else load_iris
    frame = loader(as_frame=True).frame
    names = {"binary": ["malignant", "benign"], "multiclass": ["setosa", "versicolor", "virginica"]}
    frame["label"] = [names[labels][i] for i in frame.pop("target")]
    frame["site"] = ["north" if i % 3 else "south" for i in range(len(frame))]
    table = tmp_path / "unseen.csv"
    frame.to_csv(table, index=False)

    result = run(
        ["bucle", "run", "data=file", f"data.path={table}", "data.target=label", "project=unseen"],
        small_project,
    )
    metrics = json.loads((output_dir(result.stderr) / "reports" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.8
    assert 0.8 < metrics["roc_auc"] <= 1.0
    assert "unseen" not in run(["bucle", "models", "list"], small_project).stdout


@pytest.fixture
def diabetes_csv(tmp_path: Path) -> Path:
    """scikit-learn's diabetes table: a numeric target with 214 distinct values."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    frame["sex"] = ["f" if value > 0 else "m" for value in frame["sex"]]
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def test_run_trains_a_regressor_on_an_unseen_numeric_target(
    small_project: Path, run, diabetes_csv: Path
) -> None:
    result = run(
        [
            "bucle",
            "run",
            "data=file",
            f"data.path={diabetes_csv}",
            "data.target=progression",
            "project=diabetes",
            "evaluate.slices=[sex]",
        ],
        small_project,
    )
    assert "rmse=" in result.stderr and "diabetes v1 (candidate)" in result.stderr
    reports = output_dir(result.stderr) / "reports"
    metrics = json.loads((reports / "metrics.json").read_text())
    assert {"mae", "rmse", "r2", "mape"} <= set(metrics) and "roc_auc" not in metrics
    assert metrics["r2"] > 0.3 and metrics["mae"] <= metrics["rmse"]
    versus = (reports / "plots" / "predicted_vs_actual.csv").read_text().splitlines()
    assert versus[0] == "actual,predicted" and len(versus) == metrics["n_test"] + 1
    assert (reports / "plots" / "residuals.csv").read_text().startswith("predicted,residual\n")
    assert not (reports / "plots" / "roc.csv").exists()
    registration = json.loads((reports / "registration.json").read_text())
    assert registration["gate"]["r2"]["passed"] is True
    assert registration["gate"]["roc_auc"]["applies"] is False  # a classification metric
    slices = json.loads((reports / "slices.json").read_text())
    assert slices["task"] == "regression" and slices["metric"] == "mae"
    by_sex = slices["columns"]["sex"]
    assert slices["worst"]["value"] == max(by_sex, key=lambda key: by_sex[key]["mae"])
    card = (reports / "model_card.md").read_text()
    assert "| rmse |" in card and "| r2 | " in card


def test_a_classifier_for_a_numeric_target_is_one_line_naming_both(
    small_project: Path, run, diabetes_csv: Path
) -> None:
    args = ["bucle", "run", "data=file", f"data.path={diabetes_csv}", "data.target=progression"]
    result = run([*args, "model=random_forest"], small_project, check=False)
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("bucle: error:")]
    assert "RandomForestClassifier is a classifier but the task is regression" in line
    assert "random_forest_regressor" in line and "data.target='progression'" in line
    declared = run([*args, "task=classification"], small_project, check=False).stderr
    assert "task=classification but data.target='progression' holds 214 distinct" in declared
    assert "set task=regression" in declared and len(declared.strip().splitlines()) == 1


def test_sklearn_source_runs_end_to_end(small_project: Path, run) -> None:
    result = run(["bucle", "run", "data=sklearn", "data.dataset=wine"], small_project)
    metrics = json.loads((output_dir(result.stderr) / "reports" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.85


@pytest.mark.slow
def test_a_grid_sweep_in_parallel_jobs_tracks_every_job_and_records_the_best(
    small_project: Path, run
) -> None:
    # sweep=parallel: the basic sweeper's grid, two jobs at a time with the joblib launcher.
    result = run(
        [
            "bucle",
            "run",
            "sweep=parallel",
            "hydra.sweeper.params.model='logreg,random_forest'",  # seeds 1,2 from the option
        ],
        small_project,
    )
    assert "Joblib.Parallel(n_jobs=2" in result.stdout  # Hydra's launcher log line
    tracked = runs_in(small_project)
    assert len(tracked) == 4
    assert {row["status"] for row in tracked} == {"finished"}
    combos = {
        (
            json.loads(r["manifest"])["config"]["model"]["_target_"].rsplit(".", 1)[1],
            json.loads(r["manifest"])["config"]["seed"],
        )
        for r in tracked
    }
    assert combos == {
        ("LogisticRegression", 1),
        ("LogisticRegression", 2),
        ("RandomForestClassifier", 1),
        ("RandomForestClassifier", 2),
    }
    # Concurrent jobs registered distinct versions, each card naming its own number.
    with sqlite3.connect(small_project / ".bucle" / "registry.db") as db:
        numbers = [row[0] for row in db.execute("SELECT version FROM versions ORDER BY version")]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2
    for number in numbers:
        card = run(["bucle", "models", "card", str(number)], small_project).stdout
        assert card.startswith(f"# Model card: churn version {number}\n"), card[:100]
    # best_run.json names the job with the highest objective, as the tracker recorded it.
    with sqlite3.connect(small_project / ".bucle" / "tracking.db") as db:
        auc = dict(db.execute("SELECT run_id, value FROM metrics WHERE key = 'roc_auc'"))
    sweeps = small_project / "outputs" / "sweeps"
    best = json.loads(next(sweeps.rglob("best_run.json")).read_text())
    assert best["jobs"] == 4 and best["metric"] == "roc_auc" and best["direction"] == "maximize"
    assert best["best"]["run_id"] == max(auc, key=auc.get)
    assert best["best"]["value"] == pytest.approx(max(auc.values()))


def test_two_runs_started_together_each_get_their_own_directory(small_project: Path) -> None:
    """Hydra names run directories to the second; the run id in the path keeps runs apart."""
    import os
    import subprocess

    runs = [
        subprocess.Popen(
            ["bucle", "run"],
            cwd=small_project,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(process.wait(), process.communicate()[1]) for process in runs]
    assert [code for code, _ in results] == [0, 0], results
    directories = [output_dir(stderr) for _, stderr in results]
    assert directories[0] != directories[1]

    tracked = runs_in(small_project)
    assert len(tracked) == 2
    for row in tracked:
        manifest = json.loads(row["manifest"])
        (work,) = [d for d in directories if d.name == row["run_id"]]  # the run id is the name
        for name, entry in manifest["outputs"].items():
            assert Path(entry["path"]).resolve().is_relative_to(work.resolve()), name
