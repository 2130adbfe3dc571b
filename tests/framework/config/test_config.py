"""The config composes, stays in sync with params.yaml, and rejects bad keys and values."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from framework.config.compose import (
    compose_config,
    group_options,
    load_params,
    render_params,
    validate_config,
)
from framework.errors import ConfigError
from framework.hooks.host import ROLES, build_plugin, selected
from framework.modeling.estimator import build_estimator

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf"


def options(group: str) -> list[str]:
    return group_options(group, CONF)


def test_params_yaml_equals_the_composition_of_conf() -> None:
    committed = (ROOT / "params.yaml").read_text()
    assert committed == render_params(compose_config(conf_dir=CONF)), (
        "params.yaml is stale: run `bucle params` and commit it"
    )


def test_params_yaml_loads_and_validates() -> None:
    cfg = load_params(ROOT / "params.yaml")
    assert cfg.model._target_ == "sklearn.linear_model.LogisticRegression"
    assert cfg.data.name == "synthetic_churn"


@pytest.mark.parametrize("model", options("model"))
def test_every_model_option_composes_and_builds_an_estimator(model: str) -> None:
    cfg = validate_config(compose_config([f"model={model}"], CONF), model)
    estimator = build_estimator(cfg.model)
    assert hasattr(estimator, "fit")
    assert estimator.get_params()["random_state"] == cfg.seed


@pytest.mark.parametrize(
    "overrides",
    [
        ["data=sklearn"],
        ["data=sklearn", "data.dataset=wine"],
        ["data=file", "data.path=x.csv", "data.target=y"],
        ["experiment=balanced_forest"],
        ["data=synthetic_sales"],
    ],
)
def test_every_plugin_option_builds(overrides: list[str]) -> None:
    cfg = validate_config(compose_config(overrides, CONF), "test")
    for role in ROLES.values():
        for name, plugin_options in selected(role, cfg).items():
            assert build_plugin(role, name, plugin_options) is not None


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_composes(experiment: str) -> None:
    cfg = validate_config(compose_config([f"experiment={experiment}"], CONF), experiment)
    build_estimator(cfg.model)


@pytest.mark.parametrize("sweep", options("sweep"))
def test_every_sweep_declares_a_search_space(sweep: str) -> None:
    from hydra import compose, initialize_config_dir

    from framework.config.schema import register_configs

    register_configs()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"sweep={sweep}"], return_hydra_config=True)
    assert cfg.hydra.sweeper.params, f"sweep/{sweep}.yaml has no hydra.sweeper.params"
    assert cfg.hydra.mode.name == "MULTIRUN"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("seed=abc", "seed: Value 'abc'"),
        ("features.test_sise=0.3", "features.test_sise"),
        ("model.C=abc", "model.C"),
        ("model=nope", "available: auto, default, hist_gradient_boosting, hist_gradient_boosting_"),
        ("data.pth=x", "to add a new key use +data.pth=x"),
    ],
)
def test_bad_overrides_fail_at_composition_naming_the_key(override: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        compose_config([override], CONF)
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_a_missing_required_value_is_named() -> None:
    with pytest.raises(ConfigError, match=r"data\.path is required"):
        validate_config(compose_config(["data=file"], CONF), "test")


def test_params_file_is_validated_against_the_schema(tmp_path: Path) -> None:
    text = (ROOT / "params.yaml").read_text().replace("test_size: 0.2", "test_size: lots")
    params = tmp_path / "params.yaml"
    params.write_text(text)
    with pytest.raises(ConfigError, match=r"features\.test_size"):
        load_params(params)


def test_an_unknown_key_slipped_into_params_is_rejected(tmp_path: Path) -> None:
    raw = OmegaConf.load(ROOT / "params.yaml")
    raw.features = {**raw.features, "derivd": {}}
    params = tmp_path / "params.yaml"
    params.write_text(OmegaConf.to_yaml(raw))
    with pytest.raises(ConfigError, match=r"features\.derivd"):
        load_params(params)


def test_many_roles_combine_plugins_by_name() -> None:
    cfg = validate_config(compose_config(["+tracker.other.path=x"], CONF), "test")
    assert set(selected(ROLES["tracker"], cfg)) == {"local", "other"}


def test_data_options_carry_their_own_project_name() -> None:
    assert compose_config([], CONF).project == "churn"
    wine = compose_config(["data=sklearn", "data.dataset=wine"], CONF)
    assert OmegaConf.to_container(wine, resolve=True)["project"] == "wine"
