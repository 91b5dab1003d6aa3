"""The pydantic model of an indicator definition (one YAML file per indicator).

An indicator is data, not code (docs/architecture.md): everything the computation needs is in the definition,
and the definition is validated before anything runs, with errors naming the file and the field
(:mod:`gpscale.indicators.library` turns pydantic's errors into those messages).

The numerator and denominator are *specifications* of where the counts come from, one class per kind of
source, told apart by their ``source`` key:

``prescribing``
    sums of one column of the ``prescribing`` table (items, ADQ usage...) over BNF code prefixes, with
    exclusions;
``registrations``
    the registered list (practice_population), weighted by the definition's standardisation (STAR-PU or
    ADQ-STAR-PU weights) or unweighted;
``hospital``
    events of one measure of ``hospital_activity`` (by age band and sex);
``expected``
    expected events from indirect age-sex standardisation (the denominator of a standardised ratio);
``qof`` / ``gpps`` / ``measure_value``
    one field of ``measure_value`` rows of a dataset, selected by measure ids (QOF domains) or by codes
    that change with the period (GP Patient Survey question and answer codes).

Which combinations make sense depends on the value type; :meth:`IndicatorDefinition._check_combination`
says so in words.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpscale.domain.qof import qof_maximum_changes
from gpscale.domain.vocabulary import Polarity, ValueType
from gpscale.periods import PeriodType, parse_period

ID_RE = r"^[a-z][a-z0-9_]{1,63}$"
BNF_PREFIX_RE = re.compile(r"^[0-9A-Z]{2,15}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_period(label: str | None) -> str | None:
    if label is None:
        return None
    parse_period(label)  # raises ValueError naming the label
    return label


class PeriodRange(_Strict):
    """An inclusive range of period labels; an open end is ``null``."""

    first: str | None = None
    last: str | None = None

    _labels = field_validator("first", "last")(_check_period)

    @model_validator(mode="after")
    def _ordered(self) -> PeriodRange:
        if self.first and self.last:
            a, b = parse_period(self.first), parse_period(self.last)
            if a.type != b.type:
                raise ValueError(f"first {self.first!r} and last {self.last!r} are different period types")
            if a.start > b.start:
                raise ValueError(f"first {self.first!r} is after last {self.last!r}")
        return self

    def contains(self, label: str) -> bool:
        """Whether ``label`` falls in the range (comparing start dates, so types must agree)."""
        p = parse_period(label)
        if self.first and parse_period(self.first).start > p.start:
            return False
        return not (self.last and parse_period(self.last).start < p.start)


class DataBreak(_Strict):
    """A period from which values are not comparable with earlier ones: never draw a trend across it."""

    period: str
    reason: str = Field(min_length=3)

    _label = field_validator("period")(_check_period)


class ChangeLogEntry(_Strict):
    version: int = Field(ge=1)
    date: date
    author: str = Field(min_length=1)
    change: str = Field(min_length=3)


class Review(_Strict):
    """Review metadata, as OpenPrescribing keeps for its measures."""

    author: str = Field(min_length=1)
    checked_by: str = Field(min_length=1)
    date_reviewed: date
    next_review: date | None = None
    change_log: list[ChangeLogEntry] = Field(min_length=1)


# ----------------------------------------------------------------------------------------- specifications


class PrescribingSpec(_Strict):
    """Sum of one ``prescribing`` column over BNF codes starting with any ``bnf_include`` prefix and with
    no ``bnf_exclude`` prefix."""

    source: Literal["prescribing"]
    field: Literal["items", "quantity", "adq_usage", "nic", "actual_cost"] = "items"
    bnf_include: list[str] = Field(min_length=1)
    bnf_exclude: list[str] = Field(default_factory=list)
    description: str | None = None

    @field_validator("bnf_include", "bnf_exclude")
    @classmethod
    def _prefixes(cls, v: list[str]) -> list[str]:
        for p in v:
            if not BNF_PREFIX_RE.match(p):
                raise ValueError(f"BNF prefix {p!r} must be 2-15 characters 0-9/A-Z (e.g. '0501013K0')")
        return v


class RegistrationsSpec(_Strict):
    """The registered list by age band and sex (``practice_population``), weighted by the standardisation."""

    source: Literal["registrations"]
    description: str | None = None


class HospitalSpec(_Strict):
    """Events of one ``hospital_activity`` measure (compared case-insensitively), summed over age bands
    and sexes.

    ``suppressed_cells`` says what a suppressed (null) age-sex cell does: ``exclude`` leaves the cell out
    of both observed and expected (the ratio is over the cells whose counts are known), ``null_result``
    makes the practice's whole result null.
    """

    source: Literal["hospital"]
    measure: str = Field(min_length=1)
    suppressed_cells: Literal["exclude", "null_result"] = "exclude"
    description: str | None = None


class ExpectedSpec(_Strict):
    """Expected events under the standardisation (indirect age-sex): the denominator of a ratio."""

    source: Literal["expected"]
    description: str | None = None


class CodeForPeriods(_Strict):
    """The measure id (e.g. a GP Patient Survey question/answer code) used for a range of periods."""

    first: str | None = None
    last: str | None = None
    measure_id: str = Field(min_length=1)
    question: str | None = None
    answers: str | None = None

    _labels = field_validator("first", "last")(_check_period)

    @property
    def range(self) -> PeriodRange:
        return PeriodRange(first=self.first, last=self.last)


#: Published per-period constants a measure-value field can be replaced by.
PublishedConstant = Literal["qof_maximum_points"]

MeasureField = Literal[
    "numerator",
    "denominator",
    "points",
    "max_points",
    "weighted_numerator",
    "weighted_denominator",
    "expected",
    "exceptions",
    "value",
]


class MeasureValueSpec(_Strict):
    """One field of ``measure_value`` rows of a dataset (``source`` in the store), summed per practice-period.

    Rows are chosen by ``measure_ids`` (fixed; e.g. the QOF ``total``) or by ``codes_by_period`` (the code
    changes with the period, e.g. GP Patient Survey question numbers). A denominator that gives neither
    uses the numerator's. For survey fields, ``weighted_numerator`` falls back to the published weighted
    % × the weighted (else unweighted) base, and ``weighted_denominator`` to the unweighted base.
    ``constant`` names a published per-period constant used instead of the rows' field where the constant is
    known for the period (``qof_maximum_points``: :mod:`gpscale.domain.qof`).
    """

    source: Literal["qof", "gpps", "measure_value"]
    dataset: str | None = None  # measure_value.source; defaults to ``source`` for qof and gpps
    measure_ids: list[str] | None = None
    codes_by_period: list[CodeForPeriods] | None = None
    field: MeasureField
    constant: PublishedConstant | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _selection(self) -> MeasureValueSpec:
        if self.measure_ids is not None and self.codes_by_period is not None:
            raise ValueError("give measure_ids or codes_by_period, not both")
        if self.source == "measure_value" and not self.dataset:
            raise ValueError("source measure_value needs dataset (the measure_value.source to read)")
        if self.measure_ids is not None and not self.measure_ids:
            raise ValueError("measure_ids is empty")
        if self.codes_by_period is not None and not self.codes_by_period:
            raise ValueError("codes_by_period is empty")
        return self

    @property
    def dataset_name(self) -> str:
        return self.dataset or self.source


Spec = Annotated[
    PrescribingSpec | RegistrationsSpec | HospitalSpec | ExpectedSpec | MeasureValueSpec,
    Field(discriminator="source"),
]


class Standardisation(_Strict):
    """How the denominator is standardised.

    ``star_pu`` / ``adq_star_pu``: the registered list weighted by the published age-sex weights of
    ``scheme`` and ``vintage`` (the vintage is a recorded parameter and can be overridden at compute time).
    ``indirect_age_sex``: expected events = Σ over age-sex bands of the practice's population × England's
    rate in the same period (``reference: england_same_period``).
    """

    method: Literal["none", "star_pu", "adq_star_pu", "indirect_age_sex"] = "none"
    scheme: str | None = None
    vintage: str | None = None
    reference: Literal["england_same_period"] | None = None

    @model_validator(mode="after")
    def _parameters(self) -> Standardisation:
        if self.method in ("star_pu", "adq_star_pu"):
            if not self.scheme or not self.vintage:
                raise ValueError(f"method {self.method} needs scheme and vintage (e.g. '2013')")
        elif self.scheme or self.vintage:
            raise ValueError(f"scheme/vintage only apply to star_pu and adq_star_pu, not {self.method}")
        if self.method == "indirect_age_sex" and self.reference is None:
            raise ValueError("method indirect_age_sex needs reference: england_same_period")
        if self.method != "indirect_age_sex" and self.reference is not None:
            raise ValueError("reference only applies to indirect_age_sex")
        return self


# ------------------------------------------------------------------------------------------- definition


class IndicatorDefinition(_Strict):
    """One indicator. See docs/indicators.md for every field, with examples."""

    id: str = Field(pattern=ID_RE)
    version: int = Field(ge=1)
    domain: str = Field(pattern=ID_RE)
    title: str = Field(min_length=3)
    description: str = Field(min_length=3)
    why_it_matters: str = Field(min_length=3)
    source_publication: str = Field(min_length=3)
    value_type: ValueType
    polarity: Polarity
    multiplier: float = Field(gt=0)
    unit: str = Field(min_length=1)
    period_type: PeriodType
    derived_period_types: list[PeriodType] = Field(default_factory=list)
    periods: PeriodRange = Field(default_factory=PeriodRange)
    numerator: Spec
    denominator: Spec
    standardisation: Standardisation = Field(default_factory=Standardisation)
    breaks: list[DataBreak] = Field(default_factory=list, alias="data_breaks")
    review: Review
    notes: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def data_breaks(self) -> list[str]:
        """Periods at which a trend must not be drawn across (values before are not comparable)."""
        return [b.period for b in self.breaks]

    @property
    def period_types(self) -> list[str]:
        """The period types this indicator is computed for: its own first, then derived ones."""
        return [str(self.period_type), *(str(p) for p in self.derived_period_types)]

    @model_validator(mode="after")
    def _check(self) -> IndicatorDefinition:
        for p in self.derived_period_types:
            if not (self.period_type == PeriodType.MONTH and p == PeriodType.FINANCIAL_YEAR):
                raise ValueError(
                    f"derived_period_types: {p} cannot be derived from {self.period_type} "
                    "(only months roll up to financial years)"
                )
        for label in (self.periods.first, self.periods.last):
            if label and parse_period(label).type != self.period_type:
                raise ValueError(f"periods: {label!r} is not a {self.period_type} period")
        for b in self.breaks:
            t = parse_period(b.period).type
            if t != self.period_type and t not in self.derived_period_types:
                raise ValueError(f"data_breaks: {b.period!r} is not a period type this indicator has")
        self._check_combination()
        return self

    def _check_combination(self) -> None:
        n, d, s, vt = self.numerator, self.denominator, self.standardisation, self.value_type

        def fail(msg: str) -> None:
            raise ValueError(f"value_type {vt}: {msg}")

        if vt == ValueType.PROPORTION:
            if isinstance(n, PrescribingSpec) and isinstance(d, PrescribingSpec):
                if n.field != d.field:
                    fail("numerator and denominator must sum the same prescribing field")
            elif isinstance(n, MeasureValueSpec) and isinstance(d, MeasureValueSpec):
                if n.dataset_name != d.dataset_name:
                    fail("numerator and denominator must come from the same dataset")
            else:
                fail("numerator and denominator must both be prescribing, or both qof/gpps/measure_value")
            if s.method != "none":
                fail("a proportion is not standardised (standardisation.method must be none)")
        elif vt == ValueType.RATE:
            if not isinstance(n, PrescribingSpec) or not isinstance(d, RegistrationsSpec):
                fail("numerator must be prescribing and denominator registrations")
            if s.method not in ("none", "star_pu", "adq_star_pu"):
                fail("standardisation must be none (crude list), star_pu or adq_star_pu")
            if isinstance(n, PrescribingSpec) and s.method == "adq_star_pu" and n.field != "adq_usage":
                fail("an ADQ-STAR-PU rate counts ADQs: numerator field must be adq_usage")
        elif vt == ValueType.STANDARDISED_RATIO:
            if not isinstance(n, HospitalSpec) or not isinstance(d, ExpectedSpec):
                fail("numerator must be hospital and denominator expected")
            if s.method != "indirect_age_sex":
                fail("standardisation.method must be indirect_age_sex")
        elif vt == ValueType.WEIGHTED_PROPORTION:
            if not (isinstance(n, MeasureValueSpec) and isinstance(d, MeasureValueSpec)):
                fail("numerator and denominator must be gpps/measure_value fields")
            elif (n.field, d.field) != ("weighted_numerator", "weighted_denominator"):
                fail("fields must be weighted_numerator over weighted_denominator")
            elif n.dataset_name != d.dataset_name:
                fail("numerator and denominator must come from the same dataset")
        elif vt == ValueType.SCORE:
            if not (isinstance(n, MeasureValueSpec) and isinstance(d, MeasureValueSpec)):
                fail("numerator and denominator must be qof/measure_value fields")
            elif (n.field, d.field) != ("points", "max_points"):
                fail("fields must be points over max_points")
            elif n.dataset_name != d.dataset_name:
                fail("numerator and denominator must come from the same dataset")
        if isinstance(n, MeasureValueSpec) and n.measure_ids is None and n.codes_by_period is None:
            fail("numerator needs measure_ids or codes_by_period")
        if isinstance(d, MeasureValueSpec) and d.constant == "qof_maximum_points":
            # a share of a different maximum is a different measure: never trend across a change
            missing = [p for p in qof_maximum_changes() if p not in self.data_breaks]
            if missing:
                fail(f"a denominator of qof_maximum_points needs a data break wherever the maximum changes; "
                     f"add data_breaks for {', '.join(missing)}")
        if self.derived_period_types and not isinstance(n, PrescribingSpec):
            fail("only monthly prescribing indicators have derived (financial-year) periods")
        if isinstance(n, PrescribingSpec) and self.period_type != PeriodType.MONTH:
            fail("prescribing is published by month: period_type must be month")
        if not isinstance(n, PrescribingSpec) and self.period_type != PeriodType.FINANCIAL_YEAR:
            fail("QOF, GP Patient Survey and hospital data are by financial year: period_type must be fy")

    def summary(self) -> dict[str, object]:
        """The fields `gpscale indicators list` shows."""
        return {
            "id": self.id,
            "domain": self.domain,
            "title": self.title,
            "value_type": str(self.value_type),
            "polarity": str(self.polarity),
            "period_types": self.period_types,
            "version": self.version,
        }
