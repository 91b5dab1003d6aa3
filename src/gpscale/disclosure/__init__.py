"""Disclosure control for every gpscale output, in one place: the rules and the gate that applies them.

* :mod:`gpscale.disclosure.rules`: the thresholds (counts under 5, survey cells under 10 respondents),
  primary and complementary suppression of breakdown tables and the linear-algebra audit (surveys).
* :mod:`gpscale.disclosure.pooled`: practice, group and England indicator counts published with their
  sums (weighted survey counts and denominators too), with a blockwise linear-algebra audit.
* :mod:`gpscale.disclosure.gate`: :func:`disclose` applies every rule to every table of a results bundle
  and returns the only type the bundle writer accepts, with a log of what it hid and why.
"""

from gpscale.disclosure.gate import Disclosed, TableSpec, disclose, require_disclosed
from gpscale.disclosure.rules import (
    AUDIT_MAX_UNKNOWN_CELLS,
    COMPLEMENTARY,
    COUNT_THRESHOLD,
    PRIMARY,
    REASON_COLUMN,
    SUPPRESSED_COLUMN,
    SURVEY_MIN_RESPONDENTS,
    TOTAL,
    AuditResult,
    SuppressionPlan,
    attack,
    count_rule,
    plan_suppression,
    recover_by_subtraction,
    suppress_small_counts,
    survey_rule,
)
from gpscale.disclosure.vocabulary import CellFamily, HideRule

__all__ = [
    "AUDIT_MAX_UNKNOWN_CELLS",
    "COMPLEMENTARY",
    "COUNT_THRESHOLD",
    "PRIMARY",
    "REASON_COLUMN",
    "SUPPRESSED_COLUMN",
    "SURVEY_MIN_RESPONDENTS",
    "TOTAL",
    "AuditResult",
    "CellFamily",
    "Disclosed",
    "HideRule",
    "SuppressionPlan",
    "TableSpec",
    "attack",
    "count_rule",
    "disclose",
    "plan_suppression",
    "recover_by_subtraction",
    "require_disclosed",
    "suppress_small_counts",
    "survey_rule",
]
