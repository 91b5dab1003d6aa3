"""Simulation: coverage of the intervals and false-flag rates of comparisons and funnels.

Fixed seeds, vectorised draws, and enough replicates that the Monte Carlo standard error is small next
to each tolerance (it is recorded with every figure). Where a property is exact (coverage of Poisson
intervals at a given mean is a finite sum), the exact figure is computed as well, because a simulation
cannot prove "never below 95%". The false-flag rates are those of the scorecard's own comparison
(:func:`gpscale.evaluate.scorecard.compare_with_england`: the pooled value's interval against England's
value). Every measured figure is written to ``stats_coverage.json`` in ``figures_dir`` (``bench-results/``
under ``make bench``) so that it can be quoted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gpscale.domain.vocabulary import ComparisonLabel, Polarity, ValueType
from gpscale.evaluate.scorecard import compare_with_england
from gpscale.stats import exact_poisson_interval, funnel, poisson_interval, wilson_interval

FIGURES: dict[str, Any] = {}

PROPORTIONS = np.round(np.arange(0.05, 0.951, 0.05), 2)
DENOMINATORS = np.array([20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000])


@pytest.fixture(scope="module", autouse=True)
def _write_figures(figures_dir: Path) -> Iterator[None]:
    """Merge this module's figures into stats_coverage.json after the tests run."""
    yield
    out = figures_dir / "stats_coverage.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing.update(FIGURES)
    out.write_text(json.dumps(existing, indent=2, default=float) + "\n")


def _scorecard_labels(x: np.ndarray, n: np.ndarray, value_type: ValueType, polarity: Polarity, confidence: float,
                      england: np.ndarray, multiplier: float) -> np.ndarray:
    """The scorecard's labels for pooled counts ``x`` of ``n`` against England's value (same shapes)."""
    pooled = pd.DataFrame({"numerator": x.ravel().astype(float), "denominator": n.ravel().astype(float)})
    result = compare_with_england(pooled, value_type, multiplier, polarity, confidence, england.ravel())[4]
    return result.labels.reshape(x.shape)


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
    """No true difference: how often does the scorecard call a proportion "better"? Nominal (1 - level) / 2.

    The scorecard's rule (Fingertips' Wilson interval against England's value) is approximately nominal
    on average but not everywhere: with small expected counts the rate swings above it (at 95%, 7.5% for
    n = 20 and p = 0.05; at 99.8%, about 0.6% for n = 20). That is measured and recorded, and the test
    checks that the average over the whole grid is within 15% of nominal, and that the rate is nominal
    within simulation error once the expected count of events is 25 or more.
    """
    rng = np.random.default_rng(20240104 + int(confidence * 1000))
    replicates = 20_000
    nominal = (1 - confidence) / 2
    rates = []
    for n in DENOMINATORS:
        x = rng.binomial(n, PROPORTIONS[:, None], size=(PROPORTIONS.size, replicates))
        england = np.broadcast_to(100 * PROPORTIONS[:, None], x.shape)
        labels = _scorecard_labels(x, np.full(x.shape, n), ValueType.PROPORTION, Polarity.HIGH_IS_GOOD,
                                   confidence, england, 100.0)
        rates.append((labels == ComparisonLabel.BETTER).mean(axis=1))
    se = _mc_se(nominal, replicates)
    table = np.array(rates)
    worst = np.unravel_index(table.argmax(), table.shape)
    events = DENOMINATORS[:, None] * PROPORTIONS[None, :]
    large = table[events >= 25]
    FIGURES[f"false_better_proportion_{confidence:g}"] = {
        "nominal_one_sided": nominal,
        "replicates_per_cell": replicates,
        "rule": "scorecard: Wilson score interval on pooled counts vs England's value",
        "mean": float(table.mean()),
        "max": float(table.max()),
        "max_at": {"n": int(DENOMINATORS[worst[0]]), "p": float(PROPORTIONS[worst[1]])},
        "max_from_25_expected_events": float(large.max()),
        "mean_by_n": dict(zip(DENOMINATORS.tolist(), table.mean(axis=1).tolist(), strict=True)),
        "mc_se": se,
    }
    assert table.mean() <= 1.15 * nominal + 3 * se / np.sqrt(table.size)
    assert large.max() <= 1.6 * nominal + 4.5 * se


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_false_better_rate_for_ratios_at_most_nominal(confidence: float) -> None:
    """Standardised ratios at their expected value: the scorecard's false "better" (low, polarity
    low_is_good) rate, from Poisson limits on the observed count (exact below 10 events, Byar from 10)."""
    rng = np.random.default_rng(20240105 + int(confidence * 1000))
    replicates = 100_000
    expected = np.geomspace(0.5, 2_000, 30)
    observed = rng.poisson(expected[:, None], size=(expected.size, replicates))
    nominal = (1 - confidence) / 2
    se = _mc_se(nominal, replicates)
    labels = _scorecard_labels(observed, np.broadcast_to(expected[:, None], observed.shape),
                               ValueType.STANDARDISED_RATIO, Polarity.LOW_IS_GOOD, confidence,
                               np.full(observed.shape, 100.0), 100.0)
    better = (labels == ComparisonLabel.BETTER).mean(axis=1)
    FIGURES[f"false_better_ratio_{confidence:g}"] = {
        "nominal_one_sided": nominal, "replicates_per_mean": replicates, "mean": float(better.mean()),
        "max": float(better.max()), "mc_se": se,
        "rule": "scorecard: Poisson interval on the observed count over expected vs England's ratio",
    }
    assert better.max() <= nominal + 4.5 * se
    assert better.mean() <= nominal + 3 * se / np.sqrt(expected.size)


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
