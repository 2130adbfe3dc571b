"""End to end under the real ``dvc``: the pipeline in dvc.yaml, its caching, ``dvc exp run -S``
(conf/ composed inside DVC's process, schema included), plots and a failing stage.

One module-scoped baseline (the example project with a 1500-row table, reproduced once and
committed with its outputs) is built first; every test that changes something works on its own
copy of it, so the tests stay independent while the full pipeline runs only once.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_project, run_command, shrink_table

STAGES = ("ingest", "validate", "featurize", "train", "evaluate", "register")
UPSTREAM = ("ingest", "validate", "featurize")
MODEL_STAGES = ("train", "evaluate", "register")
RUNNING = re.compile(r"^Running stage '([^']+)':", re.MULTILINE)
SKIPPED = re.compile(r"^Stage '([^']+)' didn't change, skipping$", re.MULTILINE)
SMALL_ROWS = 1500


@dataclass(frozen=True)
class Baseline:
    path: Path  # the reproduced and committed project
    env: dict[str, str]  # extra environment for every command (DVC's site cache in tmp)
    repro: subprocess.CompletedProcess[str]  # the first `dvc repro`
    commit: str  # HEAD when the first `dvc repro` ran


def ran(result: subprocess.CompletedProcess[str]) -> list[str]:
    return RUNNING.findall(result.stdout)


def skipped(result: subprocess.CompletedProcess[str]) -> list[str]:
    return SKIPPED.findall(result.stdout)


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def runs(path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(run id, status, manifest) of every tracked run, oldest first."""
    rows = query(
        path / ".bucle" / "tracking.db",
        "SELECT run_id, status, manifest FROM runs ORDER BY started_at, run_id",
    )
    return [(run_id, status, json.loads(manifest)) for run_id, status, manifest in rows]


def sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    root = tmp_path_factory.mktemp("dvc-pipeline")
    env = {"DVC_SITE_CACHE_DIR": str(root / "dvc-site-cache")}
    path = copy_project(root / "baseline")
    shrink_table(path, SMALL_ROWS)
    run_command(["bucle", "params", "--check"], path, env)
    run_command(["git", "add", "-A"], path, env)
    run_command(["git", "commit", "-q", "-m", "smaller table"], path, env)
    commit = run_command(["git", "rev-parse", "HEAD"], path, env).stdout.strip()
    repro = run_command(["dvc", "repro"], path, env)
    run_command(["git", "add", "-A"], path, env)
    run_command(["git", "commit", "-q", "-m", "baseline outputs"], path, env)
    return Baseline(path=path, env=env, repro=repro, commit=commit)


@pytest.fixture
def workspace(baseline: Baseline, tmp_path: Path) -> Path:
    """A private copy of the reproduced, committed baseline (git, DVC cache, .bucle/ state)."""
    return shutil.copytree(baseline.path, tmp_path / "project", symlinks=True)


@pytest.mark.slow
def test_repro_runs_every_stage_and_records_one_run(baseline: Baseline) -> None:
    path = baseline.path
    assert ran(baseline.repro) == list(STAGES), baseline.repro.stdout

    metrics = json.loads((path / "reports" / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.6, metrics

    versions = query(path / ".bucle" / "registry.db", "SELECT name, version, run_id FROM versions")
    assert [(name, version) for name, version, _ in versions] == [("churn", 1)]
    listing = run_command(["bucle", "models", "list"], path, baseline.env).stdout
    assert re.search(r"^churn\s+1\s", listing, re.MULTILINE), listing

    tracked = runs(path)
    assert len(tracked) == 1, tracked
    run_id, status, manifest = tracked[0]
    assert status == "finished"
    assert versions[0][2] == run_id  # the version's lineage points at the tracked run
    assert manifest["run_id"] == run_id
    assert manifest["git"]["commit"] == baseline.commit
    config = manifest["config"]
    assert config["data"]["n_rows"] == SMALL_ROWS
    assert config["model"]["_target_"] == "sklearn.linear_model.LogisticRegression"
    assert config["model"]["C"] == 1.0
    outputs = manifest["outputs"]
    for name in ("model", "metrics", "train", "test", "validated"):
        assert name in outputs, sorted(outputs)
    for entry in outputs.values():
        assert entry["sha256"] == sha256(path / entry["path"]), entry

    shown = run_command(["bucle", "runs", "show", run_id], path, baseline.env).stdout
    assert f"run       {run_id}  (finished)" in shown
    assert baseline.commit in shown


@pytest.mark.slow
def test_second_repro_skips_every_stage(baseline: Baseline, workspace: Path) -> None:
    again = run_command(["dvc", "repro"], workspace, baseline.env)
    assert "Running stage" not in again.stdout + again.stderr
    assert skipped(again) == list(STAGES), again.stdout
    assert len(runs(workspace)) == 1


@pytest.mark.slow
def test_model_option_change_reruns_only_model_stages(baseline: Baseline, workspace: Path) -> None:
    run_command(["bucle", "params", "model.C=0.5"], workspace, baseline.env)
    result = run_command(["dvc", "repro"], workspace, baseline.env)
    assert ran(result) == list(MODEL_STAGES), result.stdout
    assert skipped(result) == list(UPSTREAM), result.stdout

    tracked = runs(workspace)
    assert len(tracked) == 2
    assert tracked[-1][2]["config"]["model"]["C"] == 0.5


@pytest.mark.slow
def test_exp_run_composes_conf_and_shows_the_experiment(
    baseline: Baseline, workspace: Path
) -> None:
    result = run_command(
        ["dvc", "exp", "run", "-S", "model=random_forest"], workspace, baseline.env
    )
    # DVC composed conf/ to the committed params.yaml except the model: upstream stays cached.
    assert ran(result) == list(MODEL_STAGES), result.stdout
    assert skipped(result) == list(UPSTREAM), result.stdout
    params = (workspace / "params.yaml").read_text()
    assert "_target_: sklearn.ensemble.RandomForestClassifier" in params

    shown = json.loads(
        run_command(["dvc", "exp", "show", "--json"], workspace, baseline.env).stdout
    )
    experiments = [
        revision
        for entry in shown
        for experiment in entry.get("experiments") or []
        for revision in experiment["revs"]
    ]
    assert len(experiments) == 1, json.dumps(shown)[:2000]
    data = experiments[0]["data"]
    model = data["params"]["params.yaml"]["data"]["model"]
    assert model["_target_"] == "sklearn.ensemble.RandomForestClassifier"
    metrics = data["metrics"]["reports/metrics.json"]["data"]
    assert metrics["roc_auc"] > 0.6, metrics


@pytest.mark.slow
def test_exp_run_with_a_wrong_type_fails_with_the_schema_error(
    baseline: Baseline, workspace: Path
) -> None:
    before = (workspace / "params.yaml").read_text()
    result = run_command(
        ["dvc", "exp", "run", "-S", "model.C=abc"], workspace, baseline.env, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "model.C" in output, output
    assert "'abc'" in output and "could not be converted to Float" in output, output
    assert "Running stage" not in output
    assert (workspace / "params.yaml").read_text() == before


@pytest.mark.slow
def test_plots_show_renders_confusion_and_roc(baseline: Baseline, workspace: Path) -> None:
    result = run_command(["dvc", "plots", "show", "--json"], workspace, baseline.env)
    payload = json.loads(result.stdout)
    assert not payload.get("errors"), payload.get("errors")
    plots = payload["data"]
    assert sorted(plots) == ["reports/plots/confusion.csv", "reports/plots/roc.csv"]
    for name, template_mark in (("confusion", "rect"), ("roc", "line")):
        (rendered,) = plots[f"reports/plots/{name}.csv"]
        assert rendered["type"] == "vega"
        assert rendered["content"]["data"]["values"], name
        assert template_mark in json.dumps(rendered["content"]), name


@pytest.mark.slow
def test_failing_stage_fails_repro_with_one_line_and_no_traceback(
    baseline: Baseline, workspace: Path
) -> None:
    run_command(["bucle", "params", "quarantine.max_bad_share=0.0"], workspace, baseline.env)
    result = run_command(["dvc", "repro"], workspace, baseline.env, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert ran(result) == ["validate"], result.stdout
    failures = [line for line in result.stderr.splitlines() if "validation failed: " in line]
    assert len(failures) == 1, result.stderr
    assert re.fullmatch(
        r"bucle: error: validation failed: .*worst: \w+:\w+ \(\d+ rows?\).*", failures[0]
    ), failures[0]
    tracked = runs(workspace)
    assert [status for _, status, _ in tracked] == ["finished", "failed"]
    assert "validation failed: " in tracked[-1][2]["error"]


SECRET_VALUE = "aws-Zq9sEcReT-value"
SECRET_REFERENCE = "${oc.env:AWS_SECRET}"


def secret_store(workspace: Path) -> list[str]:
    """Overrides that move the artifact store to fsspec with a secret read from the env."""
    return [
        "store=fsspec",
        f"store.url=file://{workspace.parent / 'remote'}",
        f"+store.storage_options.secret={SECRET_REFERENCE}",
    ]


@pytest.mark.slow
def test_a_secret_reference_reaches_params_and_dvc_lock_but_its_value_never(
    baseline: Baseline, workspace: Path
) -> None:
    env = {**baseline.env, "AWS_SECRET": SECRET_VALUE, "OTHER_SECRET": SECRET_VALUE + "2"}
    run_command(["bucle", "params", *secret_store(workspace)], workspace, env)
    result = run_command(["dvc", "repro"], workspace, env)
    assert ran(result) == ["register"], result.stdout  # the register stage reads the store
    for committed in ("params.yaml", "dvc.lock"):
        text = (workspace / committed).read_text()
        assert SECRET_REFERENCE in text, committed
        assert SECRET_VALUE not in text, committed
    assert SECRET_VALUE not in json.dumps(runs(workspace)[-1][2])  # the run's manifest

    # A changed reference is a changed param: DVC reruns the stage that reads it.
    overrides = [
        *secret_store(workspace)[:2],
        "+store.storage_options.secret=${oc.env:OTHER_SECRET}",
    ]
    run_command(["bucle", "params", *overrides], workspace, env)
    assert ran(run_command(["dvc", "repro"], workspace, env)) == ["register"]


@pytest.mark.slow
def test_exp_run_keeps_a_secret_reference_unresolved_in_params(
    baseline: Baseline, workspace: Path
) -> None:
    env = {**baseline.env, "AWS_SECRET": SECRET_VALUE}
    overrides = [arg for override in secret_store(workspace) for arg in ("-S", override)]
    result = run_command(["dvc", "exp", "run", *overrides], workspace, env)
    assert ran(result) == ["register"], result.stdout
    params = (workspace / "params.yaml").read_text()
    assert f"secret: {SECRET_REFERENCE}" in params
    assert SECRET_VALUE not in params
    assert SECRET_VALUE not in (workspace / "dvc.lock").read_text()
    assert SECRET_VALUE not in json.dumps(runs(workspace)[-1][2])


def porcelain(path: Path, env: dict[str, str]) -> str:
    return run_command(["git", "status", "--porcelain"], path, env).stdout


@pytest.mark.slow
def test_a_forced_repro_and_a_fresh_clone_leave_git_clean(
    baseline: Baseline, workspace: Path
) -> None:
    """Every DVC output and committed report is a function of data, config and code.

    Rerunning every stage where they ran (registry and tracker kept), and running the pipeline
    in a fresh clone elsewhere (no outputs, no registry, another absolute path), must reproduce
    the committed dvc.lock and reports to the byte.
    """
    lock = (workspace / "dvc.lock").read_text()
    assert porcelain(workspace, baseline.env) == ""
    clone = workspace.parent / "clone"
    run_command(["git", "clone", "-q", str(workspace), str(clone)], workspace.parent, baseline.env)
    for path, command in ((workspace, ["dvc", "repro", "-f"]), (clone, ["dvc", "repro"])):
        result = run_command(command, path, baseline.env)
        assert ran(result) == list(STAGES), result.stdout
        diff = run_command(["git", "diff"], path, baseline.env).stdout
        assert porcelain(path, baseline.env) == "", diff
        assert (path / "dvc.lock").read_text() == lock


@pytest.mark.slow
def test_with_bytecode_on_running_the_stages_does_not_change_their_dependencies(
    baseline: Baseline, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's Python writes __pycache__/ into framework/ and plugins/, which stages depend on."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    env = {**baseline.env, "PYTHONPATH": str(workspace)}  # import the copy's code, as a clone does
    run_command(["dvc", "repro", "-f"], workspace, env)
    assert list((workspace / "framework").rglob("*.pyc")), "bytecode was not written"
    again = run_command(["dvc", "repro"], workspace, env)
    assert ran(again) == [], again.stdout
    assert "Data and pipelines are up to date" in again.stdout + again.stderr
