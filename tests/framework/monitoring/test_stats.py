"""Drift statistics from a summary agree with scipy on the raw data, and distances have the
values their definitions give on hand-made distributions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.spatial.distance import jensenshannon

from framework.monitoring import stats
from framework.monitoring.profile import numeric_profile


def reference_cdf(profile):
    if profile.discrete:
        return stats.step_cdf(*stats.discrete_support(profile.bin_edges, profile.bin_counts))
    return stats.quantile_cdf(profile.quantiles)


def ks_from_profile(reference: np.ndarray, window: np.ndarray) -> tuple[float, float]:
    profile = numeric_profile("x", reference)
    current, _ = stats.sorted_finite(window)
    return stats.ks_test(reference_cdf(profile), profile.count, current)


# --- summaries ------------------------------------------------------------------------------


def test_quantiles_match_numpy_linear_method():
    values = np.random.default_rng(0).lognormal(size=1001)
    ordered = np.sort(values)
    assert stats.quantiles(ordered) == pytest.approx(np.quantile(values, stats.PROBABILITIES))


def test_tail_means_are_the_means_of_the_outer_percent():
    ordered = np.arange(1.0, 1001.0)  # 1% is 10 values each side
    low, high = stats.tail_means(ordered)
    assert low == pytest.approx(np.mean(ordered[:10]))
    assert high == pytest.approx(np.mean(ordered[-10:]))


def test_tail_means_of_a_small_sample_weigh_the_extreme_value():
    low, high = stats.tail_means(np.array([2.0, 3.0, 7.0]))
    assert (low, high) == (2.0, 7.0)


def test_sorted_finite_counts_nan_inf_and_unparseable_text_as_missing():
    values, missing = stats.sorted_finite(pd.Series(["2.5", "x", None, "1"], dtype=object))
    assert values.tolist() == [1.0, 2.5]
    assert missing == 2
    values, missing = stats.sorted_finite(np.array([3.0, np.nan, np.inf, -np.inf, 1.0]))
    assert values.tolist() == [1.0, 3.0]
    assert missing == 3
    values, missing = stats.sorted_finite(pd.Series([1, None, 3], dtype="Int64"))
    assert values.tolist() == [1.0, 3.0]
    assert missing == 1


def test_continuous_bins_hold_equal_reference_mass_and_catch_any_value():
    ordered = np.sort(np.random.default_rng(1).normal(size=10_000))
    edges, discrete = stats.reference_bin_edges(ordered)
    assert not discrete
    assert edges[0] == -np.inf and edges[-1] == np.inf
    assert len(edges) == stats.N_BINS + 1
    counts = stats.bin_counts(ordered, edges)
    assert counts.sum() == ordered.size
    assert counts == pytest.approx(np.full(stats.N_BINS, 500), abs=1)
    extremes = stats.bin_counts(np.array([-1e300, 1e300]), edges)
    assert extremes[0] == 1 and extremes[-1] == 1


def test_a_discrete_column_gets_one_bin_per_value_and_bins_outside_its_range():
    ordered = np.sort(np.array([0, 0, 1, 1, 1, 3], dtype=float))
    edges, discrete = stats.reference_bin_edges(ordered)
    assert discrete
    assert edges[1:4].tolist() == [0.0, 1.0, 3.0]
    assert stats.bin_counts(ordered, edges).tolist() == [0, 2, 3, 1, 0]
    assert stats.bin_counts(np.array([-1.0, 0.5, 4.0]), edges).tolist() == [1, 1, 0, 0, 1]
    support, counts = stats.discrete_support(edges, stats.bin_counts(ordered, edges))
    assert support.tolist() == [0.0, 1.0, 3.0]
    assert counts.tolist() == [2, 3, 1]


def test_a_constant_column_has_bins_below_at_and_above_its_value():
    edges, discrete = stats.reference_bin_edges(np.full(100, 5.0))
    counts = stats.bin_counts(np.array([4.0, 5.0, 6.0]), edges)
    assert discrete and counts.tolist() == [1, 1, 1]


def test_category_counts_are_text_most_frequent_first_and_skip_missing():
    counts, missing = stats.category_counts(pd.Series([1, "1", "b", None, np.nan, "a", "b", 1]))
    assert counts.to_dict() == {"1": 3, "b": 2, "a": 1}
    assert list(counts.index) == ["1", "b", "a"]
    assert missing == 2


def test_category_counts_drop_unused_categories_of_a_categorical_dtype():
    values = pd.Categorical(["a", "a", None], categories=["a", "b"])
    counts, missing = stats.category_counts(pd.Series(values))
    assert counts.to_dict() == {"a": 2}
    assert missing == 1


# --- Kolmogorov-Smirnov ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shift", [0.0, 0.15, 0.5])
def test_ks_from_quantiles_agrees_with_scipy_on_the_raw_samples(seed, shift):
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=20_000)
    window = rng.normal(loc=shift, size=500)
    statistic, p_value = ks_from_profile(reference, window)
    expected = scipy_stats.ks_2samp(reference, window, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=0.006)
    assert p_value == pytest.approx(expected.pvalue, abs=0.05)


@pytest.mark.parametrize("shift, drifted", [(0.0, False), (0.5, True)])
def test_ks_decides_like_scipy_on_clearly_equal_and_clearly_drifted_data(shift, drifted):
    rng = np.random.default_rng(7)
    reference = rng.lognormal(size=50_000)
    window = rng.lognormal(mean=shift, size=300)
    _, p_value = ks_from_profile(reference, window)
    assert (p_value < 0.05) is drifted
    assert bool(scipy_stats.ks_2samp(reference, window).pvalue < 0.05) is drifted


def test_ks_on_a_discrete_column_is_exact():
    rng = np.random.default_rng(3)
    reference = rng.poisson(3, size=5_000).astype(float)
    window = rng.poisson(3.4, size=400).astype(float)
    statistic, p_value = ks_from_profile(reference, window)
    expected = scipy_stats.ks_2samp(reference, window, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-6)


def test_ks_sees_values_beyond_a_constant_reference():
    statistic, p_value = ks_from_profile(np.full(1000, 2.0), np.full(50, 3.0))
    assert statistic == 1.0 and p_value < 1e-6


# --- chi-square -----------------------------------------------------------------------------


def test_chi_square_is_scipys_test_of_homogeneity():
    reference, current = [500, 300, 200, 0], [40, 35, 20, 5]
    statistic, p_value = stats.chi_square(reference, current)
    expected = scipy_stats.chi2_contingency(np.array([reference, current]))
    assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue))


def test_chi_square_drops_cells_empty_in_both_and_a_single_category_cannot_drift():
    statistic, p_value = stats.chi_square([10, 0, 5], [3, 0, 4])
    expected = scipy_stats.chi2_contingency(np.array([[10, 5], [3, 4]]))
    assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue))
    assert stats.chi_square([10, 0], [4, 0]) == (0.0, 1.0)


# --- Wasserstein ----------------------------------------------------------------------------


def wasserstein_from_profile(reference: np.ndarray, window: np.ndarray) -> float:
    profile = numeric_profile("x", reference)
    current, _ = stats.sorted_finite(window)
    if profile.discrete:
        support = stats.discrete_support(profile.bin_edges, profile.bin_counts)
        return stats.wasserstein_from_counts(*support, profile.std, current)
    return stats.wasserstein_from_quantiles(
        profile.quantiles, profile.tail_means, profile.std, current
    )


def raw_wasserstein(reference: np.ndarray, window: np.ndarray) -> float:
    return scipy_stats.wasserstein_distance(reference, window) / np.std(reference)


def test_wasserstein_of_a_shift_is_the_shift_in_reference_stds():
    rng = np.random.default_rng(0)
    reference = rng.normal(scale=2.0, size=200_000)
    assert wasserstein_from_profile(reference, reference + 1.0) == pytest.approx(0.5, abs=1e-3)
    assert wasserstein_from_profile(reference, reference) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "make_window",
    [
        lambda rng: rng.lognormal(mean=0.3, size=100_000),
        lambda rng: rng.lognormal(sigma=1.4, size=100_000),
        lambda rng: rng.lognormal(size=100_000) * 0.8,
    ],
    ids=["shifted", "wider", "scaled"],
)
def test_wasserstein_from_quantiles_agrees_with_scipy_on_heavy_tailed_data(make_window):
    rng = np.random.default_rng(1)
    reference = rng.lognormal(size=200_000)
    window = make_window(rng)
    expected = raw_wasserstein(reference, window)
    assert wasserstein_from_profile(reference, window) == pytest.approx(expected, rel=0.1)


def test_wasserstein_is_not_moved_by_one_extreme_value_in_a_heavy_tail():
    rng = np.random.default_rng(2)
    reference = rng.pareto(1.5, size=200_000)
    window = rng.pareto(1.5, size=100_000)
    assert wasserstein_from_profile(reference, window) < 0.05


def test_wasserstein_on_a_discrete_column_is_exact():
    rng = np.random.default_rng(4)
    reference = (rng.random(100_000) < 0.01).astype(float)
    window = (rng.random(50_000) < 0.02).astype(float)
    expected = raw_wasserstein(reference, window)
    assert wasserstein_from_profile(reference, window) == pytest.approx(expected, rel=1e-6)


def test_wasserstein_of_a_changed_constant_is_large():
    assert wasserstein_from_profile(np.full(100, 1.0), np.full(100, 1.01)) >= 10


# --- Jensen-Shannon and PSI -----------------------------------------------------------------


def test_jensen_shannon_known_values():
    assert stats.jensen_shannon([5, 5], [1, 1]) == 0.0
    assert stats.jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)
    # m = (0.75, 0.25): (log2(4/3) + 0.5 log2(2/3) + 0.5 log2(2)) / 2 = 0.3113
    assert stats.jensen_shannon([1, 0], [1, 1]) == pytest.approx(math.sqrt(0.311278), abs=1e-6)


def test_jensen_shannon_is_scipys_base_2_distance():
    p, q = [0.1, 0.4, 0.3, 0.2, 0.0], [0.3, 0.3, 0.1, 0.1, 0.2]
    assert stats.jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2))


def test_psi_known_values():
    assert stats.psi([1, 1], [1, 1]) == 0.0
    # (0.75 - 0.5) ln(1.5) + (0.25 - 0.5) ln(0.5) = 0.27465
    assert stats.psi([50, 50], [25, 75]) == pytest.approx(0.274653, abs=1e-6)


def test_psi_counts_an_empty_bin_as_epsilon():
    expected = (0.5 - 1.0) * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert stats.psi([10, 0], [5, 5]) == pytest.approx(expected)
