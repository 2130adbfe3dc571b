"""featurize: add the declared derived columns and split train/test, seeded and stratified."""

from __future__ import annotations

from pathlib import Path

from framework.errors import ConfigError
from framework.features.expressions import compute_features
from framework.pipeline.context import RunContext
from framework.tables import read_table, write_table


def run(context: RunContext) -> dict[str, Path]:
    from sklearn.model_selection import train_test_split

    features = context.cfg.features
    frame = compute_features(read_table(context.layout.validated), dict(features.derived))
    test_size = float(features.test_size)
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"features.test_size={test_size} must be between 0 and 1, e.g. 0.2")
    labels = frame[context.target]
    stratify = None
    if features.stratify and labels.value_counts().min() >= 2:
        stratify = labels
    train, test = train_test_split(
        frame, test_size=test_size, random_state=context.seed, stratify=stratify
    )
    layout = context.layout
    return {"train": write_table(train, layout.train), "test": write_table(test, layout.test)}
