"""``data=synthetic_sales`` brings a model only when nothing chose one.

Before, the sales data option overrode the model group from inside itself, which beats
``conf/config.yaml``'s own choice: a project on the sales data that chose ridge trained a
gradient-boosted forest. Like the other data options, its model is now the default one
(``model: default`` → ``model/default/synthetic_sales.yaml``), and any explicit choice wins.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from framework.config.compose import compose_config
from tests.conftest import ROOT
from tests.framework.config.test_model_choice import choose_in_config

SALES = ["data=synthetic_sales"]
STORE_SALES = ROOT / "examples" / "store_sales" / "conf"
FOREST = "sklearn.ensemble.HistGradientBoostingRegressor"


def model_of(overrides: list[str], conf: Path = ROOT / "conf") -> dict[str, Any]:
    """The composed ``model`` section, resolved: what training instantiates."""
    cfg = compose_config(overrides, conf)
    return OmegaConf.to_container(cfg, resolve=True)["model"]


@pytest.fixture(
    params=[(ROOT / "conf", SALES), (STORE_SALES, [])], ids=["root_data_sales", "store_sales"]
)
def ridge_conf(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, list[str]]:
    """A project's conf/ on the sales data with ``model: ridge`` chosen in its config.yaml, and
    the overrides that select the sales data there (the store-sales example's is its own)."""
    source, overrides = request.param
    conf = shutil.copytree(source, tmp_path / "conf")
    choose_in_config(conf, "ridge")
    return conf, overrides


def test_nothing_chosen_keeps_the_sales_model() -> None:
    explicit = model_of([*SALES, "model=hist_gradient_boosting_regressor"])
    assert explicit["_target_"] == FOREST
    assert model_of(SALES) == explicit
    assert model_of([], STORE_SALES) == explicit


def test_a_model_chosen_in_conf_config_yaml_is_kept_with_the_sales_data(
    ridge_conf: tuple[Path, list[str]],
) -> None:
    conf, overrides = ridge_conf
    assert model_of(overrides, conf)["_target_"] == "sklearn.linear_model.Ridge"
    assert model_of([*overrides, "model.alpha=3.0"], conf)["alpha"] == 3.0


def test_the_command_line_wins_with_the_sales_data() -> None:
    assert model_of([*SALES, "model=ridge"])["_target_"] == "sklearn.linear_model.Ridge"
    assert model_of(["model=ridge"], STORE_SALES)["_target_"] == "sklearn.linear_model.Ridge"
    assert model_of([*SALES, "model=auto"])["_target_"] == "auto"
