"""Calibration of the scheme forecast on synthetic England: predicted probabilities match what happens.

Study design in :mod:`tests.simulation.schemes.calibration`: PCNs of a synthetic England of
``PRACTICES`` practices, six indicators (one of each value type, two surveys), six targets each, forecast
from every origin year below (as-was membership from PCNs' first years, and a fixed cohort from earlier
years, each forecast seeing only the data up to its origin) and scored on the next year. In every decile
of the predicted probability the observed frequency of meeting the target must be within 5 percentage
points of the mean prediction.

The reliability table is written to ``$TMPDIR/gpscale-test-reports/scheme_forecast_calibration.md`` and
printed at the end of the pytest run (``tests/simulation/schemes/conftest.py``). The full-size study
(more practices and origins) is ``make bench`` (``tests/bench/bench_schemes.py``), summarised in
BENCHMARKS.md and docs/schemes.md.
"""

from __future__ import annotations

from tests.simulation.schemes.calibration import markdown, run_study
from tests.simulation.schemes.conftest import REPORT

SEED = 7
PRACTICES = 1000
ORIGINS = {"as-was": [2020, 2021, 2022], "cohort:2019-10-01": [2013, 2014, 2015, 2016, 2017]}
DRAWS = 500
TOLERANCE = 0.05


def test_forecast_probabilities_are_calibrated_within_five_points_in_every_decile():
    study = run_study(SEED, PRACTICES, ORIGINS, DRAWS)
    table = markdown(study)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("# Scheme forecast calibration (simulation test)\n\n" + table)
    print(table)
    d = study.deciles
    assert len(study.predictions) > 20_000 and len(d) == 10
    assert set(study.predictions["target_type"]) == {"network_standard", "improvement", "practice_share",
                                                     "thresholds"}
    worst = d.loc[d["difference"].abs().idxmax()]
    assert (d["difference"].abs() <= TOLERANCE).all(), (
        f"decile {worst['group']}: observed {worst['observed']:.3f} vs predicted {worst['mean_predicted']:.3f}\n"
        + table)
    # the predictions are informative, not all near the base rate
    assert d["mean_predicted"].iloc[0] < 0.05 and d["mean_predicted"].iloc[-1] > 0.95
