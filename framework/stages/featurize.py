"""featurize: add the declared derived columns, split train/test (seeded, stratified), optionally
thin out one group of training rows, and write the feature table to the feature store.

``features.undersample`` exists for sampling-bias studies: keeping only a share of, say, one
region's training rows shows how a model treats a group it saw too little of. Test rows are
never touched, so the evaluation still measures every group as it really is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import ConfigError, DataError
from framework.features.expressions import compute_features
from framework.features.table import feature_table, require_column, store_keys
from framework.files import write_json
from framework.modeling.task import CLASSIFICATION, infer_task
from framework.pipeline.context import RunContext
from framework.tables import read_table, write_table

if TYPE_CHECKING:
    import pandas as pd


def run(context: RunContext) -> dict[str, Path]:
    from sklearn.model_selection import train_test_split

    features = context.cfg.features
    frame = compute_features(read_table(context.layout.validated), dict(features.derived))
    test_size = float(features.test_size)
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"features.test_size={test_size} must be between 0 and 1, e.g. 0.2")
    stored = context.host.active("feature_store")
    # Check the store's keys before minutes of work, not after.
    keys = store_keys(features, frame.columns) if stored else None
    require_enough_rows(len(frame), test_size)  # after the config checks: fix those first
    labels = frame[context.target]
    stratify = None
    classified = infer_task(labels, context.target, str(context.cfg.task)) == CLASSIFICATION
    if features.stratify and classified and labels.value_counts().min() >= 2:
        stratify = labels  # a regression target is split at random
    train, test = train_test_split(
        frame, test_size=test_size, random_state=context.seed, stratify=stratify
    )
    train, undersampled = undersample(train, features.undersample, context.seed)

    rows_stored = None
    if keys is not None:
        entity, timestamp = keys
        table = feature_table(frame, context.target, entity, timestamp, features.exclude)
        rows_stored = context.host.hook.write_features(
            frame=table, entity=entity, timestamp=timestamp
        )
    layout = context.layout
    report = layout.featurize_report
    write_json(
        report,
        {
            "rows": len(frame),
            "train_rows": len(train),
            "test_rows": len(test),
            "derived": list(features.derived),
            "undersample": undersampled,
            "feature_store": None
            if keys is None
            else {"name": next(iter(stored)), "rows_written": int(rows_stored or 0)},
        },
    )
    return {
        "train": write_table(train, layout.train),
        "test": write_table(test, layout.test),
        "featurize_report": report,
    }


#: Fewer validated rows than this cannot give a train split to fit and a test split to grade:
#: with the default test_size of 0.2, 10 rows leave 2 test rows, the least a metric such as
#: ROC AUC (one row of each class) can be computed on.
MIN_ROWS = 10


def require_enough_rows(rows: int, test_size: float) -> None:
    """Say "too few rows" here, instead of a splitter's traceback or a gate blaming a metric
    that a one-row test split could not produce."""
    if rows < MIN_ROWS:
        noun = "row" if rows == 1 else "rows"
        raise DataError(
            f"too few rows: the validated table has {rows} {noun}, and a train/test split "
            f"(features.test_size={test_size:g}) needs at least {MIN_ROWS}; use a larger "
            "table (see reports/validation.json for rows quarantined by validate)"
        )


def undersample(
    train: pd.DataFrame, settings: Any, seed: int
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Keep a seeded random ``keep_share`` of the training rows where ``column == value``.

    ``value: null`` selects the rows where the column is missing. Returns the training rows (in
    their original order) and what was done, or ``None`` when ``keep_share`` is 1 (off).
    """
    import numpy as np

    keep_share = float(settings.keep_share)
    if not 0.0 <= keep_share <= 1.0:
        raise ConfigError(
            f"features.undersample.keep_share={keep_share} must be between 0 and 1 "
            "(1.0 keeps every row, i.e. off)"
        )
    if keep_share == 1.0:
        return train, None
    column, value = settings.column, settings.value
    columns = [str(name) for name in train.columns]
    if column is None:
        raise ConfigError(
            f"features.undersample.keep_share={keep_share} needs features.undersample.column "
            "and .value: the group of training rows to thin out, e.g. column=region value=west"
        )
    series = train[require_column("features.undersample.column", column, columns)]
    matches = _matches(series, value)
    positions = np.flatnonzero(matches)
    if value is not None and len(positions) == 0:
        seen = sorted({str(v) for v in series.dropna().unique()})[:20]
        raise ConfigError(
            f"features.undersample.value={value!r} matches no training row of column "
            f"{column!r}; values there: {', '.join(seen)}"
        )
    kept = round(keep_share * len(positions))
    rng = np.random.default_rng(seed)
    dropped = rng.choice(positions, size=len(positions) - kept, replace=False)
    keep = np.ones(len(train), dtype=bool)
    keep[dropped] = False
    summary = {
        "column": str(column),
        "value": value,
        "keep_share": keep_share,
        "matched": len(positions),
        "kept": kept,
    }
    return train.iloc[np.flatnonzero(keep)], summary


def _matches(series: pd.Series, value: Any) -> Any:
    """Rows equal to ``value``; a value written in YAML as text also matches a number (``"1"``
    matches 1) and vice versa, since config values and column types need not agree."""
    import numpy as np

    if value is None:
        return series.isna().to_numpy()
    text = str(value)
    return np.array(
        [
            False if _missing(item) else (item == value or str(item) == text)
            for item in series.astype(object).tolist()
        ],
        dtype=bool,
    )


def _missing(item: Any) -> bool:
    import pandas as pd

    return item is None or (not isinstance(item, str) and bool(pd.isna(item)))
