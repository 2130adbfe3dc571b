"""The regression example, ``examples/store_sales``, works on its own with the real DVC: copied
alone into a fresh git repo, reproduced, its regression plots rendered, and composed by DVC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_command

EXAMPLE = ROOT / "examples" / "store_sales"

pytestmark = pytest.mark.slow


def test_the_sales_example_reproduces_renders_its_plots_and_runs_an_experiment(
    tmp_path: Path,
) -> None:
    project = tmp_path / "store_sales"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".bucle", "data", "models"))
    env = {"DVC_SITE_CACHE_DIR": str(tmp_path / "dvc-site-cache")}
    run_command(["git", "init", "-q", "-b", "main"], project)
    run_command(["git", "add", "-A"], project)
    run_command(["git", "commit", "-q", "-m", "example"], project)
    run_command(["bucle", "params", "--check"], project, env)

    repro = run_command(["dvc", "repro"], project, env)
    assert "Running stage 'register'" in repro.stdout
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert {"mae", "rmse", "r2", "mape", "business_value_uplift"} <= set(metrics)
    assert metrics["r2"] > 0.5 and metrics["business_value_uplift"] > 0
    listed = run_command(["bucle", "models", "list"], project, env).stdout.splitlines()
    assert listed[1].split()[:3] == ["sales", "1", "candidate"]

    plots = json.loads(run_command(["dvc", "plots", "show", "--json"], project, env).stdout)
    assert not plots.get("errors"), plots.get("errors")
    rendered = json.dumps(plots)
    assert "predicted_vs_actual.csv" in rendered and "residuals.csv" in rendered
    assert "didn't change, skipping" in run_command(["dvc", "repro"], project, env).stdout

    run_command(["dvc", "exp", "run", "-S", "model.learning_rate=0.05"], project, env)
    shown = run_command(["dvc", "exp", "show", "--json"], project, env).stdout
    assert "0.05" in shown
