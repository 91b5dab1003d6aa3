"""The pydantic model of a network incentive scheme (one YAML file per scheme).

A scheme pays each network (a PCN or any registry group) for the collective achievement of its member
practices on a list of gpscale indicators. Everything the scoring, forecast and design aid need is in the
file, validated before anything runs:

* ``period`` (a financial year) and ``membership`` (``as-was``, ``cohort:YYYY-MM-DD`` or ``ever``, see
  :mod:`gpscale.groups.membership`): which practices count towards each network;
* ``indicators``: one entry per target, each naming a gpscale indicator (shipped or user-defined), a
  ``target`` of one of four types (:class:`TargetType`) and a ``reward`` of one of three kinds
  (:class:`RewardKind`);
* money: a ``contract`` value (per network or per registered patient) for rewards that are a share of it,
  and a ``point_value`` for rewards in points (optionally scaled by the network's list size, as the PCN
  Investment and Impact Fund does);
* ``exceptions``: a small closed set of rules for leaving member practices out of the achievement
  (:class:`ExceptionRules`);
* ``forecast``: number of simulation draws, the seed and the trend window.

The direction of every target comes from the indicator's polarity (an indicator without one cannot be
rewarded). Money is held as :class:`~decimal.Decimal` pounds with at most two decimal places; numbers in
the YAML may be written as numbers or as quoted text (``"198.00"``) and are read through their decimal
text, never through binary floating point. Checks that need the indicator definitions (does the indicator
exist, which way is good, is a standard within the indicator's range) are in
:func:`gpscale.evaluate.schemes.loading.check_against_definitions`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from gpscale.groups.membership import MembershipView
from gpscale.periods import PeriodType, parse_period

ID_RE = r"^[a-z][a-z0-9_]{1,63}$"


class TargetType(StrEnum):
    """How achievement is measured and compared with the target."""

    NETWORK_STANDARD = "network_standard"  # the network's pooled value against a fixed standard
    IMPROVEMENT = "improvement"  # the network's pooled value against its own baseline year
    PRACTICE_SHARE = "practice_share"  # the share of member practices meeting a standard
    THRESHOLDS = "thresholds"  # the pooled value between a lower and an upper threshold, paid linearly


class RewardKind(StrEnum):
    """What a target is worth when fully achieved."""

    POINTS = "points"  # points x the scheme's point value (optionally list-size adjusted)
    AMOUNT = "amount"  # a fixed sum of money per network
    CONTRACT_SHARE = "contract_share"  # a share of the network's contract value


class MissingData(StrEnum):
    """What happens when a member practice has no usable value for a target's indicator."""

    EXCLUDE = "exclude"  # the network is scored on the members with data
    FAIL = "fail"  # the network does not meet that target (no payment for it)


class ExclusionReason(StrEnum):
    """Why a member practice does not count towards a target (the closed set of exception rules)."""

    NOT_OPEN = "no list size and no data in the period (taken as not open)"
    SMALL_LIST = "list size below the minimum"
    NEW_PRACTICE = "opened too recently"
    NO_DATA = "no data"
    NO_BASELINE = "no data in the baseline year"


def _decimal(value: Any) -> Any:
    """Read a YAML number or text as a Decimal through its decimal text (never through a binary float)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float | str):
        try:
            d = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not d.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return d
    return value


def _money(value: Any) -> Any:
    d = _decimal(value)
    if isinstance(d, Decimal):
        if d < 0:
            raise ValueError(f"{d} is negative")
        if d != d.quantize(Decimal("0.01")):
            raise ValueError(f"{d} has more than two decimal places (money is paid to the penny)")
    return d


#: A number read through its decimal text.
Num = Annotated[Decimal, BeforeValidator(_decimal)]
#: Pounds, at most two decimal places, not negative.
Money = Annotated[Decimal, BeforeValidator(_money)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------- targets


class NetworkStandard(_Strict):
    """Met when the network's pooled value is at least as good as ``standard`` (equal counts as met)."""

    type: Literal[TargetType.NETWORK_STANDARD]
    standard: Num


class Improvement(_Strict):
    """Met when the network improves on its baseline by at least ``by`` (in the indicator's units).

    The baseline is the pooled value of the same practices in the baseline year (``previous_year``, the
    default, or a financial-year label), so a practice joining or leaving cannot create an improvement.
    """

    type: Literal[TargetType.IMPROVEMENT]
    by: Num = Field(ge=0)
    baseline: str = "previous_year"

    @field_validator("baseline")
    @classmethod
    def _baseline(cls, v: str) -> str:
        if v != "previous_year" and parse_period(v).type != PeriodType.FINANCIAL_YEAR:
            raise ValueError(f"baseline {v!r} must be previous_year or a financial year (FY2021/22)")
        return v


class PracticeShare(_Strict):
    """Met when at least ``share`` (0-1) of the counted member practices are at least as good as ``standard``."""

    type: Literal[TargetType.PRACTICE_SHARE]
    standard: Num
    share: Num = Field(gt=0, le=1)


class Thresholds(_Strict):
    """Paid linearly between ``lower`` (payment starts) and ``upper`` (full payment), as in the PCN IIF.

    As in the IIF, the lower threshold is the *worse* level: for a low-is-good indicator it is numerically
    above the upper threshold. Achievement at or beyond the upper threshold earns everything, at or before
    the lower threshold nothing.
    """

    type: Literal[TargetType.THRESHOLDS]
    lower: Num
    upper: Num

    @model_validator(mode="after")
    def _distinct(self) -> Thresholds:
        if self.lower == self.upper:
            raise ValueError("lower and upper thresholds must differ")
        return self


Target = Annotated[NetworkStandard | Improvement | PracticeShare | Thresholds, Field(discriminator="type")]


# ----------------------------------------------------------------------------------------------- money


class Reward(_Strict):
    """Exactly one of ``points``, ``amount`` (pounds per network) or ``contract_share`` (0-1)."""

    points: Num | None = Field(default=None, gt=0)
    amount: Money | None = None
    contract_share: Num | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one(self) -> Reward:
        given = [k for k in ("points", "amount", "contract_share") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of points, amount, contract_share (got {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> RewardKind:
        if self.points is not None:
            return RewardKind.POINTS
        if self.amount is not None:
            return RewardKind.AMOUNT
        return RewardKind.CONTRACT_SHARE


class Contract(_Strict):
    """The network contract's value: ``per_network`` pounds, or ``per_patient`` pounds x registered patients."""

    per_network: Money | None = None
    per_patient: Money | None = None

    @model_validator(mode="after")
    def _one(self) -> Contract:
        if (self.per_network is None) == (self.per_patient is None):
            raise ValueError("give exactly one of per_network and per_patient")
        return self


class PointValue(_Strict):
    """Pounds per point; with ``list_size_reference`` scaled by network patients / reference patients.

    ``list_size_reference`` is a number of patients, or ``mean`` for the mean list size of the networks
    scored (the IIF's "average PCN"); leave it out for no adjustment.
    """

    amount: Money
    list_size_reference: Literal["mean"] | Annotated[int, Field(gt=0)] | None = None


class ExceptionRules(_Strict):
    """The closed set of rules for leaving member practices out of a network's achievement.

    ``min_list_size``: members with fewer registered patients in the period are left out;
    ``new_practice_months``: members that opened less than this many months before the period starts are
    left out; ``missing_data``: members without a usable value are left out (``exclude``, the default) or
    make the network fail that target (``fail``). Practices left out still count for money that depends on
    list size (the contract and point values are the network's, whoever is measured).
    """

    min_list_size: int | None = Field(default=None, gt=0)
    new_practice_months: int | None = Field(default=None, gt=0, le=120)
    missing_data: MissingData = MissingData.EXCLUDE


class NetworkSelection(_Strict):
    """Which groups the scheme covers: by ``kinds`` (pcn, federation, ...) and/or explicit ``ids``."""

    kinds: list[str] | None = Field(default=None, min_length=1)
    ids: list[str] | None = Field(default=None, min_length=1)


class ForecastSettings(_Strict):
    """Simulation draws, the random seed (results are reproducible for a seed) and the trend window (years)."""

    draws: int = Field(default=10_000, ge=500, le=200_000)
    seed: int = Field(default=20240401, ge=0)
    window: int = Field(default=5, ge=3, le=15)


class SchemeIndicator(_Strict):
    """One target: an indicator, how it is measured and what it is worth."""

    id: str | None = Field(default=None, pattern=ID_RE)
    indicator: str = Field(pattern=ID_RE)
    label: str | None = None
    target: Target
    reward: Reward

    @property
    def target_id(self) -> str:
        """The entry's id (defaults to the indicator id)."""
        return self.id or self.indicator


class Scheme(_Strict):
    """A network incentive scheme. See docs/schemes.md for every field, with examples."""

    id: str = Field(pattern=ID_RE)
    version: int = Field(default=1, ge=1)
    title: str = Field(min_length=3)
    description: str | None = None
    references: list[str] = Field(default_factory=list)
    period: str
    membership: str = "as-was"
    networks: NetworkSelection = Field(default_factory=NetworkSelection)
    contract: Contract | None = None
    point_value: PointValue | None = None
    exceptions: ExceptionRules = Field(default_factory=ExceptionRules)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    forecast: ForecastSettings = Field(default_factory=ForecastSettings)
    indicators: list[SchemeIndicator] = Field(min_length=1)

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        if parse_period(v).type != PeriodType.FINANCIAL_YEAR:
            raise ValueError(f"period {v!r} must be a financial year (FY2023/24); schemes run by year")
        return v

    @field_validator("membership")
    @classmethod
    def _membership(cls, v: str) -> str:
        MembershipView.parse(v)  # raises naming the accepted forms
        return v

    @model_validator(mode="after")
    def _check(self) -> Scheme:
        seen: dict[str, int] = {}
        for i, e in enumerate(self.indicators):
            if e.target_id in seen:
                raise ValueError(f"indicators[{i}]: target id {e.target_id!r} repeats indicators[{seen[e.target_id]}]"
                                 " (give each entry of the same indicator its own id)")
            seen[e.target_id] = i
            t = e.target
            if (isinstance(t, Improvement) and t.baseline != "previous_year"
                    and parse_period(t.baseline).start >= parse_period(self.period).start):
                raise ValueError(f"indicators[{i}].target.baseline {t.baseline} must be before the scheme period "
                                 f"{self.period}")
        kinds = {e.reward.kind for e in self.indicators}
        if RewardKind.POINTS in kinds and self.point_value is None:
            raise ValueError("point_value is required when a reward is in points")
        if RewardKind.CONTRACT_SHARE in kinds and self.contract is None:
            raise ValueError("contract is required when a reward is a contract_share")
        total = sum((e.reward.contract_share or Decimal(0)) for e in self.indicators)
        if total > 1:
            raise ValueError(f"the contract shares add up to {total}, more than the whole contract (1)")
        return self

    @property
    def view(self) -> MembershipView:
        return MembershipView.parse(self.membership)

    def for_period(self, period: str) -> Scheme:
        """The same scheme scoring another financial year (validated again: a fixed baseline must precede it)."""
        return Scheme.model_validate({**self.model_dump(exclude_none=True), "period": period})

    def entry(self, target_id: str) -> SchemeIndicator:
        for e in self.indicators:
            if e.target_id == target_id:
                return e
        raise KeyError(target_id)
