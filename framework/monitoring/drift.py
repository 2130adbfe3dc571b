"""Drift of a window of data against the reference profile: per column, per data set, predictions.

One test decides each column, chosen by its kind and by how many values the window has for it:

=========== ======================================= ==========================================
kind        at most ``small_sample`` values          more values
=========== ======================================= ==========================================
numeric     Kolmogorov-Smirnov, drifts if p < p_value normalised Wasserstein >= wasserstein
categorical chi-square, drifts if p < p_value        Jensen-Shannon distance >= jensen_shannon
=========== ======================================= ==========================================

On a small window a p-value is the honest question ("could this be chance?"); on a large one
every negligible difference is significant, so a distance with a fixed threshold ("is the change
big enough to matter?") decides instead. These are Evidently's defaults, so the numbers read the
same to someone who knows it.

PSI is computed for every column over the same bins and reported, but it never decides: its
value under no drift grows with the number of bins over the window size (about 19/50 = 0.38 for
20 bins and 50 values), so a fixed PSI threshold raises false alarms on small windows.

Missing values are left out of every test (their share is reported beside it, and the
data-quality checks judge it). A column with no value in the window, or none in the reference,
is reported untested with the reason, and does not count toward the data set's drift share.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from framework.errors import ConfigError
from framework.monitoring.profile import CATEGORICAL, NUMERIC, OTHER

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from framework.monitoring.profile import ColumnProfile, ReferenceProfile

KS = "ks"
CHI_SQUARE = "chi_square"
WASSERSTEIN = "wasserstein"
JENSEN_SHANNON = "jensen_shannon"
#: How many categories outside the reference a column result names.
MAX_NEW_CATEGORIES = 10


@dataclass(frozen=True)
class DriftThresholds:
    """When a column, a data set and the predictions count as drifted."""

    small_sample: int = 1000  # at or below this many window values: KS / chi-square
    p_value: float = 0.05  # KS / chi-square drift when p < p_value
    wasserstein: float = 0.1  # normalised Wasserstein drift when >= this (numeric, large)
    jensen_shannon: float = 0.1  # Jensen-Shannon distance drift when >= this (categorical, large)
    psi: float = 0.2  # reported beside PSI for reference; PSI never decides
    drift_share: float = 0.5  # the data set drifts when at least this share of columns drift

    def __post_init__(self) -> None:
        if isinstance(self.small_sample, bool) or not isinstance(self.small_sample, int):
            raise ConfigError(
                f"drift threshold small_sample={self.small_sample!r} must be a whole number "
                "of values, e.g. 1000"
            )
        if self.small_sample < 0:
            raise ConfigError(
                f"drift threshold small_sample={self.small_sample} must be at least 0, e.g. 1000"
            )
        for name, example in (("p_value", 0.05), ("jensen_shannon", 0.1), ("drift_share", 0.5)):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value <= 1:
                raise ConfigError(
                    f"drift threshold {name}={value!r} must be in (0, 1], e.g. {example}"
                )
        for name, example in (("wasserstein", 0.1), ("psi", 0.2)):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value < math.inf:
                raise ConfigError(
                    f"drift threshold {name}={value!r} must be a positive number, e.g. {example}"
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ColumnDrift:
    """One column's drift result, with the shares per bin or category for a plot."""

    name: str
    kind: str
    test: str | None  # KS, CHI_SQUARE, WASSERSTEIN, JENSEN_SHANNON; None when untested
    statistic: float | None  # KS D, chi-square, normalised W1, JS distance
    p_value: float | None  # KS and chi-square only
    threshold: float | None  # the p-value level or the distance threshold that applied
    drifted: bool
    psi: float | None
    n_current: int  # non-missing values in the window
    n_reference: int
    missing_share_current: float | None  # None when the window has no rows
    missing_share_reference: float
    labels: list[str] = field(default_factory=list)  # bins ("[0.5, 1.2)") or categories
    reference_shares: list[float] = field(default_factory=list)
    current_shares: list[float] = field(default_factory=list)
    #: Window categories the reference never had, most frequent first (at most 10). Only filled
    #: when the profile kept every reference category: otherwise one could be a rare folded one.
    new_categories: list[str] = field(default_factory=list)
    reason: str | None = None  # why the column was not tested

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("statistic", "p_value", "threshold", "psi", "missing_share_current"):
            data[key] = finite_or_none(data[key])
        return data


@dataclass
class DatasetDrift:
    """Every profiled column's drift in one window, and whether the data set drifted."""

    rows: int
    columns: list[ColumnDrift]
    missing_columns: list[str]  # profiled columns absent from the window: reported, not tested
    n_tested: int
    n_drifted: int
    drift_share: float | None  # n_drifted / n_tested; None when nothing was tested
    dataset_drifted: bool
    thresholds: DriftThresholds
    reason: str | None = None  # why nothing could be tested ("no rows in the window")

    @property
    def drifted_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.drifted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": [column.to_dict() for column in self.columns],
            "missing_columns": list(self.missing_columns),
            "n_tested": self.n_tested,
            "n_drifted": self.n_drifted,
            "drifted_columns": self.drifted_columns,
            "drift_share": finite_or_none(self.drift_share),
            "dataset_drifted": self.dataset_drifted,
            "thresholds": self.thresholds.to_dict(),
            "reason": self.reason,
        }


@dataclass
class PredictionDrift:
    """Drift of the predicted class and of each profiled class probability."""

    rows: int
    prediction: ColumnDrift | None  # None when the profile has no predictions
    probabilities: list[ColumnDrift]
    missing_probabilities: list[str]  # profiled classes whose probability was not given
    drifted: bool  # the class or any probability drifted
    thresholds: DriftThresholds
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "probabilities": [column.to_dict() for column in self.probabilities],
            "missing_probabilities": list(self.missing_probabilities),
            "drifted": self.drifted,
            "thresholds": self.thresholds.to_dict(),
            "reason": self.reason,
        }


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def column_drift(
    profile: ColumnProfile, values: Any, thresholds: DriftThresholds | None = None
) -> ColumnDrift:
    """Test one column of the window (any 1-d array or Series) against its profile."""
    thresholds = thresholds or DriftThresholds()
    if profile.kind == NUMERIC:
        return numeric_drift(profile, values, thresholds)
    if profile.kind == CATEGORICAL:
        return categorical_drift(profile, values, thresholds)
    raise ValueError(f"column {profile.name!r} has unknown kind {profile.kind!r}")


def dataset_drift(
    profile: ReferenceProfile, frame: pd.DataFrame, thresholds: DriftThresholds | None = None
) -> DatasetDrift:
    """Test every profiled column present in ``frame``; the data set drifts when at least
    ``thresholds.drift_share`` of the tested columns drift. Columns of ``frame`` that the
    profile does not know are ignored; profiled columns absent from ``frame`` are listed."""
    thresholds = thresholds or DriftThresholds()
    missing = [name for name in profile.columns if name not in frame.columns]
    if len(frame) == 0:
        return DatasetDrift(
            rows=0,
            columns=[],
            missing_columns=missing,
            n_tested=0,
            n_drifted=0,
            drift_share=None,
            dataset_drifted=False,
            thresholds=thresholds,
            reason="no rows in the window",
        )
    results = [
        column_drift(column, frame[name], thresholds)
        for name, column in profile.columns.items()
        if name in frame.columns
    ]
    tested = [result for result in results if result.test is not None]
    drifted = sum(result.drifted for result in tested)
    share = drifted / len(tested) if tested else None
    return DatasetDrift(
        rows=len(frame),
        columns=results,
        missing_columns=missing,
        n_tested=len(tested),
        n_drifted=drifted,
        drift_share=share,
        dataset_drifted=share is not None and share >= thresholds.drift_share,
        thresholds=thresholds,
        reason=None if tested else "no profiled column has values in the window",
    )


def prediction_drift(
    profile: ReferenceProfile,
    predictions: Any,
    probabilities: pd.DataFrame | None = None,
    thresholds: DriftThresholds | None = None,
) -> PredictionDrift:
    """The same tests on the predicted classes and, for every class probability the profile
    holds, on the probabilities (``probabilities`` has a column per class, named by the class;
    ``1`` and ``"1"`` match)."""
    thresholds = thresholds or DriftThresholds()
    rows = len(predictions)
    if profile.predictions is None and not profile.probabilities:
        return PredictionDrift(
            rows=rows,
            prediction=None,
            probabilities=[],
            missing_probabilities=[],
            drifted=False,
            thresholds=thresholds,
            reason="the reference profile has no predictions; build it with predictions=",
        )
    prediction = (
        None
        if profile.predictions is None
        else column_drift(profile.predictions, predictions, thresholds)
    )
    given = {str(label): label for label in ([] if probabilities is None else probabilities)}
    results, missing = [], []
    for label, column in profile.probabilities.items():
        if label in given:
            results.append(column_drift(column, probabilities[given[label]], thresholds))
        else:
            missing.append(label)
    drifted = any(result.drifted for result in [prediction, *results] if result is not None)
    return PredictionDrift(
        rows=rows,
        prediction=prediction,
        probabilities=results,
        missing_probabilities=missing,
        drifted=drifted,
        thresholds=thresholds,
        reason="no rows in the window" if rows == 0 else None,
    )


# --------------------------------------------------------------------------------------------
# Per kind
# --------------------------------------------------------------------------------------------


def numeric_drift(profile: ColumnProfile, values: Any, thresholds: DriftThresholds) -> ColumnDrift:
    import numpy as np

    from framework.monitoring import stats

    current, missing = stats.sorted_finite(values)
    result = untested(profile, current.size, missing)
    if profile.count == 0 or current.size == 0:
        return result
    edges = np.asarray(profile.bin_edges, dtype=np.float64)
    reference_counts = np.asarray(profile.bin_counts)
    current_counts = stats.bin_counts(current, edges)
    fill_shares(result, bin_labels(edges, profile.discrete), reference_counts, current_counts)
    result.psi = stats.psi(reference_counts, current_counts)
    # A discrete reference is known exactly from its bins; a continuous one by its quantiles.
    support = stats.discrete_support(edges, reference_counts) if profile.discrete else None
    if current.size <= thresholds.small_sample:
        cdf = (
            stats.step_cdf(*support)
            if support is not None
            else stats.quantile_cdf(profile.quantiles or [])
        )
        statistic, p_value = stats.ks_test(cdf, profile.count, current)
        decide_by_p_value(result, KS, statistic, p_value, thresholds)
        return result
    std = profile.std or 0.0
    if support is not None:
        statistic = stats.wasserstein_from_counts(*support, std, current)
    else:
        statistic = stats.wasserstein_from_quantiles(
            profile.quantiles or [], profile.tail_means or [0.0, 0.0], std, current
        )
    decide_by_distance(result, WASSERSTEIN, statistic, thresholds.wasserstein)
    return result


def categorical_drift(
    profile: ColumnProfile, values: Any, thresholds: DriftThresholds
) -> ColumnDrift:
    import numpy as np

    from framework.monitoring import stats

    counts, missing = stats.category_counts(values)
    n_current = int(counts.sum())
    result = untested(profile, n_current, missing)
    if profile.count == 0 or n_current == 0:
        return result
    frequencies = profile.frequencies or {}
    kept = [category for category in frequencies if category != OTHER]
    known = counts.index.isin(kept)
    outside = counts[~known]
    # One cell for everything outside the kept categories: the reference's folded rare ones
    # and, in the window, those plus any category the reference never had.
    labels = [*kept, OTHER]
    reference_counts = np.array([frequencies[c] for c in kept] + [frequencies.get(OTHER, 0)])
    current_counts = np.append(counts.reindex(kept, fill_value=0).to_numpy(), outside.sum())
    if reference_counts[-1] == 0 and current_counts[-1] == 0:
        labels, reference_counts, current_counts = (
            labels[:-1],
            reference_counts[:-1],
            current_counts[:-1],
        )
    fill_shares(result, labels, reference_counts, current_counts)
    if not profile.folded:
        result.new_categories = [str(c) for c in outside.index[:MAX_NEW_CATEGORIES]]
    result.psi = stats.psi(reference_counts, current_counts)
    if n_current <= thresholds.small_sample:
        statistic, p_value = stats.chi_square(reference_counts, current_counts)
        decide_by_p_value(result, CHI_SQUARE, statistic, p_value, thresholds)
    else:
        statistic = stats.jensen_shannon(reference_counts, current_counts)
        decide_by_distance(result, JENSEN_SHANNON, statistic, thresholds.jensen_shannon)
    return result


def untested(profile: ColumnProfile, n_current: int, missing: int) -> ColumnDrift:
    """A result with the counts filled in and no test yet; the reason says why if none runs."""
    total = n_current + missing
    if profile.count == 0:
        reason = "the reference has no values in this column"
    elif n_current == 0:
        reason = "no values in the window" if total == 0 else "every value in the window is missing"
    else:
        reason = None
    return ColumnDrift(
        name=profile.name,
        kind=profile.kind,
        test=None,
        statistic=None,
        p_value=None,
        threshold=None,
        drifted=False,
        psi=None,
        n_current=n_current,
        n_reference=profile.count,
        missing_share_current=missing / total if total else None,
        missing_share_reference=profile.missing_share,
        reason=reason,
    )


def decide_by_p_value(
    result: ColumnDrift, test: str, statistic: float, p_value: float, thresholds: DriftThresholds
) -> None:
    result.test, result.statistic, result.p_value = test, statistic, p_value
    result.threshold = thresholds.p_value
    result.drifted = bool(p_value < thresholds.p_value)


def decide_by_distance(result: ColumnDrift, test: str, statistic: float, threshold: float) -> None:
    result.test, result.statistic, result.threshold = test, statistic, threshold
    result.drifted = bool(statistic >= threshold)


def fill_shares(
    result: ColumnDrift, labels: list[str], reference_counts: np.ndarray, current_counts: np.ndarray
) -> None:
    from framework.monitoring import stats

    result.labels = labels
    result.reference_shares = [float(s) for s in stats.shares(reference_counts)]
    result.current_shares = [float(s) for s in stats.shares(current_counts)]


def bin_labels(edges: np.ndarray, discrete: bool) -> list[str]:
    """Readable bins: ``"(-inf, 0.5)"``, ``"[0.5, 1.2)"``, ``"[3.1, +inf)"``; for a discrete
    column ``"< 0"``, ``"0"``, ``"1"``, ..., ``"> 6"``. When the reference maximum is an edge
    (an atom at the top), its bin is labelled by the value and the next one starts after it:
    ``"6"``, ``"(6, +inf)"``."""
    import numpy as np

    if discrete:
        values = edges[1:-2]
        return [f"< {values[0]:.4g}", *(f"{v:.4g}" for v in values), f"> {values[-1]:.4g}"]
    labels = []
    for index, (low, high) in enumerate(itertools.pairwise(edges)):
        if np.isfinite(low) and high == np.nextafter(low, np.inf):
            labels.append(f"{low:.4g}")  # holds one value: the reference maximum
            continue
        if low == -np.inf:
            left = "(-inf"
        elif index > 0 and low == np.nextafter(edges[index - 1], np.inf):
            left = f"({edges[index - 1]:.4g}"
        else:
            left = f"[{low:.4g}"
        right = "+inf)" if high == np.inf else f"{high:.4g})"
        labels.append(f"{left}, {right}")
    return labels


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN or infinity: report them as null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
