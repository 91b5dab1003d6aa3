"""The closed vocabularies of gpscale's result tables, as string-valued enums.

Each enum's values are the exact strings written to result tables and shown to users, so a table stays
readable (and comparable with Fingertips) while code dispatches on members instead of string literals.
Labels that depend on an indicator's polarity are chosen here, once:

* :class:`ComparisonType`: which question a comparison with England answers (descriptive or evaluative;
  :mod:`gpscale.domain.comparisons` says how tables carry both);
* :class:`ComparisonLabel`: a value against a comparator ("better / similar / worse"; "higher / lower"
  for indicators without a judgement; "not compared"), as Fingertips words it but in lower case, which
  is how every gpscale table has written it;
* :class:`TrendLabel`: the direction of a trend in Fingertips' recent-trend wording ("Increasing and
  getting better", "No significant change", "Cannot be calculated", ...);
* :class:`RelativeTrend`: a group's trend against England's, in the same sentence case;
* :class:`FunnelPosition`: a unit's place in a funnel plot, in PHEindicatormethods' words;
* :class:`DispersionChange`: whether variation between member practices narrows over time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

_L = TypeVar("_L")


class Link(StrEnum):
    """The scale on which a value type behaves additively: logit for shares, log for rates and ratios."""

    LOGIT = "logit"
    LOG = "log"


class ValueType(StrEnum):
    """How a practice-period value is formed; for every type it is Σnumerator / Σdenominator × multiplier."""

    PROPORTION = "proportion"  # events / eligible (e.g. broad-spectrum items / antibacterial items)
    RATE = "rate"  # events / (weighted) population (e.g. items per 1,000 STAR-PU)
    STANDARDISED_RATIO = "standardised_ratio"  # observed / expected (indirect standardisation)
    WEIGHTED_PROPORTION = "weighted_proportion"  # weighted positives / weighted base (survey)
    SCORE = "score"  # points / maximum points (QOF)

    @property
    def link(self) -> Link:
        """Logit for shares (proportions, survey proportions, QOF scores), log for rates and ratios."""
        return Link.LOG if self in (ValueType.RATE, ValueType.STANDARDISED_RATIO) else Link.LOGIT

    @property
    def counts_events(self) -> bool:
        """Whether the numerator counts events (binomial or Poisson), so count-based methods apply.

        Survey-weighted numerators are estimates and QOF points are not events, so neither does.
        """
        return self in (ValueType.PROPORTION, ValueType.RATE, ValueType.STANDARDISED_RATIO)


class Polarity(StrEnum):
    """Whether a higher value is better, worse, or neither."""

    HIGH_IS_GOOD = "high_is_good"
    LOW_IS_GOOD = "low_is_good"
    NO_JUDGEMENT = "no_judgement"


def _oriented(polarity: str, high_is_good: tuple[_L, _L], low_is_good: tuple[_L, _L],
              no_judgement: tuple[_L, _L]) -> tuple[_L, _L]:
    """The (rise, fall) pair of labels for ``polarity``, refusing anything that is not a polarity."""
    pol = Polarity(polarity)
    if pol is Polarity.HIGH_IS_GOOD:
        return high_is_good
    return low_is_good if pol is Polarity.LOW_IS_GOOD else no_judgement


class ComparisonType(StrEnum):
    """Which question a comparison of a group with England answers (docs/methods/placebo-calibration.md).

    * ``descriptive`` (what Fingertips publishes): is the group's rate different from England's, given the
      sampling of its patients? True of the rate, but with tens of thousands of patients almost every group
      of practices differs, because practices differ from each other.
    * ``evaluative``: is the group different from what a set of England's practices drawn at random, of the
      same size, would show? The question an evaluation asks, and gpscale's default reading.
    """

    DESCRIPTIVE = "descriptive"
    EVALUATIVE = "evaluative"


class ComparisonLabel(StrEnum):
    """A value against its comparator (England, unless the row names another)."""

    BETTER = "better"
    SIMILAR = "similar"
    WORSE = "worse"
    HIGHER = "higher"
    LOWER = "lower"
    NOT_COMPARED = "not compared"
    #: the comparator's own row (England against itself)
    COMPARATOR = "comparator"
    #: hidden by the disclosure gate
    SUPPRESSED = "suppressed"

    @classmethod
    def directions(cls, polarity: str) -> tuple[ComparisonLabel, ComparisonLabel]:
        """(label of a significantly higher value, label of a significantly lower one) under ``polarity``."""
        return _oriented(polarity, (cls.BETTER, cls.WORSE), (cls.WORSE, cls.BETTER), (cls.HIGHER, cls.LOWER))

    @classmethod
    def of(cls, direction: int, polarity: str) -> ComparisonLabel:
        """The label of one significance direction (+1 higher, -1 lower, 0 neither)."""
        up, down = cls.directions(polarity)
        return up if direction > 0 else down if direction < 0 else cls.SIMILAR

    @property
    def significant(self) -> bool:
        """Better, worse, higher or lower: the comparator lies outside the interval."""
        return self in (ComparisonLabel.BETTER, ComparisonLabel.WORSE, ComparisonLabel.HIGHER,
                        ComparisonLabel.LOWER)


#: The labels a comparison can produce, in the order summaries show them.
COMPARISON_OUTCOMES: tuple[ComparisonLabel, ...] = (
    ComparisonLabel.BETTER, ComparisonLabel.SIMILAR, ComparisonLabel.WORSE, ComparisonLabel.HIGHER,
    ComparisonLabel.LOWER, ComparisonLabel.NOT_COMPARED,
)


class TrendLabel(StrEnum):
    """The direction of a trend, in Fingertips' recent-trend wording."""

    INCREASING_GETTING_BETTER = "Increasing and getting better"
    INCREASING_GETTING_WORSE = "Increasing and getting worse"
    DECREASING_GETTING_BETTER = "Decreasing and getting better"
    DECREASING_GETTING_WORSE = "Decreasing and getting worse"
    INCREASING = "Increasing"
    DECREASING = "Decreasing"
    NO_SIGNIFICANT_CHANGE = "No significant change"
    CANNOT_BE_CALCULATED = "Cannot be calculated"

    @classmethod
    def directions(cls, polarity: str) -> tuple[TrendLabel, TrendLabel]:
        """(label of a significant rise, label of a significant fall) under ``polarity``."""
        return _oriented(polarity, (cls.INCREASING_GETTING_BETTER, cls.DECREASING_GETTING_WORSE),
                         (cls.INCREASING_GETTING_WORSE, cls.DECREASING_GETTING_BETTER),
                         (cls.INCREASING, cls.DECREASING))


class RelativeTrend(StrEnum):
    """A group's trend against England's (the difference of the two slopes), or against another comparator's
    (its region, ICB or peer groups: the row's ``comparator`` names it; issue 15)."""

    IMPROVING = "Improving relative to England"
    WORSENING = "Worsening relative to England"
    RISING = "Rising relative to England"
    FALLING = "Falling relative to England"
    SIMILAR = "Similar to England's trend"
    CANNOT_BE_CALCULATED = "Cannot be calculated"
    IMPROVING_VS_COMPARATOR = "Improving relative to the comparator"
    WORSENING_VS_COMPARATOR = "Worsening relative to the comparator"
    RISING_VS_COMPARATOR = "Rising relative to the comparator"
    FALLING_VS_COMPARATOR = "Falling relative to the comparator"
    SIMILAR_TO_COMPARATOR = "Similar to the comparator's trend"

    @classmethod
    def directions(cls, polarity: str, england: bool = True) -> tuple[RelativeTrend, RelativeTrend]:
        """(label of a significantly steeper rise than the comparator's, of a steeper fall) under ``polarity``."""
        if not england:
            return _oriented(polarity, (cls.IMPROVING_VS_COMPARATOR, cls.WORSENING_VS_COMPARATOR),
                             (cls.WORSENING_VS_COMPARATOR, cls.IMPROVING_VS_COMPARATOR),
                             (cls.RISING_VS_COMPARATOR, cls.FALLING_VS_COMPARATOR))
        return _oriented(polarity, (cls.IMPROVING, cls.WORSENING), (cls.WORSENING, cls.IMPROVING),
                         (cls.RISING, cls.FALLING))

    @classmethod
    def similar(cls, england: bool = True) -> RelativeTrend:
        """The label of a difference whose interval includes zero."""
        return cls.SIMILAR if england else cls.SIMILAR_TO_COMPARATOR


class FunnelPosition(StrEnum):
    """A unit's position in a funnel plot (PHEindicatormethods' ``assign_funnel_significance`` words)."""

    HIGH_0001 = "High (0.001)"
    HIGH_0025 = "High (0.025)"
    LOW_0001 = "Low (0.001)"
    LOW_0025 = "Low (0.025)"
    NOT_SIGNIFICANT = "Not significant"
    #: missing value or zero denominator
    NOT_COMPARED = "not compared"
    #: the limits do not apply to the value type (QOF points are not counts of events)
    NOT_APPLICABLE = "not applicable"

    @property
    def outside_95(self) -> bool:
        """Outside the 95% limits (and so possibly the 99.8% ones too)."""
        return self in (FunnelPosition.HIGH_0001, FunnelPosition.HIGH_0025, FunnelPosition.LOW_0001,
                        FunnelPosition.LOW_0025)

    @property
    def outside_998(self) -> bool:
        """Outside the 99.8% limits."""
        return self in (FunnelPosition.HIGH_0001, FunnelPosition.LOW_0001)


class DispersionChange(StrEnum):
    """Whether a measure of spread between units falls (convergence) or rises over time."""

    NARROWING = "narrowing"
    WIDENING = "widening"
    NO_CLEAR_CHANGE = "no clear change"


def by_direction(
    direction: ArrayLike, ok: ArrayLike, up: str, down: str, neither: str, missing: str
) -> NDArray[np.str_]:
    """Vectorised labelling: ``up`` where direction > 0, ``down`` where < 0, ``neither`` at 0, ``missing``
    where ``ok`` is False. The result holds plain strings (the enums' values), as tables store them."""
    d = np.asarray(direction)
    valid = np.asarray(ok, dtype=bool)
    return np.select(
        [~valid, d > 0, d < 0], [str(missing), str(up), str(down)], default=str(neither)
    ).astype(np.str_)
