"""The trainable pipeline: preprocessing built from the schema in front of the configured model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import ConfigError
from framework.modeling.schema import FeatureSchema

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: One-hot columns per categorical feature; rarer categories share an "infrequent" column.
MAX_CATEGORIES = 20


#: What ``model=auto`` builds for each task.
AUTO_MODELS = {
    "classification": {
        "_target_": "sklearn.linear_model.LogisticRegression",
        "C": 1.0,
        "max_iter": 1000,
    },
    "regression": {"_target_": "sklearn.linear_model.Ridge", "alpha": 1.0},
}


def build_estimator(model_config: Any, task: str = "classification") -> Any:
    """Instantiate ``model`` config (``_target_`` plus options) with Hydra.

    ``_target_: auto`` builds the task's default model (:data:`AUTO_MODELS`), seeded with its
    ``random_state`` where the model takes one.
    """
    from hydra.utils import instantiate

    if model_config.get("_target_") == "auto":
        chosen = dict(AUTO_MODELS[task])
        if task == "classification":
            chosen["random_state"] = model_config.get("random_state", 0)
        model_config = chosen
    try:
        estimator = instantiate(model_config)
    except Exception as error:
        from framework.config.compose import describe_config_error

        raise ConfigError(
            f"model: cannot build {model_config.get('_target_')!r}: "
            f"{describe_config_error(error)}; check the model= option and its keys"
        ) from error
    if not hasattr(estimator, "fit") or not hasattr(estimator, "predict"):
        raise ConfigError(
            f"model._target_={model_config.get('_target_')!r} is not a scikit-learn estimator "
            "(it has no fit/predict); choose model=auto or a model option from `bucle run --help`"
        )
    return estimator


def declared_model_targets(conf_dir: Path | None = None) -> set[str]:
    """Every ``_target_`` a model option declares: the built-in schemas, ``model=auto``'s
    choices, and each option of the ``model`` group on the config search path (the project's
    ``conf/model/``, Bucle's and installed plugins'), nested targets included.

    A stored run record is data, not code: reproducing it may build only these, so a record
    edited to name ``pandas.read_pickle`` (or ``os.system`` inside an option) builds nothing.
    """
    from hydra import compose, initialize_config_dir

    from framework.config.compose import CONFIG_NAME, find_conf_dir, group_options
    from framework.config.schema import MODEL_SCHEMAS, register_configs

    declared = {schema._target_ for schema in MODEL_SCHEMAS.values()}
    declared |= {model["_target_"] for model in AUTO_MODELS.values()}
    conf_dir = conf_dir or find_conf_dir()
    options = group_options("model", conf_dir)
    register_configs()
    with initialize_config_dir(str(conf_dir), version_base="1.3", job_name="bucle"):
        for option in options:
            try:
                cfg = compose(config_name=CONFIG_NAME, overrides=[f"model={option}"])
            except Exception:  # an option that does not compose declares nothing
                continue
            declared |= set(model_targets(cfg.get("model")))
    return declared


def model_targets(model_config: Any) -> Iterator[str]:
    """Every ``_target_`` in a model config, at any depth (Hydra instantiates nested ones)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(model_config, (DictConfig, ListConfig)):
        model_config = OmegaConf.to_container(model_config, resolve=False)
    if isinstance(model_config, dict):
        for key, value in model_config.items():
            if key == "_target_":
                yield str(value)
            else:
                yield from model_targets(value)
    elif isinstance(model_config, list):
        for value in model_config:
            yield from model_targets(value)


def check_declared_targets(model_config: Any, declared: set[str], source: str) -> None:
    """Refuse, naming it, any ``_target_`` in ``model_config`` that no model option declares."""
    for target in model_targets(model_config):
        if target not in declared:
            raise ConfigError(
                f"{source}: model._target_ {target!r} is not an estimator any model option "
                "declares, so it is not built from a stored record; declare it in a model "
                "option (conf/model/NAME.yaml or a plugin's) or run again with model=NAME"
            )


def build_pipeline(schema: FeatureSchema, estimator: Any) -> Pipeline:
    """Impute and scale numbers, impute and one-hot encode categories, then the estimator."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    transformers = []
    if schema.numeric:
        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        transformers.append(("numeric", numeric, schema.numeric))
    if schema.categorical:
        categorical = Pipeline(
            [
                (
                    "impute",
                    SimpleImputer(
                        missing_values=np.nan, strategy="constant", fill_value="__missing__"
                    ),
                ),
                (
                    "encode",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        max_categories=MAX_CATEGORIES,
                        sparse_output=False,
                    ),
                ),
            ]
        )
        transformers.append(("categorical", categorical, schema.categorical))
    preprocess = ColumnTransformer(transformers, remainder="drop")
    return Pipeline([("preprocess", preprocess), ("model", estimator)])
