"""The second bundled project, ``examples/wine_cultivar``, works on its own.

It is copied alone (no root ``conf/``, no ``framework/`` next to it: Bucle is only the installed
package) into a fresh git repo, and driven with the real ``dvc`` and ``bucle`` commands a user
types from its README. One module-scoped baseline runs ``dvc repro`` once; tests that change
something work on their own copy of it.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, copy_project, run_command

EXAMPLE = ROOT / "examples" / "wine_cultivar"
STAGES = ("ingest", "validate", "featurize", "train", "evaluate", "register")
MODEL_STAGES = ("train", "evaluate", "register")
RUNNING = re.compile(r"^Running stage '([^']+)':", re.MULTILINE)
SKIPPED = re.compile(r"^Stage '([^']+)' didn't change, skipping$", re.MULTILINE)
#: What running the example leaves behind; never part of what a user copies.
GENERATED = (
    ".bucle",
    "outputs",
    "multirun",
    "data",
    "models",
    "reports",
    "dvc.lock",
    "dvc_plots",
    "__pycache__",
)
#: The wine table bundled with scikit-learn: 178 wines, three cultivars; 30% held out.
ROWS, TEST_ROWS, CULTIVARS = 178, 54, {"0", "1", "2"}
MIN_ACCURACY = 0.9  # the example's own gate; logistic regression scores about 0.98


@dataclass(frozen=True)
class Baseline:
    path: Path  # the example, reproduced once and committed with its outputs
    env: dict[str, str]  # DVC's site cache inside the temp dir
    repro: subprocess.CompletedProcess[str]  # the first `dvc repro`


def without_outputs(directory: str, names: list[str]) -> set[str]:
    """``copytree``'s ignore: what running the example wrote at its top level (not conf/data)."""
    if Path(directory) == EXAMPLE:
        return {name for name in names if name in GENERATED}
    if Path(directory) == EXAMPLE / ".dvc":
        return {name for name in names if name in ("cache", "tmp", "config.local")}
    return {name for name in names if name == "__pycache__"}


def copy_example(target: Path, git: bool = True) -> Path:
    """The example's own files, as a user would copy them; with ``git``, a committed repo."""
    shutil.copytree(EXAMPLE, target, ignore=without_outputs)
    if not git:
        return target
    run_command(["git", "init", "-q", "-b", "main"], target)
    run_command(["git", "add", "-A"], target)
    run_command(["git", "commit", "-q", "-m", "wine cultivar project"], target)
    return target


def ran(result: subprocess.CompletedProcess[str]) -> list[str]:
    return RUNNING.findall(result.stdout)


def skipped(result: subprocess.CompletedProcess[str]) -> list[str]:
    return SKIPPED.findall(result.stdout)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    root = tmp_path_factory.mktemp("wine-example")
    env = {"DVC_SITE_CACHE_DIR": str(root / "dvc-site-cache")}
    path = copy_example(root / "wine_cultivar")
    repro = run_command(["dvc", "repro"], path, env)
    run_command(["git", "add", "-A"], path, env)
    run_command(["git", "commit", "-q", "-m", "outputs"], path, env)
    return Baseline(path=path, env=env, repro=repro)


@pytest.fixture
def workspace(baseline: Baseline, tmp_path: Path) -> Path:
    """A private copy of the reproduced baseline (git, DVC cache, .bucle/ state)."""
    return shutil.copytree(baseline.path, tmp_path / "wine_cultivar", symlinks=True)


def test_example_pipeline_depends_only_on_its_own_files() -> None:
    # In a user's project Bucle is an installed package: a dep on framework/ or plugins/ would
    # fail `dvc repro` there ("missing dependency"), so every file dep must be an earlier
    # stage's output.
    stages = yaml.safe_load((EXAMPLE / "dvc.yaml").read_text())["stages"]
    assert tuple(stages) == STAGES
    produced: set[str] = set()
    for name, stage in stages.items():
        assert stage["cmd"] == f"bucle stage {name}"
        for dep in stage.get("deps", []):
            assert dep in produced, f"{name} depends on {dep!r}, which no earlier stage writes"
        for key in ("outs", "metrics", "plots"):
            for out in stage.get(key, []):
                produced.add(next(iter(out)) if isinstance(out, dict) else out)
    for name in ("conf/config.yaml", "params.yaml", ".dvc/config", ".gitignore", "README.md"):
        assert (EXAMPLE / name).is_file(), name


def test_example_params_are_in_sync_with_its_conf(tmp_path: Path) -> None:
    path = copy_example(tmp_path / "wine_cultivar", git=False)
    result = run_command(["bucle", "params", "--check"], path)
    assert "params.yaml is up to date with conf/" in result.stdout
    params = yaml.safe_load((path / "params.yaml").read_text())
    assert params["project"] == "wine_cultivar"
    assert params["data"] == {"name": "sklearn", "dataset": "wine", "target": "cultivar"}
    assert params["features"]["store"] is None


@pytest.mark.slow
def test_repro_runs_every_stage_and_registers_a_multiclass_model(baseline: Baseline) -> None:
    path, env = baseline.path, baseline.env
    assert ran(baseline.repro) == list(STAGES), baseline.repro.stdout

    validation = read_json(path / "reports" / "validation.json")
    assert validation["rows_in"] == ROWS
    assert validation["rows_quarantined"] == 0, [
        check for check in validation["checks"] if not check["passed"]
    ]
    checked = {check["name"] for check in validation["checks"]}
    expected = {
        "alcohol:max",
        "proline:min",
        "cultivar:allowed",
        "consistency:nonflavanoids_within_phenols",
    }
    assert expected <= checked, sorted(checked)

    with (path / "reports" / "plots" / "confusion.csv").open() as file:
        actual = {row["actual"] for row in csv.DictReader(file)}
    assert actual == CULTIVARS

    metrics = read_json(path / "reports" / "metrics.json")
    assert metrics["n_test"] == TEST_ROWS
    assert metrics["accuracy"] > MIN_ACCURACY, metrics
    assert metrics["f1"] > MIN_ACCURACY, metrics

    registration = read_json(path / "reports" / "registration.json")
    assert registration["model"] == "wine_cultivar"
    assert registration["version"] == 1
    assert registration["promoted_to"] == "candidate", registration["gate"]
    listing = run_command(["bucle", "models", "list"], path, env).stdout
    assert re.search(r"^wine_cultivar\s+1\s+candidate\s", listing, re.MULTILINE), listing
    runs = run_command(["bucle", "runs", "list"], path, env).stdout
    assert runs.count("finished") == 1, runs


@pytest.mark.slow
def test_dvc_yaml_declares_every_file_the_stages_write(baseline: Baseline) -> None:
    # An undeclared output is neither cached nor restored by DVC, and a stale declaration fails
    # `dvc repro`: the example's dvc.yaml must follow what the stages write.
    stages = yaml.safe_load((baseline.path / "dvc.yaml").read_text())["stages"]
    declared = {
        next(iter(out)) if isinstance(out, dict) else out
        for stage in stages.values()
        for key in ("outs", "metrics", "plots")
        for out in stage.get(key, [])
    }
    written = {
        file.relative_to(baseline.path).as_posix()
        for directory in ("data", "models", "reports")
        for file in (baseline.path / directory).rglob("*")
        if file.is_file() and file.name != ".gitignore"
    }
    # The register stage's records of the registry's state are deliberately not DVC outputs
    # (dvc.lock must be a function of data, config and code): git ignores them instead.
    records = {"reports/registration.json", "reports/model_card.md"}
    ignored = (baseline.path / ".gitignore").read_text().split()
    assert all(f"/{record}" in ignored for record in records)
    assert written - records == declared


@pytest.mark.slow
def test_slices_and_model_card_cover_every_alcohol_band(baseline: Baseline) -> None:
    path = baseline.path
    bands = read_json(path / "reports" / "slices.json")["columns"]["alcohol_band"]
    assert set(bands) == {"0", "1", "2"}, bands
    assert sum(band["size"] for band in bands.values()) == TEST_ROWS
    metrics = read_json(path / "reports" / "metrics.json")
    worst = metrics["slice_worst_recall"]
    assert worst == min(band["recall"] for band in bands.values())
    registration = read_json(path / "reports" / "registration.json")
    assert registration["slice_gate"]["recall"]["passed"], registration["slice_gate"]

    card = (path / "reports" / "model_card.md").read_text()
    assert card.startswith("# Model card: wine_cultivar version 1")
    assert "Wine authenticity lab" in card
    assert "`alcohol_band = bucket(alcohol, 12.5, 13.5)`" in card


@pytest.mark.slow
def test_derived_features_reach_the_training_table(baseline: Baseline) -> None:
    import pandas as pd

    train = pd.read_parquet(baseline.path / "data" / "train.parquet")
    assert len(train) == ROWS - TEST_ROWS
    ratio = train["flavanoids"] / train["total_phenols"]
    assert train["flavanoid_ratio"].to_numpy() == pytest.approx(ratio.to_numpy())
    assert set(train["alcohol_band"]) == {0, 1, 2}


@pytest.mark.slow
def test_second_repro_runs_nothing(baseline: Baseline, workspace: Path) -> None:
    again = run_command(["dvc", "repro"], workspace, baseline.env)
    assert "Running stage" not in again.stdout + again.stderr
    assert skipped(again) == list(STAGES), again.stdout


@pytest.mark.slow
def test_exp_run_composes_the_example_conf(baseline: Baseline, workspace: Path) -> None:
    # DVC composes this project's conf/ in its own process: the upstream stages stay cached.
    result = run_command(
        ["dvc", "exp", "run", "-S", "model=random_forest"], workspace, baseline.env
    )
    assert ran(result) == list(MODEL_STAGES), result.stdout
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    assert params["model"]["_target_"] == "sklearn.ensemble.RandomForestClassifier"
    assert params["data"]["dataset"] == "wine"
    assert read_json(workspace / "reports" / "metrics.json")["accuracy"] > MIN_ACCURACY


@pytest.mark.slow
def test_bucle_run_trains_in_its_own_run_directory(baseline: Baseline, workspace: Path) -> None:
    run_command(["bucle", "run", "model=random_forest"], workspace, baseline.env)
    (metrics_file,) = (workspace / "outputs" / "runs").glob("*/*/reports/metrics.json")
    assert read_json(metrics_file)["accuracy"] > MIN_ACCURACY
    runs = run_command(["bucle", "runs", "list"], workspace, baseline.env).stdout
    assert runs.count("finished") == 2, runs
    assert "RandomForestClassifier" in runs, runs
    listing = run_command(["bucle", "models", "list"], workspace, baseline.env).stdout
    assert re.search(r"^wine_cultivar\s+2\s", listing, re.MULTILINE), listing
    # dvc repro's outputs are untouched: bucle run writes only under outputs/ and .bucle/.
    status = run_command(["dvc", "status"], workspace, baseline.env).stdout
    assert "up to date" in status, status


@pytest.mark.slow
def test_example_is_its_own_dvc_project_inside_the_checkout(tmp_path: Path) -> None:
    # The example has its own .dvc/, so the root project's dvc never lists or runs its stages,
    # and `cd examples/wine_cultivar && dvc repro` (the README's command) runs the example's.
    root = copy_project(tmp_path / "repo", git=False)
    example = copy_example(root / "examples" / "wine_cultivar", git=False)
    run_command(["git", "init", "-q", "-b", "main"], root)
    run_command(["git", "add", "-A"], root)
    run_command(["git", "commit", "-q", "-m", "checkout"], root)
    env = {"DVC_SITE_CACHE_DIR": str(tmp_path / "dvc-site-cache")}

    listed = run_command(["dvc", "stage", "list", "--all"], root, env).stdout
    assert "examples" not in listed, listed
    assert re.search(r"^ingest\s", listed, re.MULTILINE), listed

    assert run_command(["dvc", "root"], example, env).stdout.strip() == "."
    status = json.loads(run_command(["dvc", "status", "--json"], example, env).stdout)
    assert tuple(status) == STAGES, status
    first = run_command(["dvc", "repro", "ingest"], example, env)
    assert ran(first) == ["ingest"], first.stdout
    assert (example / "data" / "raw.parquet").is_file()
    assert not (root / "data").exists()  # the root pipeline did not run
