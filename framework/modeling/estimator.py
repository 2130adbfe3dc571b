"""The trainable pipeline: preprocessing built from the schema in front of the configured model."""

from __future__ import annotations

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
