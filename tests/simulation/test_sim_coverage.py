"""Simulation: coverage of the intervals and false-flag rates of comparisons and funnels.

Fixed seeds, vectorised draws, and enough replicates that the Monte Carlo standard error is small next
to each tolerance (it is recorded with every figure). Where a property is exact (coverage of Poisson
intervals at a given mean is a finite sum), the exact figure is computed as well, because a simulation
cannot prove "never below 95%". Every measured figure is written to ``bench-results/stats_coverage.json``
so that it can be quoted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from gpscale.stats import (
    compare_to_benchmark,
    exact_poisson_interval,
    funnel,
    poisson_interval,
    wilson_interval,
)

RESULTS = Path(__file__).resolve().parents[2] / "bench-results" / "stats_coverage.json"
FIGURES: dict[str, Any] = {}

PROPORTIONS = np.round(np.arange(0.05, 0.951, 0.05), 2)
DENOMINATORS = np.array([20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000])


@pytest.fixture(scope="module", autouse=True)
def _write_figures() -> Iterator[None]:
    """Merge this module's figures into bench-results/stats_coverage.json after the tests run."""
    yield
    RESULTS.parent.mkdir(exist_ok=True)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing.update(FIGURES)
    RESULTS.write_text(json.dumps(existing, indent=2, default=float) + "\n")


def _mc_se(rate: float, replicates: int) -> float:
    return float(np.sqrt(max(rate * (1 - rate), 1e-12) / replicates))


def test_wilson_coverage_between_94_and_96_percent() -> None:
    """Wilson 95%: coverage averaged over p in 0.05..0.95 lies in [94%, 96%] for each n in 20..10,000."""
    rng = np.random.default_rng(20240101)
    replicates = 20_000
    by_n = {}
    for n in DENOMINATORS:
        x = rng.binomial(n, PROPORTIONS[:, None], size=(PROPORTIONS.size, replicates))
        lower, upper = wilson_interval(x, n, 0.95)
        covered = (lower <= PROPORTIONS[:, None]) & (PROPORTIONS[:, None] <= upper)
        per_p = covered.mean(axis=1)
        by_n[int(n)] = {"mean_over_p": float(per_p.mean()), "min_over_p": float(per_p.min())}
    se = _mc_se(0.95, replicates * PROPORTIONS.size)
    FIGURES["wilson_95_coverage"] = {
        "replicates_per_cell": replicates,
        "proportions": PROPORTIONS.tolist(),
        "by_denominator": by_n,
        "mc_se_of_mean": se,
    }
    for n, row in by_n.items():
        assert 0.94 <= row["mean_over_p"] <= 0.96, (n, row)


def _poisson_coverage(lower: np.ndarray, upper: np.ndarray, means: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Exact coverage at each mean: the Poisson probability of the counts whose interval covers it."""
    covers = (lower[None, :] <= means[:, None]) & (means[:, None] <= upper[None, :])
    return (stats.poisson.pmf(counts[None, :], means[:, None]) * covers).sum(axis=1)


def test_exact_poisson_never_below_95_percent() -> None:
    """Exact Poisson 95% limits cover every true mean at least 95% of the time (they are conservative)."""
    means = np.geomspace(0.05, 1_000, 400)
    counts = np.arange(0, 1_500)
    lower, upper = exact_poisson_interval(counts, 0.95)
    exact = _poisson_coverage(lower, upper, means, counts)

    rng = np.random.default_rng(20240102)
    replicates = 20_000
    draws = rng.poisson(means[:, None], size=(means.size, replicates))
    simulated = ((lower[draws] <= means[:, None]) & (means[:, None] <= upper[draws])).mean(axis=1)
    se = _mc_se(0.95, replicates)
    FIGURES["exact_poisson_95_coverage"] = {
        "means": "400 log-spaced from 0.05 to 1000",
        "exact_min": float(exact.min()),
        "exact_mean": float(exact.mean()),
        "exact_max": float(exact.max()),
        "conservative_by_mean_points": float(100 * (exact.mean() - 0.95)),
        "conservative_by_max_points": float(100 * (exact.max() - 0.95)),
        "simulated_min": float(simulated.min()),
        "simulated_mean": float(simulated.mean()),
        "replicates_per_mean": replicates,
        "mc_se": se,
    }
    assert exact.min() >= 0.95 - 1e-12
    assert simulated.min() >= 0.95 - 4.5 * se  # lowest of 400 noisy estimates of values >= 95%


def test_combined_exact_byar_coverage_between_94_and_97_percent() -> None:
    """Exact below 10 events, Byar from 10: coverage between 94% and 97% for true means 10..1,000.

    Pointwise coverage of any Poisson interval oscillates with the mean because counts are whole
    numbers. Just above a mean of 10 the rule still uses exact limits for the likely counts below 10,
    and coverage peaks at 97.5% at a few means between 10 and 18 (the exact interval does the same
    there). So the test checks the average over means and the pointwise minimum over 10..1,000, and the
    pointwise maximum from a mean of 20.
    """
    means = np.geomspace(10, 1_000, 400)
    counts = np.arange(0, 1_500)
    lower, upper = poisson_interval(counts, 0.95)
    exact = _poisson_coverage(lower, upper, means, counts)

    rng = np.random.default_rng(20240103)
    replicates = 20_000
    draws = rng.poisson(means[:, None], size=(means.size, replicates))
    simulated = ((lower[draws] <= means[:, None]) & (means[:, None] <= upper[draws])).mean(axis=1)
    from20 = means >= 20
    FIGURES["combined_poisson_95_coverage"] = {
        "means": "400 log-spaced from 10 to 1000",
        "exact_mean": float(exact.mean()),
        "exact_min": float(exact.min()),
        "exact_max": float(exact.max()),
        "exact_max_from_mean_20": float(exact[from20].max()),
        "means_above_97pct": means[exact > 0.97].round(2).tolist(),
        "simulated_mean": float(simulated.mean()),
        "simulated_min": float(simulated.min()),
        "simulated_max": float(simulated.max()),
        "replicates_per_mean": replicates,
    }
    assert 0.94 <= simulated.mean() <= 0.97
    assert 0.94 <= exact.mean() <= 0.97
    assert exact.min() >= 0.94
    assert exact[from20].max() <= 0.97


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_false_better_rate_for_proportions(confidence: float) -> None:
    """No true difference: how often is a unit called "better"? Nominal one-sided rate (1 - level) / 2.

    The exact binomial rule never exceeds it. The Wilson rules (Fingertips' CI-vs-value rule and PHE
    control limits, which are equivalent) are approximately nominal on average but not everywhere:
    with small expected counts the rate swings above it (at 95%, 7.5% for n = 20 and p = 0.05; at
    99.8%, about 0.6% for n = 20). That is measured and recorded, and the test checks that the average
    over the whole grid is within 15% of nominal.
    """
    rng = np.random.default_rng(20240104 + int(confidence * 1000))
    replicates = 20_000
    nominal = (1 - confidence) / 2
    record: dict[str, Any] = {"nominal_one_sided": nominal, "replicates_per_cell": replicates}
    rates = {"interval": [], "control_limits": [], "exact": []}
    for n in DENOMINATORS:
        x = rng.binomial(n, PROPORTIONS[:, None], size=(PROPORTIONS.size, replicates))
        for method in rates:
            result = compare_to_benchmark(x, n, PROPORTIONS[:, None], confidence=confidence, method=method)
            rates[method].append((result.labels == "better").mean(axis=1))
    se = _mc_se(nominal, replicates)
    for method, values in rates.items():
        table = np.array(values)
        worst = np.unravel_index(table.argmax(), table.shape)
        record[method] = {
            "mean": float(table.mean()),
            "max": float(table.max()),
            "max_at": {"n": int(DENOMINATORS[worst[0]]), "p": float(PROPORTIONS[worst[1]])},
            "mean_by_n": dict(zip(DENOMINATORS.tolist(), table.mean(axis=1).tolist(), strict=True)),
        }
    FIGURES[f"false_better_proportion_{confidence:g}"] = record
    assert record["exact"]["max"] <= nominal + 4.5 * se
    assert record["exact"]["mean"] <= nominal
    for method in ("interval", "control_limits"):
        assert record[method]["mean"] <= 1.15 * nominal + 3 * se / np.sqrt(PROPORTIONS.size * DENOMINATORS.size)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_false_better_rate_for_ratios_at_most_nominal(confidence: float) -> None:
    """Standardised ratios at their expected value: the false "better" (low, polarity low_is_good) rate."""
    rng = np.random.default_rng(20240105 + int(confidence * 1000))
    replicates = 100_000
    expected = np.geomspace(0.5, 2_000, 30)
    observed = rng.poisson(expected[:, None], size=(expected.size, replicates))
    nominal = (1 - confidence) / 2
    se = _mc_se(nominal, replicates)
    record: dict[str, Any] = {"nominal_one_sided": nominal, "replicates_per_mean": replicates}
    for method in ("interval", "control_limits"):
        result = compare_to_benchmark(
            observed,
            expected[:, None],
            1.0,
            statistic="ratio",
            polarity="low_is_good",
            confidence=confidence,
            method=method,
        )
        better = (result.labels == "better").mean(axis=1)
        record[method] = {"mean": float(better.mean()), "max": float(better.max()), "mc_se": se}
        assert better.max() <= nominal + 4.5 * se, method
        assert better.mean() <= nominal + 3 * se / np.sqrt(expected.size), method
    FIGURES[f"false_better_ratio_{confidence:g}"] = record


def test_overdispersion_adjusted_funnel_flags_about_5_percent() -> None:
    """Pure random effect (no special-cause units): the adjusted funnel flags ~5% at its 95% limits.

    1,300 units with denominators log-uniform on 300..20,000, proportion 0.7 plus a normal random effect
    (SD 0.005, 0.01 and 0.03). Figures are recorded for the unadjusted PHE funnel, Spiegelhalter's
    published estimator and the bias-corrected (default) estimator.
    """
    rng = np.random.default_rng(20240106)
    units, funnels_per_scenario = 1_300, 40
    record: dict[str, Any] = {"units": units, "funnels_per_scenario": funnels_per_scenario, "scenarios": {}}
    for tau in (0.005, 0.01, 0.03):
        flagged: dict[str, list[float]] = {"unadjusted": [], "spiegelhalter": [], "consistent": []}
        tau_hat = []
        for _ in range(funnels_per_scenario):
            n = np.round(np.exp(rng.uniform(np.log(300), np.log(20_000), units)))
            p = np.clip(0.7 + rng.normal(0.0, tau, units), 0.0, 1.0)
            x = rng.binomial(n.astype(np.int64), p)
            flagged["unadjusted"].append(float(np.mean(funnel(x, n).position != "Not significant")))
            for estimator in ("spiegelhalter", "consistent"):
                result = funnel(x, n, overdispersion=True, estimator=estimator)
                flagged[estimator].append(float(np.mean(result.position != "Not significant")))
                if estimator == "consistent":
                    assert result.overdispersion is not None
                    tau_hat.append(result.overdispersion.tau2**0.5)
        summary = {k: float(np.mean(v)) for k, v in flagged.items()}
        summary["true_tau"] = tau
        summary["mean_estimated_tau_consistent"] = float(np.mean(tau_hat))
        record["scenarios"][str(tau)] = summary
        assert 0.04 <= summary["consistent"] <= 0.06, summary
        assert summary["unadjusted"] > 2 * summary["consistent"], summary
        assert summary["spiegelhalter"] <= summary["unadjusted"] + 1e-12
    FIGURES["overdispersion_funnel_95_flag_rate"] = record
