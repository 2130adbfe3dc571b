"""Typed schemas of the framework's own config sections, registered in Hydra's ConfigStore.

Hydra merges every composed config into these dataclasses, so a wrong type (``seed=abc``) or an
unknown key (``features.test_sise=0.3``) fails at composition with the key's full path. Plugin
sections (``data``, ``validate``, ``tracker``, ``store``, ``registry``, ``deploy``, ``monitor``,
``alert``, ``hooks``) are open
mappings here: each plugin's constructor signature is their schema, checked when it is loaded.

This module is imported by Hydra's plugin scan inside DVC's process (see
``hydra_plugins/bucle_config``), so it imports nothing but dataclasses, omegaconf and hydra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

#: Keys of the ``data`` section that the framework reads; every other key is a source option.
DATA_FRAMEWORK_KEYS = ("name", "target")


@dataclass
class PathsConfig:
    """Where stages read and write. Everything else interpolates these."""

    work: str = "."
    state: str = ".bucle"
    data: str = "${paths.work}/data"
    models: str = "${paths.work}/models"
    reports: str = "${paths.work}/reports"


@dataclass
class QuarantineConfig:
    """What the ``validate`` stage does with rows that break a check."""

    max_bad_share: float = 0.05
    min_score: float = 0.0


@dataclass
class UndersampleConfig:
    """Keep only a share of one group's rows in the *training* split (a sampling-bias study)."""

    column: Any = None
    value: Any = None
    keep_share: float = 1.0


@dataclass
class FeaturesConfig:
    """Derived columns, the feature store, and the train/test split made by ``featurize``."""

    derived: dict[str, str] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    test_size: float = 0.2
    stratify: bool = True
    entity: Any = None
    timestamp: Any = None
    store: Any = None
    undersample: UndersampleConfig = field(default_factory=UndersampleConfig)


@dataclass
class BusinessConfig:
    """Money: for classification the value of each confusion-matrix cell per example, for
    regression the value per unit predicted over or under the actual; scaled to a population."""

    currency: str = "USD"
    period: str = "month"
    population: int = 0
    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    tn: float = 0.0
    matrix: dict[str, dict[str, float]] = field(default_factory=dict)
    optimize_threshold: bool = False
    over: float = 0.0  # regression: value per unit predicted above the actual (stock left over)
    under: float = 0.0  # regression: value per unit predicted below the actual (sales lost)


@dataclass
class ModelCardConfig:
    """What a model card says beyond the numbers: who owns the model and what it is for."""

    owner: str = ""
    intended_use: str = ""
    limitations: str = ""


@dataclass
class ThresholdConfig:
    """How the train stage chooses a binary model's decision threshold without money:
    ``optimize`` recall (at ``min_precision``), precision (at ``min_recall``) or f1; null keeps
    the estimator's own (or ``business.optimize_threshold``'s)."""

    optimize: Any = None
    min_precision: Any = None
    min_recall: Any = None


@dataclass
class EvaluateConfig:
    """Metrics for every audience and the gate before the ``candidate`` alias moves."""

    positive_label: Any = None
    gate: dict[str, float] = field(default_factory=dict)
    slices: list[str] = field(default_factory=list)
    slice_metric: Any = None  # null: recall for classification, mae for regression
    min_slice_size: int = 30
    slice_gate: dict[str, float] = field(default_factory=dict)
    business: BusinessConfig = field(default_factory=BusinessConfig)
    model_card: ModelCardConfig = field(default_factory=ModelCardConfig)
    # Precision floors: metrics.json reports recall_at_precision_<percent> for each (binary).
    recall_at_precision: list[float] = field(default_factory=list)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)


@dataclass
class ServeConfig:
    """The inference service started by ``bucle serve``: where it listens, which alias it
    serves, how much one request may carry, and how often it re-reads the alias and moves the
    inference log's buffered rows into Parquet; how long a body may take to arrive, how many
    connections are served at once, and whether it may listen beyond loopback without a token."""

    host: str = "127.0.0.1"
    port: int = 8000
    alias: str = "production"
    max_records: int = 1000
    max_body_bytes: int = 1_000_000
    poll_seconds: float = 2.0
    flush_seconds: float = 5.0
    body_timeout: float = 10.0
    max_connections: int = 100
    keep_alive_seconds: float = 5.0
    allow_open: bool = False
    # Bearer tokens (text, or null for the BUCLE_SERVE_TOKEN / BUCLE_PREDICT_TOKEN variable):
    # the write token every state-changing endpoint needs, and /predict's (null: open).
    token: Any = None
    predict_token: Any = None
    # A regression label's plausible range [lo, hi]; null: the training target's range widened
    # by label_margin spans on each side.
    label_bounds: Any = None
    label_margin: float = 10.0
    # validate.rules at serving time: off | warn (answer, flag, count, log) | refuse (422).
    rules: str = "warn"


@dataclass
class RetrainTriggers:
    """When ``bucle retrain --if-needed`` retrains; a null threshold is switched off."""

    drift_share: Any = 0.5
    performance_drop: Any = 0.05
    max_age_days: Any = None


@dataclass
class RetrainData:
    """What a retrained model learns from: ``new_only`` (labelled production rows),
    ``combined`` (the original data plus them) or ``sliding_window`` (the newest
    ``window_rows`` of both, production rows being the newest)."""

    strategy: str = "combined"
    window_rows: int = 5000
    min_new_rows: int = 100


@dataclass
class ObjectiveConfig:
    """What a sweep optimises: the metric each ``bucle run -m`` job returns to the sweeper."""

    metric: str = "roc_auc"
    direction: str = "maximize"  # maximize | minimize; Optuna's direction interpolates this


@dataclass
class RetrainConfig:
    """The retraining policy: triggers, data, and the gate against the production model."""

    triggers: RetrainTriggers = field(default_factory=RetrainTriggers)
    data: RetrainData = field(default_factory=RetrainData)
    gate_metric: str = "roc_auc"
    min_improvement: float = 0.001  # > 0: a tie or a gain within noise never replaces production
    release: bool = True


@dataclass
class LogregSchema:
    _target_: str = "sklearn.linear_model.LogisticRegression"
    C: float = 1.0
    penalty: str = "l2"
    max_iter: int = 1000
    class_weight: Any = None
    random_state: int = 0


@dataclass
class RandomForestSchema:
    _target_: str = "sklearn.ensemble.RandomForestClassifier"
    n_estimators: int = 200
    max_depth: Any = None
    min_samples_leaf: int = 1
    max_features: Any = "sqrt"
    class_weight: Any = None
    n_jobs: int = 1
    random_state: int = 0


@dataclass
class HistGradientBoostingSchema:
    _target_: str = "sklearn.ensemble.HistGradientBoostingClassifier"
    learning_rate: float = 0.1
    max_iter: int = 200
    max_leaf_nodes: int = 31
    max_depth: Any = None
    l2_regularization: float = 0.0
    early_stopping: bool = False
    class_weight: Any = None
    random_state: int = 0


@dataclass
class BucleConfig:
    """The whole resolved config of one run."""

    project: str = "churn"
    seed: int = 42
    task: str = "auto"  # auto | classification | regression (auto: read off the target)
    paths: PathsConfig = field(default_factory=PathsConfig)
    data: dict[str, Any] = MISSING
    validate: dict[str, Any] = field(default_factory=dict)
    quarantine: QuarantineConfig = field(default_factory=QuarantineConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    model: Any = MISSING
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    tracker: dict[str, Any] = field(default_factory=dict)
    store: dict[str, Any] = MISSING
    registry: dict[str, Any] = MISSING
    serve: ServeConfig = field(default_factory=ServeConfig)
    # A project whose conf/ has no ``deploy`` group still gets the built-in local deployer.
    deploy: dict[str, Any] = field(default_factory=lambda: {"name": "local"})
    monitor: dict[str, Any] = field(default_factory=dict)
    alert: dict[str, Any] = field(default_factory=dict)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    hooks: dict[str, Any] = field(default_factory=dict)


@dataclass
class AutoModelSchema:
    """``model=auto``: logistic regression for classification, ridge for regression."""

    _target_: str = "auto"
    random_state: int = 0


@dataclass
class RidgeSchema:
    _target_: str = "sklearn.linear_model.Ridge"
    alpha: float = 1.0
    random_state: int = 0  # used by the sag/saga solvers only


@dataclass
class RandomForestRegressorSchema:
    _target_: str = "sklearn.ensemble.RandomForestRegressor"
    n_estimators: int = 200
    max_depth: Any = None
    min_samples_leaf: int = 1
    max_features: Any = 1.0
    n_jobs: int = 1
    random_state: int = 0


@dataclass
class HistGradientBoostingRegressorSchema:
    _target_: str = "sklearn.ensemble.HistGradientBoostingRegressor"
    loss: str = "squared_error"
    learning_rate: float = 0.1
    max_iter: int = 200
    max_leaf_nodes: int = 31
    max_depth: Any = None
    l2_regularization: float = 0.0
    early_stopping: bool = False
    quantile: Any = None  # with loss=quantile: the quantile to predict (see docs/regression.md)
    random_state: int = 0


#: Schemas of the ``model`` group's options, stored as ``schemas/model/<option>`` so that
#: ``conf/model/<option>.yaml`` lists ``/schemas/model@_here_: <option>`` in its defaults.
MODEL_SCHEMAS = {
    "logreg": LogregSchema,
    "random_forest": RandomForestSchema,
    "hist_gradient_boosting": HistGradientBoostingSchema,
    "auto": AutoModelSchema,
    "ridge": RidgeSchema,
    "random_forest_regressor": RandomForestRegressorSchema,
    "hist_gradient_boosting_regressor": HistGradientBoostingRegressorSchema,
}


def register_configs() -> None:
    """Store the schemas in Hydra's ConfigStore; safe to call any number of times."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="bucle_schema", node=BucleConfig)
    for name, schema in MODEL_SCHEMAS.items():
        store.store(group="schemas/model", name=name, node=schema)
