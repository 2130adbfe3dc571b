"""Per-column drift statistics computed against a reference summary, never the reference rows.

The reference side of every function here is what a :class:`~framework.monitoring.profile.
ColumnProfile` stores: 101 quantiles, the means of the lowest and highest 1%, bin counts or
category counts. The current side is a window's values, sorted once (``sorted_finite``) or
counted once (``category_counts``); everything after that is vectorised over bins, knots or
distinct values, never a Python loop over rows.

A numeric column with at most 20 distinct values is discrete: its profile keeps one bin per
value, so its reference CDF and quantile function are exact and KS and Wasserstein use them
(``step_cdf``, ``wasserstein_from_counts``). For a continuous column, the accuracy of working
from a summary, and why it is enough:

- KS: the reference CDF is interpolated linearly between its quantiles, so between two knots it
  can be off by at most 0.01 (a few thousandths for smooth data). KS is only chosen for small
  windows (at most ``small_sample`` values, 1000 by default), where the 5% critical value is at
  least 0.043; at a million values it would be 0.002 and the summary could not tell, which is
  one reason large windows use distances instead.
- Wasserstein: the quantile functions are compared at the 99 inner knots (0.01 .. 0.99), and the
  outer 1% on each side through their means. Using the tail means rather than the minimum and
  maximum keeps a single extreme value from moving the distance on heavy-tailed data.
- Binned distances (Jensen-Shannon, PSI) are exact for the profile's bins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Probabilities of the stored quantiles: 0, 0.01, ..., 1.
PROBABILITIES = np.linspace(0.0, 1.0, 101)
#: Share of each tail summarised by its mean (the quantile function integrated over [0, TAIL]).
TAIL = 0.01
#: Bins of a numeric column: the reference's 5%, 10%, ..., 95% quantiles as inner edges.
N_BINS = 20
#: Stand-in for an empty share in PSI, so an empty bin gives a large but finite term.
PSI_EPSILON = 1e-4
#: Wasserstein normaliser when the reference is constant: any change is then a large distance.
MIN_STD = 1e-3


# --------------------------------------------------------------------------------------------
# Summaries: what a profile stores and what a window is reduced to
# --------------------------------------------------------------------------------------------


def sorted_finite(values: Any) -> tuple[np.ndarray, int]:
    """The finite values as a sorted float array, and how many were missing (NaN or ±inf).

    ``values`` is anything numpy turns into floats; pandas nullable types (``Int64`` with
    ``pd.NA``) and text that is not a number count as missing.
    """
    array = as_float_array(values)
    finite = array[np.isfinite(array)]  # a copy: sorting it leaves the caller's data alone
    finite.sort()
    return finite, int(array.size - finite.size)


def as_float_array(values: Any) -> np.ndarray:
    """``values`` as a 1-d float array without copying a float64 column; unparseable -> NaN."""
    import pandas as pd

    if isinstance(values, pd.Series | pd.Index):
        if values.dtype == np.float64:
            return values.to_numpy()
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    array = np.asarray(values)
    if array.dtype.kind in "fiub":
        return array.astype(np.float64, copy=False).ravel()
    return pd.to_numeric(pd.Series(array.ravel()), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def quantiles(sorted_values: np.ndarray, probabilities: np.ndarray = PROBABILITIES) -> np.ndarray:
    """Quantiles of a sorted array, linear interpolation (numpy's default method) without the
    partition ``np.quantile`` would redo."""
    n = sorted_values.size
    position = np.asarray(probabilities) * (n - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    fraction = position - low
    return sorted_values[low] + fraction * (sorted_values[high] - sorted_values[low])


def tail_means(sorted_values: np.ndarray, share: float = TAIL) -> tuple[float, float]:
    """Means of the lowest and highest ``share`` of the values: the (step) quantile function
    integrated over [0, share] and [1 - share, 1], divided by ``share``."""
    n = sorted_values.size
    whole = math.floor(share * n)
    fraction = share * n - whole

    def lower(values: np.ndarray) -> float:
        partial = fraction * values[whole] if whole < n else 0.0
        return float((values[:whole].sum() + partial) / (share * n))

    return lower(sorted_values), lower(sorted_values[::-1])


def reference_bin_edges(sorted_values: np.ndarray, n_bins: int = N_BINS) -> tuple[np.ndarray, bool]:
    """Bin edges from the reference's own values, with ``-inf``/``+inf`` outer edges, and
    whether the column is discrete (at most ``n_bins`` distinct values).

    A discrete column gets one bin per value: edges at each value and one just above the
    largest, so ``[v_i, v_i+1)`` holds exactly ``v_i`` and the outer bins, empty in the
    reference, catch values below or above its range. Otherwise the inner edges are the
    1/n_bins .. (n_bins-1)/n_bins quantiles (observed values, deduplicated), ``n_bins`` bins of
    equal reference mass; if the maximum is an edge (a heavy atom at the top), one more edge
    just above it gives values beyond the reference maximum a bin of their own.
    """
    n = sorted_values.size
    first = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    if np.count_nonzero(first) <= n_bins:
        inner = sorted_values[first]
        discrete = True
    else:
        positions = np.ceil(np.arange(1, n_bins) / n_bins * n).astype(np.int64) - 1
        inner = np.unique(sorted_values[np.clip(positions, 0, n - 1)])
        discrete = False
    top = sorted_values[-1]
    if inner[-1] == top:
        inner = np.append(inner, np.nextafter(top, np.inf))
    return np.concatenate(([-np.inf], inner, [np.inf])), discrete


def discrete_support(
    edges: Sequence[float] | np.ndarray, counts: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A discrete column's values and their reference counts, read back from its bins."""
    return np.asarray(edges, dtype=np.float64)[1:-2], np.asarray(counts, dtype=np.float64)[1:-1]


def bin_counts(sorted_values: np.ndarray, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """How many of the sorted values fall in each bin ``[edges[i], edges[i+1])``."""
    below = np.searchsorted(sorted_values, np.asarray(edges, dtype=np.float64), side="left")
    below[-1] = sorted_values.size  # the last bin is closed: +inf edge
    return np.diff(below)


def category_counts(values: Any) -> tuple[pd.Series, int]:
    """Counts per category, the categories as text, most frequent first (ties by name), and how
    many values were missing (None or NaN). ``1`` and ``"1"`` are the same category."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).ravel())
    counts = series.value_counts(dropna=True, sort=False)
    counts = counts[counts > 0]  # a categorical dtype lists its unused categories too
    missing = int(series.size - counts.sum())
    counts.index = pd.Index([str(key) for key in counts.index], dtype=object)
    if not counts.index.is_unique:
        counts = counts.groupby(level=0).sum()
    order = np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))
    return counts.iloc[order].astype(np.int64), missing


# --------------------------------------------------------------------------------------------
# Tests and distances
# --------------------------------------------------------------------------------------------


#: A reference CDF: ``cdf(x, left)`` is P(X <= x), or P(X < x) when ``left``.
ReferenceCDF = Callable[[np.ndarray, bool], np.ndarray]


def quantile_cdf(reference_quantiles: Sequence[float] | np.ndarray) -> ReferenceCDF:
    """The reference CDF interpolated linearly between its quantiles; where quantiles repeat
    (an atom) it jumps."""
    knots = np.asarray(reference_quantiles, dtype=np.float64)
    probabilities = np.linspace(0.0, 1.0, knots.size)

    def cdf(x: np.ndarray, left: bool = False) -> np.ndarray:
        upper = np.searchsorted(knots, x, side="left" if left else "right")
        inside = (upper > 0) & (upper < knots.size)
        result = np.where(upper >= knots.size, 1.0, 0.0)
        j = upper[inside]
        low, high = knots[j - 1], knots[j]
        # knots[j-1] <= x < knots[j] (< and <= for the left limit): high > low, never 0 / 0.
        step = probabilities[j] - probabilities[j - 1]
        result[inside] = probabilities[j - 1] + step * (x[inside] - low) / (high - low)
        return result

    return cdf


def step_cdf(support: np.ndarray, counts: np.ndarray) -> ReferenceCDF:
    """The exact CDF of a discrete reference from its values and their counts."""
    cumulative = np.r_[0.0, np.cumsum(counts) / np.sum(counts)]

    def cdf(x: np.ndarray, left: bool = False) -> np.ndarray:
        return cumulative[np.searchsorted(support, x, side="left" if left else "right")]

    return cdf


def ks_test(
    reference_cdf: ReferenceCDF, n_reference: int, current_sorted: np.ndarray
) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value, the reference given by its CDF.

    The statistic is the exact supremum of |F_ref - F_cur|: between two distinct window values
    F_cur is flat and F_ref non-decreasing, so the supremum is reached at a window value or
    just below the next one. The p-value is the asymptotic two-sample one
    (``ks_2samp(method="asymp")``): the Kolmogorov distribution at the effective sample size
    ``n*m/(n+m)``.
    """
    from scipy import stats

    m = current_sorted.size
    last = np.r_[current_sorted[1:] != current_sorted[:-1], True]
    first = np.r_[True, last[:-1]]
    values = current_sorted[last]
    at = (np.flatnonzero(last) + 1) / m  # F_cur(u), right-continuous
    below = np.flatnonzero(first) / m  # F_cur just below u
    statistic = max(
        float(np.max(np.abs(reference_cdf(values, False) - at))),
        float(np.max(np.abs(reference_cdf(values, True) - below))),
    )
    effective = max(1, round(n_reference * m / (n_reference + m)))
    p_value = float(stats.kstwo.sf(statistic, effective))
    return statistic, min(max(p_value, 0.0), 1.0)


def chi_square(
    reference_counts: Sequence[int] | np.ndarray, current_counts: Sequence[int] | np.ndarray
) -> tuple[float, float]:
    """Chi-square test of homogeneity on the 2 x k table of reference and current counts.

    Cells empty in both rows are dropped (they carry no information and scipy refuses a zero
    expected count); with fewer than two cells left both samples are one category: statistic
    0, p-value 1. scipy's default Yates correction applies when one degree of freedom is left.
    """
    from scipy import stats

    table = np.vstack([reference_counts, current_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def wasserstein_from_quantiles(
    reference_quantiles: Sequence[float] | np.ndarray,
    reference_tail_means: Sequence[float],
    reference_std: float,
    current_sorted: np.ndarray,
) -> float:
    """Wasserstein-1 distance divided by the reference's standard deviation (Evidently's
    convention: 0.1 is a shift of a tenth of a std), for a continuous reference.

    W1 is the area between the quantile functions: trapezoids over the inner knots
    0.01 .. 0.99, plus each outer 1% as the difference of the tail means.
    """
    inner = slice(1, -1)
    gaps = np.abs(
        np.asarray(reference_quantiles, dtype=np.float64)[inner] - quantiles(current_sorted)[inner]
    )
    step = float(PROBABILITIES[1] - PROBABILITIES[0])
    middle = step * float(gaps[:-1].sum() + gaps[1:].sum()) / 2
    current_low, current_high = tail_means(current_sorted)
    tails = TAIL * (
        abs(reference_tail_means[0] - current_low) + abs(reference_tail_means[1] - current_high)
    )
    return (middle + tails) / normaliser(reference_std)


def wasserstein_from_counts(
    support: np.ndarray, counts: np.ndarray, reference_std: float, current_sorted: np.ndarray
) -> float:
    """Normalised Wasserstein-1 distance for a discrete reference given as values and counts:
    the mean gap between the i-th smallest window value and the reference quantile at
    (i - 0.5)/m. Exact but for the few window values whose interval holds a reference step."""
    m = current_sorted.size
    cumulative = np.cumsum(counts) / np.sum(counts)
    probabilities = (np.arange(m) + 0.5) / m
    index = np.minimum(np.searchsorted(cumulative, probabilities, side="left"), support.size - 1)
    distance = float(np.mean(np.abs(support[index] - current_sorted)))
    return distance / normaliser(reference_std)


def normaliser(reference_std: float) -> float:
    """The reference std, or ``MIN_STD`` for a constant reference (so any change is large)."""
    return reference_std if reference_std > 0 else MIN_STD


def shares(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    """Counts as shares of their total (all zeros when the total is 0)."""
    array = np.asarray(counts, dtype=np.float64)
    total = array.sum()
    return array / total if total > 0 else np.zeros_like(array)


def jensen_shannon(
    reference_counts: Sequence[float] | np.ndarray, current_counts: Sequence[float] | np.ndarray
) -> float:
    """Jensen-Shannon distance, base 2 (0 = same distribution, 1 = disjoint), between two binned
    distributions given as counts or shares over the same bins."""
    p, q = shares(reference_counts), shares(current_counts)
    middle = (p + q) / 2

    def kullback_leibler(a: np.ndarray) -> float:
        used = a > 0
        return float(np.sum(a[used] * np.log2(a[used] / middle[used])))

    divergence = (kullback_leibler(p) + kullback_leibler(q)) / 2
    return math.sqrt(max(divergence, 0.0))


def psi(
    reference_counts: Sequence[float] | np.ndarray,
    current_counts: Sequence[float] | np.ndarray,
    epsilon: float = PSI_EPSILON,
) -> float:
    """Population stability index, sum((cur - ref) * ln(cur / ref)) over the bins; an empty
    share counts as ``epsilon``. Rules of thumb: < 0.1 stable, 0.1-0.2 moderate, > 0.2 large."""
    reference, current = shares(reference_counts), shares(current_counts)
    reference = np.where(reference == 0, epsilon, reference)
    current = np.where(current == 0, epsilon, current)
    return float(np.sum((current - reference) * np.log(current / reference)))
