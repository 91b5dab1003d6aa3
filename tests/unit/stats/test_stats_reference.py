"""gpscale.stats.reference: the distribution of the mean of m random draws, against independent oracles.

Oracles: complete enumeration of every m-tuple of a small set (the exact distribution of the mean), Monte
Carlo resampling of a large skewed set at sizes between and beyond the exactly computed ones, and the
normal limit. The half-mass convention at atoms (a value counts half its own probability) is checked on
enumeration too.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from gpscale.stats.reference import EXACT_SIZES, mean_reference

RNG = np.random.default_rng(20261205)


def _standardise(values: np.ndarray, means: np.ndarray, m: int) -> np.ndarray:
    return np.sqrt(m) * (means - values.mean()) / values.std()


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_distribution_equals_enumeration_of_every_tuple(m):
    values = np.array([0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0])  # skewed, on an integer lattice
    ref = mean_reference(values)
    means = np.array([np.mean(t) for t in itertools.product(values, repeat=m)])
    atoms, counts = np.unique(np.round(means * m).astype(int), return_counts=True)
    prob = counts / counts.sum()
    below = np.concatenate([[0.0], np.cumsum(prob)[:-1]])
    # between atoms: the probability below; at an atom: below plus half its own mass (to the resolution of
    # the stored quantile functions, steps of 0.01 in normal scores: at most 0.002 in probability)
    gaps = (atoms[:-1] + atoms[1:]) / 2 / m
    got_gap = ref.distribution(_standardise(values, gaps, m), m)
    assert got_gap == pytest.approx(np.cumsum(prob)[:-1], abs=2e-3)
    # an atom off the grid is split between two grid points, which moves its half-mass by up to 1/16 of it
    got_atom = ref.distribution(_standardise(values, atoms / m, m), m)
    assert np.all(np.abs(got_atom - (below + prob / 2)) <= 2e-3 + prob / 16)


@pytest.mark.parametrize("m", [1, 3, 6, 11, 27, 100, 400])
def test_quantiles_match_resampling_of_a_skewed_population(m):
    # QOF-like: most practices near the top, a long tail below (skewness about -3)
    values = 1 - RNG.lognormal(-3.5, 1.0, 5000).clip(max=0.9)
    ref = mean_reference(values)
    means = RNG.choice(values, size=(40_000, m)).mean(axis=1)
    t = _standardise(values, means, m)
    for q in (0.01, 0.025, 0.5, 0.975, 0.99):
        # in probability (what a p-value needs): within 4 Monte Carlo standard errors and 0.001
        tolerance = 4 * np.sqrt(q * (1 - q) / means.size) + 1e-3
        assert float(ref.distribution(np.quantile(t, q), m)) == pytest.approx(q, abs=tolerance)


def test_quantile_and_distribution_are_exact_inverses_at_any_size():
    ref = mean_reference(RNG.gamma(0.7, size=3000))
    sizes = np.array([1.0, 1.7, 2.5, 6.0, 8.3, 13.0, 50.0, 127.9, 128.0, 129.0, 5000.0])
    for q in (0.001, 0.025, 0.3, 0.975, 0.999):
        assert ref.distribution(ref.quantile(q, sizes), sizes) == pytest.approx(np.full(sizes.size, q), abs=1e-9)


def test_large_sizes_approach_the_normal_and_skew_shrinks_like_one_over_root_m():
    values = RNG.exponential(size=4000)  # skewness 2
    ref = mean_reference(values)
    assert ref.skewness == pytest.approx(2.0, abs=0.3)
    z = stats.norm.ppf(0.975)
    gaps = [abs(float(ref.quantile(0.975, m)) - z) for m in (4, 16, 64)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[0] / gaps[2] == pytest.approx(4.0, rel=0.35)  # halves as m quadruples
    assert float(ref.quantile(0.975, 1e7)) == pytest.approx(z, abs=2e-3)


def test_the_lower_tail_of_left_skewed_means_is_longer_than_the_normal_says():
    values = 1 - RNG.lognormal(-3.5, 1.0, 5000).clip(max=0.9)
    ref = mean_reference(values)
    z = stats.norm.ppf(0.975)
    assert float(ref.quantile(0.025, 6)) < -z < z < 2 * float(ref.quantile(0.975, 6))


def test_missing_values_are_left_out_and_a_constant_has_no_spread():
    values = np.array([1.0, 2.0, np.nan, 4.0, 7.0])
    a, b = mean_reference(values), mean_reference(values[np.isfinite(values)])
    assert np.array_equal(a.table, b.table) and a.units == 4
    flat = mean_reference(np.full(10, 3.0))
    assert np.all(flat.table == 0.0)
    assert np.isnan(mean_reference(values).distribution(0.0, 0.5))  # sizes below one are meaningless


def test_only_the_sizes_asked_for_are_computed_exactly():
    ref = mean_reference(RNG.normal(size=500), sizes=(1, 2, 3))
    assert list(ref.sizes[:-1]) == [1.0, 2.0, 3.0] and np.isinf(ref.sizes[-1])
    assert EXACT_SIZES[0] == 1
