"""Benchmarks for gpscale.stats against PHStatsMethods doing the same work in the same run.

PHStatsMethods (test-only, GPL) computes one interval per Python call, so on the full workloads it would
take minutes; it is timed on a random subsample and its time scaled up linearly (its cost is linear in
the number of rows), which each record states. Run with ``python -m tests.bench.run stats``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pandas as pd

from gpscale.stats import funnel, poisson_interval, wilson_interval
from tests.bench.harness import peak_rss_mib, record, timeit

N_INTERVALS = 1_000_000
GROUPS, INDICATORS, PERIODS = 1_300, 16, 15


def _phstats() -> ModuleType:
    """PHStatsMethods, imported only here (test-only, GPL): never a run-time dependency."""
    import PHStatsMethods

    return PHStatsMethods


def _scaled(fn: Callable[[], object], subsample: int, total: int, repeat: int = 1) -> dict[str, float]:
    """Time ``fn`` on ``subsample`` rows and scale linearly to ``total`` rows."""
    timing = timeit(fn, repeat=repeat)
    scale = total / subsample
    return {"subsample": subsample, "subsample_min_s": timing["min_s"], "scaled_min_s": timing["min_s"] * scale}


def bench_stats_intervals() -> None:
    """One million Wilson and one million Poisson (exact below 10, Byar from 10) intervals at 95%."""
    ph = _phstats()
    rng = np.random.default_rng(0)
    n = rng.integers(1, 20_000, size=N_INTERVALS).astype(float)
    x = rng.binomial(n.astype(np.int64), rng.uniform(0.01, 0.99, size=N_INTERVALS)).astype(float)
    counts = rng.poisson(np.exp(rng.uniform(np.log(0.5), np.log(5_000), size=N_INTERVALS))).astype(float)
    counts[counts == 0] = 1  # PHStatsMethods raises on zero counts; give it counts it can do

    ours_wilson = timeit(lambda: wilson_interval(x, n, 0.95))
    ours_poisson = timeit(lambda: poisson_interval(counts, 0.95))

    sub = 20_000
    xs, ns, cs = x[:sub].tolist(), n[:sub].tolist(), counts[:sub].tolist()
    theirs_wilson = _scaled(lambda: [ph.wilson(a, b, 0.95) for a, b in zip(xs, ns, strict=True)], sub, N_INTERVALS)
    theirs_poisson = _scaled(lambda: [(ph.byars_lower(c, 0.95), ph.byars_upper(c, 0.95)) for c in cs], sub, N_INTERVALS)
    metrics = {
        "intervals": N_INTERVALS,
        "wilson_ours_s": ours_wilson["min_s"],
        "wilson_phstatsmethods_s": theirs_wilson["scaled_min_s"],
        "wilson_speedup": theirs_wilson["scaled_min_s"] / ours_wilson["min_s"],
        "poisson_ours_s": ours_poisson["min_s"],
        "poisson_phstatsmethods_s": theirs_poisson["scaled_min_s"],
        "poisson_speedup": theirs_poisson["scaled_min_s"] / ours_poisson["min_s"],
        "phstatsmethods_subsample": sub,
        "peak_rss_mib": peak_rss_mib(),
    }
    record(
        "stats_intervals",
        metrics,
        notes=(
            f"gpscale.stats vectorised over {N_INTERVALS:,} rows (min of 3 runs) vs PHStatsMethods "
            f"wilson() and byars_lower()/byars_upper() (the Fingertips exact-below-10 rule) called per row "
            f"on a {sub:,}-row subsample, time scaled x{N_INTERVALS // sub} (linear per-row cost). Zero "
            "counts were replaced by 1 because PHStatsMethods raises on them."
        ),
    )
    print(f"  wilson x{metrics['wilson_speedup']:.0f}, poisson x{metrics['poisson_speedup']:.0f}")


def _funnel_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Practice-group style proportions: (funnels, groups) numerators and denominators."""
    funnels = INDICATORS * PERIODS
    n = np.round(np.exp(rng.uniform(np.log(300), np.log(60_000), size=(funnels, GROUPS))))
    p = np.clip(rng.uniform(0.4, 0.9, size=(funnels, 1)) + rng.normal(0, 0.03, size=(funnels, GROUPS)), 0, 1)
    return rng.binomial(n.astype(np.int64), p).astype(float), n


def bench_stats_funnels() -> None:
    """PHE funnels for 1,300 groups x 16 indicators x 15 periods: limits, positions and the plotting table."""
    ph = _phstats()
    rng = np.random.default_rng(1)
    x, n = _funnel_data(rng)
    funnels = x.shape[0]

    def curve(xi: np.ndarray, ni: np.ndarray, statistic: str = "proportion") -> None:
        """The limits along a 100-point grid of denominators, to draw the funnel's curves."""
        grid = np.geomspace(ni.min(), ni.max(), 100)
        funnel(np.zeros(100), grid, statistic, target=xi.sum() / ni.sum() if statistic != "ratio" else 1.0)  # type: ignore[arg-type]

    def ours() -> None:
        for i in range(funnels):
            funnel(x[i], n[i])  # limits at every unit's denominator, both levels, positions
            curve(x[i], n[i])  # the 100-point plotting grid

    def ours_overdispersed() -> None:
        for i in range(funnels):
            funnel(x[i], n[i], overdispersion=True)

    ours_t = timeit(ours, repeat=3)
    ours_od = timeit(ours_overdispersed, repeat=1)

    sub = 4
    frames = [pd.DataFrame({"x": x[i], "n": n[i]}) for i in range(sub)]

    def theirs() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for frame in frames:
                ph.assign_funnel_significance(frame.copy(), "x", "proportion", denom_col="n")
                ph.calculate_funnel_limits(frame.copy(), "x", "proportion", 100, denom_col="n", metadata=False)

    theirs_t = _scaled(theirs, sub, funnels)

    # ratio funnels (e.g. standardised admission ratios): one funnel each way, for scale
    expected = np.exp(rng.uniform(np.log(5), np.log(800), size=GROUPS))
    observed = rng.poisson(expected * rng.lognormal(0, 0.15, size=GROUPS)).astype(float)
    ratio_frame = pd.DataFrame({"o": observed, "e": expected})
    ours_ratio = timeit(lambda: (funnel(observed, expected, "ratio"), curve(observed, expected, "ratio")))

    def theirs_ratio() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ph.assign_funnel_significance(ratio_frame.copy(), "o", "ratio", denom_col="e")
            ph.calculate_funnel_limits(
                ratio_frame.copy(), "o", "ratio", 100, denom_col="e", ratio_type="isr", metadata=False
            )

    theirs_ratio_t = timeit(theirs_ratio, repeat=1)
    metrics = {
        "groups": GROUPS,
        "indicators": INDICATORS,
        "periods": PERIODS,
        "funnels": funnels,
        "units": funnels * GROUPS,
        "proportion_ours_s": ours_t["min_s"],
        "proportion_phstatsmethods_s": theirs_t["scaled_min_s"],
        "proportion_speedup": theirs_t["scaled_min_s"] / ours_t["min_s"],
        "proportion_overdispersion_adjusted_ours_s": ours_od["min_s"],
        "phstatsmethods_funnels_timed": sub,
        "ratio_one_funnel_ours_s": ours_ratio["min_s"],
        "ratio_one_funnel_phstatsmethods_s": theirs_ratio_t["min_s"],
        "ratio_speedup": theirs_ratio_t["min_s"] / ours_ratio["min_s"],
        "peak_rss_mib": peak_rss_mib(),
    }
    record(
        "stats_funnels",
        metrics,
        notes=(
            f"{funnels} proportion funnels of {GROUPS} groups. Ours per funnel: funnel() (95% and 99.8% limits "
            "at every unit's denominator and each unit's PHE position) plus funnel() on a 100-point grid of "
            "denominators (the plotting curves). "
            "PHStatsMethods per funnel: assign_funnel_significance() plus calculate_funnel_limits(), timed on "
            f"{sub} funnels and scaled x{funnels // sub}. Overdispersion-adjusted time (consistent tau^2) has "
            "no PHStatsMethods counterpart. Ratio: one funnel of 1,300 O/E ratios each way (PHStatsMethods' "
            "pure-Python Poisson bisection), not scaled."
        ),
    )
    print(f"  proportion funnels x{metrics['proportion_speedup']:.0f}, ratio funnel x{metrics['ratio_speedup']:.0f}")
