"""Network incentive schemes: define a scheme as data, score it, forecast it, and design it.

Python API (every result is pandas data frames with a ``..._COLUMNS`` list; see docs/schemes.md)::

    from gpscale.evaluate.schemes import load_scheme, inputs_from_store, score_scheme, forecast_scheme, design
    scheme = load_scheme("my_scheme.yaml")                 # validated; errors name file, line and field
    inputs = inputs_from_store(store, scheme)              # practice values, membership, list sizes
    scored = score_scheme(scheme, inputs)                  # .scores, .totals, .contributions
    fc = forecast_scheme(scheme, inputs)                   # .forecasts, .totals (next year)
    aid = design(scheme, inputs)                           # .distribution, .targets, .sweep, .charts

Modules: :mod:`~gpscale.evaluate.schemes.model` (the definition), :mod:`~.loading` (safe YAML and
messages), :mod:`~.targets` (payment rules), :mod:`~.money` (pence and rounding), :mod:`~.inputs`,
:mod:`~.scoring`, :mod:`~.forecast`, :mod:`~.design` and :mod:`~.bundle` (the disclosed results bundle).
"""

from gpscale.evaluate.schemes.design import (
    DESIGN_COLUMNS,
    SWEEP_COLUMNS,
    TARGET_SHARE_COLUMNS,
    Chart,
    SchemeDesign,
    design,
)
from gpscale.evaluate.schemes.forecast import (
    FORECAST_COLUMNS,
    FORECAST_TOTAL_COLUMNS,
    SchemeForecast,
    forecast_scheme,
)
from gpscale.evaluate.schemes.inputs import SchemeInputs, inputs_from_store
from gpscale.evaluate.schemes.loading import SchemeError, SchemeProblem, load_scheme, parse_scheme_text
from gpscale.evaluate.schemes.model import RewardKind, Scheme, TargetType
from gpscale.evaluate.schemes.scoring import (
    CONTRIBUTION_COLUMNS,
    SCORE_COLUMNS,
    TOTAL_COLUMNS,
    SchemeScore,
    score_scheme,
)

__all__ = [
    "CONTRIBUTION_COLUMNS",
    "DESIGN_COLUMNS",
    "FORECAST_COLUMNS",
    "FORECAST_TOTAL_COLUMNS",
    "SCORE_COLUMNS",
    "SWEEP_COLUMNS",
    "TARGET_SHARE_COLUMNS",
    "TOTAL_COLUMNS",
    "Chart",
    "RewardKind",
    "Scheme",
    "SchemeDesign",
    "SchemeError",
    "SchemeForecast",
    "SchemeInputs",
    "SchemeProblem",
    "SchemeScore",
    "TargetType",
    "design",
    "forecast_scheme",
    "inputs_from_store",
    "load_scheme",
    "parse_scheme_text",
    "score_scheme",
]
