"""train: build preprocessing from the data's schema, fit the configured model, save with skops."""

from __future__ import annotations

from pathlib import Path

from framework.modeling.artifact import ModelBundle, save_model
from framework.modeling.estimator import build_estimator, build_pipeline
from framework.modeling.schema import infer_schema, prepare_inputs
from framework.pipeline.context import RunContext
from framework.tables import read_table


def run(context: RunContext) -> dict[str, Path]:
    features = context.cfg.features
    train = read_table(context.layout.train)
    schema = infer_schema(train, context.target, list(features.exclude), dict(features.derived))
    pipeline = build_pipeline(schema, build_estimator(context.cfg.model))
    pipeline.fit(prepare_inputs(train, schema), train[context.target])
    save_model(context.layout.model, ModelBundle(pipeline, schema))
    return {"model": context.layout.model}
