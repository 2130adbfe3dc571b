"""An explicit model choice always wins; ``model=auto`` applies only when nothing chose one.

Before, ``data=file`` overrode the model group with ``auto`` from inside the data option, which
beats ``conf/config.yaml``'s own choice: a project that chose random_forest trained a logistic
regression, and sweeping ``model.n_estimators`` failed with Hydra's multi-line error.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from framework.config.compose import compose_config
from tests.conftest import ROOT

TABLE = ["data=file", "data.path=x.csv", "data.target=y"]


def chosen(overrides: list[str], conf: Path = ROOT / "conf") -> str:
    return str(compose_config(overrides, conf).model._target_)


def choose_in_config(conf: Path, model: str) -> None:
    config = conf / "config.yaml"
    text = config.read_text()
    line = next(line for line in text.splitlines() if line.startswith("  - model: "))
    config.write_text(text.replace(line, f"  - model: {model}"))


@pytest.fixture
def forest_conf(tmp_path: Path) -> Path:
    """The project's conf/ with ``model: random_forest`` chosen in conf/config.yaml."""
    conf = shutil.copytree(ROOT / "conf", tmp_path / "conf")
    choose_in_config(conf, "random_forest")
    return conf


def test_data_file_alone_gives_auto_and_the_churn_data_its_logreg() -> None:
    assert chosen(TABLE) == "auto"
    assert chosen([]) == "sklearn.linear_model.LogisticRegression"
    assert chosen(["data=sklearn"]) == "sklearn.linear_model.LogisticRegression"


def test_a_model_chosen_in_conf_config_yaml_is_kept_with_data_file(forest_conf: Path) -> None:
    assert chosen(TABLE, forest_conf) == "sklearn.ensemble.RandomForestClassifier"
    assert compose_config([*TABLE, "model.n_estimators=7"], forest_conf).model.n_estimators == 7


def test_the_command_line_and_an_experiment_win_too(forest_conf: Path) -> None:
    assert chosen([*TABLE, "model=ridge"], forest_conf) == "sklearn.linear_model.Ridge"
    assert chosen([*TABLE, "model=auto"], forest_conf) == "auto"
    experiment = chosen([*TABLE, "experiment=balanced_forest"])
    assert experiment == "sklearn.ensemble.RandomForestClassifier"


def test_bucle_info_defaults_shows_why_the_model_is_what_it_is(project: Path, run) -> None:
    shown = run(["bucle", "run", "--info", "defaults", *TABLE], project).stdout
    assert "model/default" in shown and "model/logreg" not in shown  # nothing chose: auto
    shown = run(["bucle", "run", "--info", "defaults"], project).stdout
    assert "model/default/synthetic_churn" in shown and "model/logreg" in shown


def test_a_sweep_over_a_key_of_the_chosen_model_runs(project: Path, run) -> None:
    from plugins.sources.synthetic_churn import generate_churn_table

    table = project / "churn.csv"
    generate_churn_table(600, date(2026, 1, 1), 0.0, 0.0, seed=3).to_csv(table, index=False)
    choose_in_config(project / "conf", "random_forest")
    result = run(
        [
            *("bucle", "run", "-m", "data=file", f"data.path={table}", "data.target=churned"),
            *("project=forest", "model.n_estimators=5,10"),
        ],
        project,
    )
    assert "sweep: best of 2 runs" in result.stderr
    listed = run(["bucle", "runs", "list", "project=forest"], project).stdout
    assert listed.count("RandomForestClassifier") == 2
