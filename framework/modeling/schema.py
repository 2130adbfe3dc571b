"""The feature schema: which columns a model reads, of what kind, the task and its classes.

Inferred once from the training table and saved inside the model artifact, so evaluation and
serving prepare records with exactly the same rules as training did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from framework.errors import DataError
from framework.modeling.task import CLASSIFICATION, MAX_CLASSES, REGRESSION, infer_task

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class FeatureSchema:
    """Model inputs by kind, the target, the task, its classes, and what was left out and why.

    ``classes`` is empty for regression. Artifacts saved before regression existed have no
    ``task`` and load as classification.
    """

    target: str
    classes: list[Any]
    numeric: list[str]
    categorical: list[str]
    ignored: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)
    task: str = CLASSIFICATION

    @property
    def regression(self) -> bool:
        return self.task == REGRESSION

    @property
    def inputs(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSchema:
        return cls(**data)


def infer_schema(
    frame: pd.DataFrame,
    target: str,
    exclude: list[str],
    derived: dict[str, str],
    task: str = "auto",
) -> FeatureSchema:
    """Read the schema off a training table: the task, numeric, categorical, ignored columns."""
    import pandas as pd

    if target not in frame.columns:
        raise DataError(f"data.target='{target}' is not a column; columns: {', '.join(frame)}")
    labels = frame[target].dropna()
    if labels.nunique() < 2:
        raise DataError(
            f"data.target='{target}' has {labels.nunique()} distinct value(s) in the training "
            "rows; a model needs at least 2 — check the target column and the validation rules"
        )
    task = infer_task(frame[target], target, task)
    classes: list[Any] = []
    if task == CLASSIFICATION:
        classes = sorted(labels.unique().tolist(), key=lambda value: (str(type(value)), value))
        if len(classes) > MAX_CLASSES:
            raise DataError(
                f"data.target='{target}' has {len(classes)} distinct labels (more than "
                f"{MAX_CLASSES}); that looks like an id — choose another target"
            )
    numeric, categorical, ignored, categories = [], [], {}, {}
    for column in frame.columns:
        if column == target:
            continue
        series = frame[column]
        if column in exclude:
            ignored[column] = "excluded in features.exclude"
        elif series.isna().all():
            ignored[column] = "every value is missing"
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):  # tz-aware included
            ignored[column] = "timestamp: derive features from it in features.derived"
        elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            numeric.append(column)
        else:
            categorical.append(column)
            seen = series.dropna().astype(str).value_counts().index.tolist()
            categories[column] = sorted(seen)
    if not numeric and not categorical:
        raise DataError(
            f"no usable feature columns besides target '{target}' (ignored: {ignored}); "
            "check features.exclude and the data source"
        )
    classes = [value.item() if hasattr(value, "item") else value for value in classes]
    return FeatureSchema(
        target, classes, numeric, categorical, ignored, dict(derived), categories, task
    )


def prepare_inputs(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The model's input table: schema columns in order, numbers as floats, categories as str.

    Training, evaluation and serving all call this, so a record is read the same way everywhere.
    """
    import numpy as np
    import pandas as pd

    missing = [column for column in schema.inputs if column not in frame.columns]
    if missing:
        raise DataError(
            f"input is missing column(s) {', '.join(missing)} the model was trained on; "
            f"expected: {', '.join(schema.inputs)}"
        )
    prepared = pd.DataFrame(index=frame.index)
    for column in schema.numeric:
        prepared[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in schema.categorical:
        values = frame[column]
        prepared[column] = values.astype(object).where(values.notna(), np.nan)
        prepared[column] = prepared[column].map(lambda v: v if v is np.nan else str(v))
    return prepared
