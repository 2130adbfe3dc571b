"""The serving entry point: raw records in, exactly the model's input table out.

A served model must see features computed the way training computed them. Training builds its
inputs in two steps: the ``featurize`` stage adds the derived columns with
:func:`~framework.features.expressions.compute_features`, and ``train``/``evaluate`` turn the
table into model inputs with :func:`~framework.modeling.schema.prepare_inputs`. This module runs
the same two functions, with the expressions saved in the model's own
:class:`~framework.modeling.schema.FeatureSchema`, so the server needs nothing but the model
artifact and the request. A test pins that for every test row the result, and the model's
predictions, equal what ``evaluate`` computed.

Derived columns sent by a client are dropped and recomputed: a request cannot feed the model a
feature value that the expressions would not have produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from framework.errors import DataError
from framework.features.expressions import compute_features, parse_expression

if TYPE_CHECKING:
    import pandas as pd

    from framework.modeling.schema import FeatureSchema


#: Field kinds from the strictest requirement to the loosest.
_STRICTNESS = ("number", "datetime", "text", "any")


def model_inputs(
    records: pd.DataFrame | Iterable[Mapping[str, Any]] | Mapping[str, Any],
    schema: FeatureSchema,
) -> pd.DataFrame:
    """The model's input frame for raw records, computed exactly as at training time.

    :param records: a DataFrame of raw columns, a list of dicts (a JSON request body: numbers
        may be text, dates ISO 8601 text, missing values None), or one dict.
    :param schema: the model's feature schema (``ModelBundle.schema``), which holds the derived
        expressions and the input columns by kind.

    Returns the frame :func:`~framework.modeling.schema.prepare_inputs` gives: the schema's
    input columns in order, numbers as float64, categories as text, one row per record and the
    records' index when a DataFrame was given. Raises :class:`~framework.errors.DataError`
    naming the field when a raw column is absent or a number field holds text that is not a
    number.
    """
    import pandas as pd

    from framework.modeling.schema import prepare_inputs

    frame = _frame(records)
    derived = dict(schema.derived)
    needed = input_fields(schema)
    if frame.empty and not len(frame.columns):
        frame = pd.DataFrame({column: pd.Series(dtype=object) for column in needed})
    absent = [column for column in needed if column not in frame.columns]
    if absent:
        raise DataError(
            f"records are missing field(s) {', '.join(absent)}; the model reads: "
            f"{', '.join(needed)}"
        )
    # Recompute, never trust: a derived value sent with the record is replaced.
    raw = frame.drop(columns=[column for column in derived if column in frame.columns])
    for column, kind in needed.items():
        if kind != "number":
            continue
        series = raw[column]
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            continue
        numbers = pd.to_numeric(series, errors="coerce")
        wrong = numbers.isna() & series.notna()
        if wrong.any():
            raise DataError(
                f"field {column!r} must be a number, got {series[wrong].iloc[0]!r}; "
                "send a number or null"
            )
    return prepare_inputs(compute_features(raw, derived), schema)


def input_fields(schema: FeatureSchema) -> dict[str, str]:
    """The raw fields a record must hold for this model, with what each holds.

    Kinds: ``number``, ``text``, ``datetime`` (read by a date function: a timestamp or ISO 8601
    text) and ``any`` (only tested with ``is_missing``). A server can build its request schema
    from this; derived features are not fields, they are computed.
    """
    derived = dict(schema.derived)
    fields: dict[str, str] = {}
    for column in schema.numeric:
        if column not in derived:
            fields[column] = "number"
    for column in schema.categorical:
        if column not in derived:
            fields[column] = "text"
    for name, expression in derived.items():
        for column, kind in parse_expression(name, expression).column_kinds().items():
            if column in derived:
                continue  # an earlier derived feature: computed, not sent
            # The strictest use decides: arithmetic needs a number, a date function a date.
            current = fields.get(column, "any")
            fields[column] = min(current, kind, key=_STRICTNESS.index)
    return fields


def _frame(records: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(records, pd.DataFrame):
        return records
    if isinstance(records, Mapping):
        records = [records]
    rows = list(records)
    for position, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DataError(
                f"record {position} is a {type(row).__name__}, not a mapping of field to value; "
                'send records like {"age": 42, "plan": "basic"}'
            )
    # Values stay as sent (numbers, text, None): both steps read numbers and dates from text.
    return pd.DataFrame.from_records(rows)
