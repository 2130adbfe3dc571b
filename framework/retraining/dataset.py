"""What a retrained model learns from: labelled production traffic, the original data, or both.

Labelled production rows are the inference log's requests that received ground truth through
``/feedback``: the inputs as the client sent them, plus the label as the target column. The
original data is what the configured source gives the pipeline. The strategy
(``retrain.data.strategy``) chooses:

- ``new_only``: the labelled production rows alone — the world as it is now, but only as much
  of it as came back labelled;
- ``combined``: the original rows and the production rows — more data, old and new;
- ``sliding_window``: the newest ``window_rows`` of the two, production rows counting as the
  newest — forgetting the oldest world at a fixed budget.

Production rows are given the original table's column types (dates parsed, numbers as numbers)
so the pipeline's validation and feature code read both alike.
"""

from __future__ import annotations

from typing import Any

from framework.errors import BucleError

STRATEGIES = ("new_only", "combined", "sliding_window")


def labelled_production_rows(root: Any, target: str) -> Any:
    """Inference-log rows with feedback, as a raw table with ``target``, oldest first.

    Each request's label is the one :func:`~framework.serving.feedback.resolve_labels`
    decides (the latest correction, else the original): the rule monitoring judges by.
    """
    import pandas as pd

    from framework.serving.feedback import read_labels
    from framework.serving.inference_log import read_inference_log

    log = read_inference_log(root)
    feedback = read_labels(root)
    if log.empty or feedback.empty:
        return pd.DataFrame()
    joined = log.merge(feedback[["request_id", "label"]], on="request_id", how="inner")
    if joined.empty:
        return pd.DataFrame()
    rows = pd.DataFrame(list(joined["inputs"]))
    rows[target] = list(joined["label"])
    return rows


def like(frame: Any, original: Any) -> Any:
    """``frame`` with ``original``'s column types where both have the column."""
    import pandas as pd

    typed = frame.copy()
    for column in frame.columns.intersection(original.columns):
        kind = original[column].dtype
        if pd.api.types.is_datetime64_any_dtype(kind):
            parsed = pd.to_datetime(typed[column], errors="coerce", utc=True, format="ISO8601")
            zone = getattr(kind, "tz", None)
            typed[column] = parsed if zone is not None else parsed.dt.tz_localize(None)
        elif pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind):
            typed[column] = pd.to_numeric(typed[column], errors="coerce")
    return typed


def training_table(
    strategy: str, original: Any, production: Any, window_rows: int, min_new_rows: int
) -> tuple[Any, dict[str, int]]:
    """The table to retrain on and how many rows of each kind it holds."""
    import pandas as pd

    if strategy not in STRATEGIES:
        raise BucleError(
            f"retrain.data.strategy={strategy!r} is not a strategy; use one of "
            f"{', '.join(STRATEGIES)}"
        )
    if len(production) < min_new_rows:
        raise BucleError(
            f"only {len(production)} production predictions have ground truth; "
            f"retrain.data.min_new_rows={min_new_rows} are needed (send labels to /feedback)"
        )
    production = like(production, original)
    columns = list(original.columns)
    extra = [c for c in production.columns if c not in columns]
    production = production.drop(columns=extra)
    if strategy == "new_only":
        table = production.reindex(columns=columns)
        counts = {"original": 0, "production": len(table)}
    else:
        table = pd.concat([original, production.reindex(columns=columns)], ignore_index=True)
        counts = {"original": len(original), "production": len(production)}
        if strategy == "sliding_window":
            if window_rows < 1:
                raise BucleError(f"retrain.data.window_rows={window_rows} must be at least 1")
            kept_production = min(len(production), window_rows)
            table = table.tail(window_rows).reset_index(drop=True)
            counts = {"original": len(table) - kept_production, "production": kept_production}
    return table.reset_index(drop=True), counts
