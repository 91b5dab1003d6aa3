"""The table registry: every table of a results bundle, declared once (name, columns, key, counts, gate).

The disclosure gate (:mod:`gpscale.disclosure.gate`), the bundle writer (:mod:`gpscale.evaluate.bundle`)
and the manifest all read these declarations, so a table that is not declared here cannot be written,
and a count column that is declared is protected in every output.

Adding a table (placebo calibration, event studies, peer comparators, incentive schemes...) is one
:func:`declare` call next to the code that computes it::

    declare(TableSpec(
        "event_study", "Event-study estimates around a group's founding",
        columns=(*EVENT_COLUMNS,), key=("group_id", "indicator_id", "event_time"),
        family=CellFamily.ENTITY, unit="group_id",           # its rows carry a group's counts
        counts=("numerator", "denominator"), protect=("value", "lower", "upper"),
    ))

and returning the frame in :class:`gpscale.evaluate.bundle.RawBundle` ``tables``. Rows of a family are
hidden exactly when the family's cell (unit, indicator, period) is hidden; tables with counts but no
family get the primary rule on each count column; tables with neither (model estimates, registry facts)
pass unchanged. See docs/bundle.md.
"""

from __future__ import annotations

from gpscale.disclosure import CellFamily, TableSpec
from gpscale.domain.comparisons import ComparisonType, prefix
from gpscale.evaluate.calibration import CALIBRATION_COLUMNS
from gpscale.evaluate.characteristics import CHARACTERISTIC_COLUMNS
from gpscale.evaluate.derived import (
    DISTRIBUTION_COLUMNS,
    INDICATOR_SUMMARY_COLUMNS,
    SPC_COLUMNS,
    SUMMARY_COLUMNS,
)
from gpscale.evaluate.events.detect import EVENT_COLUMNS
from gpscale.evaluate.events.domains import EVENT_DOMAIN_COLUMNS
from gpscale.evaluate.events.study import EVENT_STUDY_COLUMNS, EVENT_SUMMARY_COLUMNS
from gpscale.evaluate.funnels import CURVE_GRID_COLUMNS, FUNNEL_COLUMNS, GROUP_FUNNEL_COLUMNS
from gpscale.evaluate.profiles import PROFILE_COLUMNS
from gpscale.evaluate.schemes.bundle import (
    SCHEME_CELL_COLUMNS,
    SCHEME_CONTRIBUTION_COLUMNS,
    SCHEME_DESIGN_COLUMNS,
    SCHEME_FORECAST_COLUMNS,
    SCHEME_FORECAST_TOTAL_COLUMNS,
    SCHEME_SCORE_COLUMNS,
    SCHEME_SWEEP_COLUMNS,
    SCHEME_TARGET_SHARE_COLUMNS,
    SCHEME_TOTAL_COLUMNS,
)
from gpscale.evaluate.scorecard import RESULT_COLUMNS
from gpscale.evaluate.size import BAND_COLUMNS, CURVE_COLUMNS, EFFECT_COLUMNS
from gpscale.evaluate.trends import TREND_COLUMNS
from gpscale.evaluate.variation import CONVERGENCE_COLUMNS, DISPERSION_COLUMNS

#: Every declared table by name, in the order the manifest lists them.
REGISTRY: dict[str, TableSpec] = {}

PRACTICE_VALUE_COLUMNS = ["indicator_id", "practice_code", "period", "period_type", "numerator", "denominator",
                          "value", "effective_n", "definition_version"]
DEFINITION_COLUMNS = ["indicator_id", "title", "unit", "domain", "polarity", "value_type", "multiplier",
                      "description", "why_it_matters", "period_types", "data_breaks", "version"]
PRACTICE_COLUMNS = ["practice_code", "name", "postcode", "status", "commissioner", "icb", "contract_type",
                    "rurality", "open_date", "close_date"]
GROUP_COLUMNS = ["group_id", "name", "kind", "legal_form", "founded", "parent", "source"]
SPELL_COLUMNS = ["group_id", "practice_code", "start_date", "end_date", "source"]
MEMBER_COLUMNS = ["group_id", "practice_code", "period"]
LOG_COLUMNS = ["family", "unit_id", "indicator_id", "period", "rule"]


def declare(spec: TableSpec) -> TableSpec:
    """Add a table to the registry (a second declaration of the same name is an error)."""
    if spec.name in REGISTRY:
        raise ValueError(f"bundle table {spec.name!r} is declared twice")
    REGISTRY[spec.name] = spec
    return spec


_INTERVAL = ("value", "lower", "upper")
_FUNNEL_PROTECT = ("value", "target", "lower_95", "upper_95", "lower_998", "upper_998", "position", "od_lower_95",
                   "od_upper_95", "od_lower_998", "od_upper_998", "od_position", "comparison_95", "comparison_998",
                   "od_comparison_95", "od_comparison_998")

declare(TableSpec(
    "scorecard", "Every group and England against England, per indicator, period and confidence level",
    tuple(RESULT_COLUMNS), ("entity_id", "indicator_id", "period", "confidence"),
    CellFamily.ENTITY, "entity_id", counts=("numerator", "denominator"),
    protect=(*_INTERVAL, *[f"{pre}{c}" for pre in ("", prefix(ComparisonType.DESCRIPTIVE))
                           for c in ("lower", "upper", "comparison", "p_value", "q_value", "comparison_fdr")]),
    source=True))
declare(TableSpec(
    "practice_values", "Every practice's indicator values (numerator, denominator, value) per period",
    tuple(PRACTICE_VALUE_COLUMNS), ("practice_code", "indicator_id", "period"),
    CellFamily.PRACTICE, "practice_code", counts=("numerator", "denominator", "effective_n"), protect=("value",),
    source=True))
declare(TableSpec(
    "funnels", "Member practices in England's funnel (PHE and overdispersion-adjusted limits), per group and year",
    tuple(FUNNEL_COLUMNS), ("group_id", "practice_code", "indicator_id", "period"),
    CellFamily.PRACTICE, "practice_code", counts=("denominator",), protect=_FUNNEL_PROTECT))
declare(TableSpec(
    "group_funnels", "Every group in England's funnel (PHE limits and the evaluative reference range), per year",
    # keyed (and so written) by indicator and year first: the all-groups funnel page reads one indicator-year
    tuple(GROUP_FUNNEL_COLUMNS), ("indicator_id", "period", "group_id"),
    CellFamily.ENTITY, "group_id", counts=("numerator", "denominator"), protect=_FUNNEL_PROTECT))
declare(TableSpec(
    "funnel_curves", "Funnel limit lines around England's value over a grid of unit sizes (for the charts)",
    tuple(CURVE_GRID_COLUMNS), ("indicator_id", "period", "units", "limits", "x")))
declare(TableSpec(
    "trends", "Trends of groups and England, and group minus England, per data-break segment",
    tuple(TREND_COLUMNS), ("entity_id", "indicator_id", "segment_first", "statistic", "confidence")))
declare(TableSpec(
    "dispersion", "Variation between member practices per group and year (IQR, CV, SCV)",
    tuple(DISPERSION_COLUMNS), ("entity_id", "indicator_id", "period", "statistic")))
declare(TableSpec(
    "convergence", "Whether variation between member practices narrows, per group and segment",
    tuple(CONVERGENCE_COLUMNS), ("entity_id", "indicator_id", "segment_first", "statistic")))
declare(TableSpec(
    "profiles", "Group profiles per financial year (size, spread, deprivation, contracts)",
    tuple(PROFILE_COLUMNS), ("group_id", "period")))
declare(TableSpec(
    "characteristics", "Meta-regression of relative performance on group characteristics",
    tuple(CHARACTERISTIC_COLUMNS), ("indicator_id", "period", "model", "term", "confidence")))
declare(TableSpec(
    "size_effect", "Is bigger better? Change in relative performance per doubling of registered patients",
    tuple(EFFECT_COLUMNS), ("indicator_id", "period", "confidence")))
declare(TableSpec(
    "size_curve", "Fitted relation of performance to group size, with its band",
    tuple(CURVE_COLUMNS), ("indicator_id", "period", "patients", "confidence")))
declare(TableSpec(
    "size_bands", "Relative performance by size band", tuple(BAND_COLUMNS),
    ("indicator_id", "period", "band", "confidence")))
# event studies (issue 15): estimates and counts of practices and groups, never counts of patients or events
declare(TableSpec(
    "events", "Scale-up events: a practice joining a group or network, or merging into a successor",
    tuple(EVENT_COLUMNS), ("practice_code", "event_date", "kind", "group_id")))
declare(TableSpec(
    "event_study", "Event-study estimates by year relative to the event, per event kind and receiving group",
    tuple(EVENT_STUDY_COLUMNS), ("entity_type", "entity_id", "event_kind", "indicator_id", "event_time")))
declare(TableSpec(
    "event_summary", "Did the event change quality? Aggregate effect, pre-trend test and conclusion",
    tuple(EVENT_SUMMARY_COLUMNS), ("entity_type", "entity_id", "event_kind", "indicator_id")))
declare(TableSpec(
    "event_domain", "Did the event change quality on each indicator domain? The domain's indicators averaged",
    tuple(EVENT_DOMAIN_COLUMNS), ("entity_type", "entity_id", "event_kind", "domain")))
# placebo calibration (issue 14): rates and counts of placebo groups flagged, never counts of patients
declare(TableSpec(
    "calibration", "How often random groups of practices (placebo groups) are flagged, per analysis, comparison, "
    "indicator, period and confidence level", tuple(CALIBRATION_COLUMNS),
    ("analysis", "comparison_type", "indicator_id", "period_type", "period", "confidence")))
# incentive schemes (issue 16): network cells are sums of counted members (see evaluate/schemes/bundle.py)
_SCHEME_NETWORK = ("value", "value_lower", "value_upper", "baseline_value", "achievement", "achievement_lower",
                   "achievement_upper", "target_in_interval", "met", "fraction_earned", "points", "payment_pence",
                   "payment_gbp")
declare(TableSpec(
    "scheme_cells", "Counts each scheme figure sums: networks, baselines and networks without each member",
    tuple(SCHEME_CELL_COLUMNS), ("entity_id", "indicator_id", "period"), CellFamily.ENTITY, "entity_id",
    counts=("numerator", "denominator"), source=True))
declare(TableSpec(
    "scheme_scores", "Each network's achievement, interval, points and payment per scheme target",
    tuple(SCHEME_SCORE_COLUMNS), ("group_id", "target_id"), CellFamily.ENTITY, "cell_id",
    counts=("numerator", "denominator"), protect=_SCHEME_NETWORK,
    also=((CellFamily.ENTITY, "baseline_cell_id", "baseline_period"),)))
declare(TableSpec(
    "scheme_contributions", "Each member's part: the network without it, and with it at the standard",
    tuple(SCHEME_CONTRIBUTION_COLUMNS), ("group_id", "target_id", "practice_code"), CellFamily.PRACTICE,
    "practice_code", counts=("numerator", "denominator"),
    protect=("practice_value", "practice_meets", "network_achievement", "network_met", "network_payment_pence",
             "achievement_without", "met_without", "payment_without_pence", "payment_change_without_pence",
             "achievement_at_standard", "met_at_standard", "payment_at_standard_pence",
             "payment_change_at_standard_pence", "decisive"),
    also=((CellFamily.ENTITY, "cell_id", "period"), (CellFamily.ENTITY, "without_cell_id", "period"),
          (CellFamily.ENTITY, "baseline_cell_id", "baseline_period"),
          (CellFamily.ENTITY, "baseline_without_cell_id", "baseline_period"))))
declare(TableSpec(
    "scheme_forecast", "Next year per network and target: probability of meeting it, expected payment",
    tuple(SCHEME_FORECAST_COLUMNS), ("group_id", "target_id"), CellFamily.ENTITY, "cell_id",
    protect=("value_now", "baseline_value", "trend_per_year", "forecast_value", "forecast_value_lower",
             "forecast_value_upper", "achievement_median", "achievement_lower", "achievement_upper", "p_met",
             "p_any_payment", "expected_fraction", "expected_points", "expected_payment_pence",
             "payment_lower_pence", "payment_upper_pence", "chance_decides"), period="origin_period"))
declare(TableSpec("scheme_totals", "Each network's targets met, points and payment (sums of published rows)",
                  tuple(SCHEME_TOTAL_COLUMNS), ("group_id",)))
declare(TableSpec("scheme_forecast_totals", "Each network's expected payment next year (sums of published rows)",
                  tuple(SCHEME_FORECAST_TOTAL_COLUMNS), ("group_id",)))
declare(TableSpec("scheme_design_distribution", "Design aid: the distribution of payments across networks",
                  tuple(SCHEME_DESIGN_COLUMNS), ("basis", "period")))
declare(TableSpec("scheme_design_targets", "Design aid: the share of networks meeting each target",
                  tuple(SCHEME_TARGET_SHARE_COLUMNS), ("target_id",)))
declare(TableSpec("scheme_design_sweep", "Design aid: how the share meeting a target moves with its threshold",
                  tuple(SCHEME_SWEEP_COLUMNS), ("target_id", "shift")))
declare(TableSpec(
    "definitions", "The indicator definitions the results were computed with", tuple(DEFINITION_COLUMNS),
    ("indicator_id",)))
declare(TableSpec("groups", "The groups evaluated (registry facts)", tuple(GROUP_COLUMNS), ("group_id",)))
declare(TableSpec("practices", "Practices (names and attributes, from the store)", tuple(PRACTICE_COLUMNS),
                  ("practice_code",)))
declare(TableSpec("spells", "The membership spells the evaluation used", tuple(SPELL_COLUMNS),
                  ("group_id", "practice_code", "start_date")))
declare(TableSpec("members", "Each group's members per period under the membership view used",
                  tuple(MEMBER_COLUMNS), ("group_id", "practice_code", "period")))
# tables derived after the gate from disclosed tables (no counts of their own)
declare(TableSpec(
    "summary", "Per group: indicators better, similar and worse than England (latest year; published rows only)",
    tuple(SUMMARY_COLUMNS), ("group_id", "confidence")))
declare(TableSpec(
    "indicator_summary", "Per indicator: England's latest value and how many groups compare how (published rows)",
    tuple(INDICATOR_SUMMARY_COLUMNS), ("indicator_id", "confidence")))
declare(TableSpec(
    "group_distribution", "Spread of published group values per indicator, year and confidence (spine charts)",
    tuple(DISTRIBUTION_COLUMNS), ("indicator_id", "period", "confidence")))
declare(TableSpec(
    "spc", "Making Data Count XmR charts of groups' and England's latest monthly values (published values only)",
    tuple(SPC_COLUMNS), ("entity_id", "indicator_id", "period")))
declare(TableSpec("disclosure_log", "Every cell the disclosure gate hid, and the rule", tuple(LOG_COLUMNS),
                  ("family", "unit_id", "indicator_id", "period")))

#: Tables computed from disclosed tables after the gate (see gpscale.evaluate.derived).
DERIVED = ("summary", "indicator_summary", "group_distribution", "spc")
