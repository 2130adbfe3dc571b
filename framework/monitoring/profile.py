"""The reference profile: a small JSON summary of the training data that monitoring compares with.

Built once at evaluate time from the rows the model was trained on (and its predictions on
them), saved beside the model, and read by every drift check afterwards, so monitoring never
needs the training data. Per numeric column it keeps 101 quantiles, the means of the lowest and
highest 1%, a ~20-bin histogram on the reference's own quantile edges, mean, std, min and max;
per categorical column the counts of the ``max_categories`` most frequent categories, the rest
folded into one ``__other__`` count. A column's size is constant: a profile of a billion rows
is as small as one of a thousand.

Non-finite numbers (NaN, ±inf) and missing categories (None, NaN) count as missing; categories
are compared as text, so ``1`` and ``"1"`` are one category. ``__other__`` is reserved: a real
category of that name is folded into the other count.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import ArtifactError, DataError, did_you_mean
from framework.files import write_json

if TYPE_CHECKING:
    import pandas as pd

#: Bumped whenever a field changes meaning; ``load`` refuses any other version.
FORMAT_VERSION = 1
NUMERIC = "numeric"
CATEGORICAL = "categorical"
#: Reserved category: the reference's rarer categories folded together (and, when comparing,
#: any current category outside the kept ones).
OTHER = "__other__"
#: Categories kept by name per column; the rest are folded into ``OTHER``.
MAX_CATEGORIES = 50
#: Name of the predicted-class entry.
PREDICTION = "prediction"


@dataclass
class ColumnProfile:
    """One column's summary. Numeric fields are None for a categorical column and vice versa,
    and all of them are None (frequencies empty) when the column had no value at all."""

    name: str
    kind: str  # NUMERIC or CATEGORICAL
    count: int  # non-missing values
    missing: int
    quantiles: list[float] | None = None  # at probabilities 0, 0.01, ..., 1
    tail_means: list[float] | None = None  # means of the lowest and highest 1%
    bin_edges: list[float] | None = None  # -inf, inner edges ascending, +inf
    bin_counts: list[int] | None = None  # len(bin_edges) - 1 counts, bins [e_i, e_i+1)
    mean: float | None = None
    std: float | None = None  # population std (ddof=0), the Wasserstein normaliser
    min: float | None = None
    max: float | None = None
    #: At most 20 distinct values: one bin per value, exact counts (numeric only).
    discrete: bool = False
    frequencies: dict[str, int] | None = None  # most frequent first, OTHER last

    @property
    def missing_share(self) -> float:
        total = self.count + self.missing
        return self.missing / total if total else 0.0

    @property
    def folded(self) -> bool:
        """True when rarer categories were folded into ``OTHER``: a current category outside
        ``frequencies`` may then be a rare reference one, not necessarily a new one."""
        return bool(self.frequencies) and OTHER in self.frequencies

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "count": self.count,
            "missing": self.missing,
        }
        if self.kind == NUMERIC:
            data.update(
                quantiles=self.quantiles,
                tail_means=self.tail_means,
                bin_edges=None
                if self.bin_edges is None
                else [encode_edge(e) for e in self.bin_edges],
                bin_counts=self.bin_counts,
                mean=self.mean,
                std=self.std,
                min=self.min,
                max=self.max,
                discrete=self.discrete,
            )
        else:
            data["frequencies"] = self.frequencies
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        kind = data["kind"]
        if kind not in (NUMERIC, CATEGORICAL):
            raise ValueError(f"column {data.get('name')!r} has kind {kind!r}")
        edges = data.get("bin_edges")
        frequencies = data.get("frequencies")
        if frequencies is not None:
            # JSON files are written with sorted keys: restore most-frequent-first order.
            frequencies = dict(
                sorted(
                    ((str(k), int(v)) for k, v in frequencies.items()),
                    key=lambda item: (item[0] == OTHER, -item[1], item[0]),
                )
            )
        column = cls(
            name=str(data["name"]),
            kind=kind,
            count=int(data["count"]),
            missing=int(data["missing"]),
            quantiles=optional_floats(data.get("quantiles")),
            tail_means=optional_floats(data.get("tail_means")),
            bin_edges=None if edges is None else [float(e) for e in edges],
            bin_counts=None
            if data.get("bin_counts") is None
            else [int(c) for c in data["bin_counts"]],
            mean=optional_float(data.get("mean")),
            std=optional_float(data.get("std")),
            min=optional_float(data.get("min")),
            max=optional_float(data.get("max")),
            discrete=bool(data.get("discrete", False)),
            frequencies=frequencies,
        )
        column.check()
        return column

    def check(self) -> None:
        """Raise ValueError when the fields contradict each other (a hand-edited profile)."""
        if self.kind == NUMERIC and self.count > 0:
            if self.quantiles is None or len(self.quantiles) != 101:
                raise ValueError(f"column {self.name!r} needs 101 quantiles")
            if self.bin_edges is None or self.bin_counts is None:
                raise ValueError(f"column {self.name!r} has no histogram")
            if len(self.bin_counts) != len(self.bin_edges) - 1:
                raise ValueError(
                    f"column {self.name!r} has {len(self.bin_counts)} bin counts "
                    f"for {len(self.bin_edges)} edges"
                )
            if self.tail_means is None or len(self.tail_means) != 2 or self.std is None:
                raise ValueError(f"column {self.name!r} lacks tail means or std")
        if self.kind == CATEGORICAL and self.frequencies is None:
            raise ValueError(f"column {self.name!r} has no frequencies")


@dataclass
class ReferenceProfile:
    """The training data's summary: one :class:`ColumnProfile` per monitored column, the
    predicted class (categorical) and, when given, each class probability (numeric)."""

    columns: dict[str, ColumnProfile]
    rows: int
    predictions: ColumnProfile | None = None
    probabilities: dict[str, ColumnProfile] = field(default_factory=dict)
    #: A regression target's values on the training rows: the range a label fed back to the
    #: server is checked against (``serve.label_bounds``' default). None for classification.
    target: ColumnProfile | None = None
    #: Read from profiles written before they were deterministic; never written. A profile is
    #: a DVC output, so it must be a function of data, config and code: the version it belongs
    #: to records when it was made.
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: no NaN or infinity literals (infinite bin edges are ``"-inf"``/``"inf"``),
        columns as a list so their order survives ``sort_keys``."""
        return {
            "format_version": FORMAT_VERSION,
            "rows": self.rows,
            "columns": [column.to_dict() for column in self.columns.values()],
            "predictions": None if self.predictions is None else self.predictions.to_dict(),
            "probabilities": [column.to_dict() for column in self.probabilities.values()],
            "target": None if self.target is None else self.target.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceProfile:
        """Rebuild a profile; ValueError (or KeyError/TypeError) when a field is malformed."""
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ProfileVersionError(version)
        columns = [ColumnProfile.from_dict(column) for column in data["columns"]]
        predictions = data.get("predictions")
        target = data.get("target")
        return cls(
            columns={column.name: column for column in columns},
            rows=int(data["rows"]),
            predictions=None if predictions is None else ColumnProfile.from_dict(predictions),
            probabilities={
                column.name: column
                for column in map(ColumnProfile.from_dict, data.get("probabilities") or [])
            },
            created_at=str(data.get("created_at", "")),
            target=None if target is None else ColumnProfile.from_dict(target),
        )

    def save(self, path: Path | str) -> Path:
        """Write the profile as JSON, atomically (a killed process leaves the old file)."""
        return write_json(Path(path), self.to_dict())

    @classmethod
    def load(cls, path: Path | str) -> ReferenceProfile:
        """Read a profile written by :meth:`save`; ArtifactError, one line, naming the file and
        the fix, when it is missing, not JSON, from another format version or malformed."""
        path = Path(path)
        fix = "re-run the evaluate stage to write it again"
        if not path.is_file():
            raise ArtifactError(f"reference profile {path} does not exist; run the evaluate stage")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ArtifactError(
                f"reference profile {path} is not readable JSON ({one_line(error)}); {fix}"
            ) from error
        if not isinstance(data, dict):
            raise ArtifactError(f"reference profile {path} is not a JSON object; {fix}")
        try:
            return cls.from_dict(data)
        except ProfileVersionError as error:
            raise ArtifactError(
                f"reference profile {path} has format_version {error.version!r}, this Bucle "
                f"reads {FORMAT_VERSION}; {fix}"
            ) from error
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ArtifactError(
                f"reference profile {path} is malformed ({type(error).__name__}: "
                f"{one_line(error)}); {fix}"
            ) from error


class ProfileVersionError(ValueError):
    """A profile dict from another format version (``load`` turns it into an ArtifactError)."""

    def __init__(self, version: Any) -> None:
        super().__init__(f"format_version {version!r}, expected {FORMAT_VERSION}")
        self.version = version


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build_profile(
    frame: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    predictions: Any = None,
    probabilities: pd.DataFrame | None = None,
    max_categories: int = MAX_CATEGORIES,
) -> ReferenceProfile:
    """Summarise ``frame``'s ``numeric`` and ``categorical`` columns, and optionally the model's
    predicted classes and class probabilities on the same rows.

    ``probabilities`` has one column per class (named by the class); every column given is
    profiled, so for a binary model pass only the positive class's column. DataError when a
    column is absent, listed twice, or listed as numeric but not numeric, or when predictions
    or probabilities do not have one entry per row.
    """
    import pandas as pd

    check_columns(frame, numeric, categorical)
    rows = len(frame)
    columns: dict[str, ColumnProfile] = {}
    for name in numeric:
        columns[name] = numeric_profile(name, frame[name])
    for name in categorical:
        columns[name] = categorical_profile(name, frame[name], max_categories)
    predicted = None
    if predictions is not None:
        predictions = (
            pd.Series(predictions) if not isinstance(predictions, pd.Series) else predictions
        )
        if len(predictions) != rows:
            raise DataError(
                f"reference profile: {len(predictions)} predictions for {rows} rows; pass one "
                "prediction per row of the frame"
            )
        predicted = categorical_profile(PREDICTION, predictions, max_categories)
    probability_columns: dict[str, ColumnProfile] = {}
    if probabilities is not None:
        if len(probabilities) != rows:
            raise DataError(
                f"reference profile: {len(probabilities)} rows of probabilities for {rows} rows "
                "of data; pass the probabilities of the same rows"
            )
        for label in probabilities.columns:
            probability_columns[str(label)] = numeric_profile(str(label), probabilities[label])
    return ReferenceProfile(
        columns=columns, rows=rows, predictions=predicted, probabilities=probability_columns
    )


def check_columns(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> None:
    import pandas as pd

    both = sorted(set(numeric) & set(categorical))
    if both:
        raise DataError(
            f"reference profile: column(s) {', '.join(both)} listed as both numeric and "
            "categorical; list each column once"
        )
    present = [str(column) for column in frame.columns]
    for name in [*numeric, *categorical]:
        if name not in frame.columns:
            raise DataError(
                f"reference profile: no column '{name}' in the data{did_you_mean(name, present)}"
            )
    for name in numeric:
        dtype = frame[name].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise DataError(
                f"reference profile: numeric column '{name}' has dtype {dtype}; list it as "
                "categorical or convert it to numbers"
            )


def numeric_profile(name: str, values: Any) -> ColumnProfile:
    """Quantiles, tail means, histogram and moments of one numeric column."""
    from framework.monitoring import stats

    ordered, missing = stats.sorted_finite(values)
    if ordered.size == 0:
        return ColumnProfile(name=name, kind=NUMERIC, count=0, missing=missing)
    edges, discrete = stats.reference_bin_edges(ordered)
    return ColumnProfile(
        name=name,
        kind=NUMERIC,
        count=int(ordered.size),
        missing=missing,
        quantiles=[float(q) for q in stats.quantiles(ordered)],
        tail_means=list(stats.tail_means(ordered)),
        bin_edges=[float(e) for e in edges],
        bin_counts=[int(c) for c in stats.bin_counts(ordered, edges)],
        mean=float(ordered.mean()),
        std=float(ordered.std()),
        min=float(ordered[0]),
        max=float(ordered[-1]),
        discrete=discrete,
    )


def categorical_profile(
    name: str, values: Any, max_categories: int = MAX_CATEGORIES
) -> ColumnProfile:
    """Counts of the ``max_categories`` most frequent categories, the rest folded into OTHER."""
    from framework.monitoring import stats

    counts, missing = stats.category_counts(values)
    kept = counts[counts.index != OTHER].iloc[:max_categories]
    frequencies = {str(key): int(count) for key, count in kept.items()}
    rest = int(counts.sum() - kept.sum())
    if rest:
        frequencies[OTHER] = rest
    return ColumnProfile(
        name=name,
        kind=CATEGORICAL,
        count=int(counts.sum()),
        missing=missing,
        frequencies=frequencies,
    )


# --------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------


def encode_edge(value: float) -> float | str:
    """A bin edge for JSON: infinities as the strings ``"-inf"``/``"inf"`` (``float()`` reads
    them back); JSON has no literal for them."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def optional_floats(values: Any) -> list[float] | None:
    return None if values is None else [float(v) for v in values]


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
