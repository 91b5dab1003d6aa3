"""The survey codebook: questions, answer codes, scales, derived variables and the analysis plan.

A codebook is a YAML file validated by the pydantic models below. It says what every column of a
responses CSV means, so validation and analysis need no code per survey. Example (abridged)::

    id: staff
    title: Staff survey
    id_column: respondent_id
    weight_column: weight            # optional
    scales:
      satisfaction:
        points: [{code: 1, label: Very dissatisfied}, ..., {code: 5, label: Very satisfied}]
        negative: [1, 2]
        positive: [4, 5]
        not_applicable: [9]          # valid answers left out of the base ("don't know")
    questions:
      - {id: role, type: single_choice, required: true, options: [{code: gp_partner, label: GP partner}]}
      - {id: sat_overall, type: likert, scale: satisfaction, text: Overall job satisfaction}
      - {id: reasons, type: multiple_choice, format: delimited, delimiter: ";", options: [...],
         asked_if: {question: collaborating, in: ["yes"]}}
    derived:
      - {id: maturity_band, type: band, source: months_since_forming,
         bands: [{code: "0-12", min: 0}, {code: "13-24", min: 13}, {code: "25+", min: 25}]}
    domains:
      - {id: job_satisfaction, label: Job satisfaction, items: [sat_overall, sat_pay]}
    analysis: {kind: staff, role: role}

Question types: ``single_choice``, ``multiple_choice`` (one 0/1 column per option, ``format: columns``,
or a delimited list in one column, ``format: delimited``), ``likert`` (labelled integer points from a
named or inline scale), ``numeric``, ``months_since`` (whole months, at least 0), ``date`` and ``text``
(identifiers and free text, never analysed). Derived variables: ``band`` (cut a number into labelled
bands by lower bounds) and ``months_since_date`` (whole months from a date answer to a reference date).

YAML 1.1 reads unquoted ``yes``/``no``/``true``/``false`` as booleans; codes like that must be quoted,
and the model says so rather than silently turning them into ``True``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gpscale.surveys.errors import SurveyIssue, SurveyValidationError

IDENTIFIER = r"^[A-Za-z][A-Za-z0-9_]*$"


def _code_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("answer code read as a boolean: quote codes such as 'yes', 'no', 'true' in the YAML ('yes')")
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Option(_Model):
    """One answer option of a choice question. ``column`` names its 0/1 column in ``columns`` format."""

    code: str
    label: str | None = None
    column: str | None = None

    _code = field_validator("code", mode="before")(_code_to_str)

    @property
    def display(self) -> str:
        return self.label or self.code


class ScalePoint(_Model):
    """A labelled point of a Likert scale (``code`` is the integer in the responses file)."""

    code: int
    label: str


class Scale(_Model):
    """A Likert scale: ordered labelled points, which count as negative or positive, and non-answers.

    Points neither negative, positive nor not-applicable are neutral (the middle of the scale). Diverging
    bar charts put negative points left of zero, positive right, and split neutral across it.
    """

    points: list[ScalePoint] = Field(min_length=2)
    negative: list[int]
    positive: list[int]
    not_applicable: list[int] = Field(default_factory=list)
    positive_label: str = "positive"

    @model_validator(mode="after")
    def _check(self) -> Scale:
        codes = [p.code for p in self.points]
        if len(set(codes)) != len(codes):
            raise ValueError(f"scale point codes repeat: {codes}")
        for name in ("negative", "positive", "not_applicable"):
            unknown = set(getattr(self, name)) - set(codes)
            if unknown:
                raise ValueError(f"{name} lists codes that are not scale points: {sorted(unknown)}")
        groups = [set(self.negative), set(self.positive), set(self.not_applicable)]
        if any(a & b for i, a in enumerate(groups) for b in groups[i + 1 :]):
            raise ValueError("negative, positive and not_applicable must not share codes")
        if not self.positive or not self.negative:
            raise ValueError("a scale needs at least one positive and one negative point")
        return self

    @property
    def substantive(self) -> list[ScalePoint]:
        """Points that count in the base (all but not-applicable), in scale order."""
        return [p for p in self.points if p.code not in self.not_applicable]

    @property
    def neutral(self) -> list[int]:
        return [
            p.code
            for p in self.points
            if p.code not in self.negative and p.code not in self.positive and p.code not in self.not_applicable
        ]

    def label_of(self, code: int) -> str:
        return next(p.label for p in self.points if p.code == code)

    @property
    def midpoint(self) -> float:
        """Middle of the substantive codes; a domain score above it counts as positive."""
        codes = [p.code for p in self.substantive]
        return (min(codes) + max(codes)) / 2.0


class Condition(_Model):
    """Routing: the question is asked only when single-choice question ``question`` has a code in ``in``."""

    question: str
    values: list[str] = Field(alias="in", min_length=1)

    _codes = field_validator("values", mode="before")(
        lambda v: [_code_to_str(x) for x in v] if isinstance(v, list) else v
    )


class _Question(_Model):
    id: str = Field(pattern=IDENTIFIER)
    text: str = ""
    required: bool = False
    asked_if: Condition | None = None
    column: str | None = None

    @property
    def source_column(self) -> str:
        return self.column or self.id

    @property
    def label(self) -> str:
        return self.text or self.id


class SingleChoice(_Question):
    type: Literal["single_choice"]
    options: list[Option] = Field(min_length=1)

    def option(self, code: str) -> Option:
        return next(o for o in self.options if o.code == code)


class MultipleChoice(_Question):
    type: Literal["multiple_choice"]
    options: list[Option] = Field(min_length=1)
    format: Literal["delimited", "columns"] = "delimited"
    delimiter: str = Field(default=";", min_length=1)

    def option_column(self, option: Option) -> str:
        """The 0/1 column of ``option`` in ``columns`` format (``<id>_<code>`` unless named)."""
        return option.column or f"{self.id}_{option.code}"

    def option(self, code: str) -> Option:
        return next(o for o in self.options if o.code == code)


class Likert(_Question):
    type: Literal["likert"]
    scale: str | Scale


class Numeric(_Question):
    type: Literal["numeric"]
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    unit: str | None = None


class MonthsSince(_Question):
    """Whole months since an event (e.g. since the collaboration formed); at least 0."""

    type: Literal["months_since"]
    maximum: int | None = None


class DateQuestion(_Question):
    type: Literal["date"]
    format: str = "%Y-%m-%d"
    earliest: dt.date | None = None
    latest: dt.date | None = None


class Text(_Question):
    """Identifiers (practice code, site) and free text: validated for presence only, never analysed."""

    type: Literal["text"]


Question = Annotated[
    SingleChoice | MultipleChoice | Likert | Numeric | MonthsSince | DateQuestion | Text,
    Field(discriminator="type"),
]


class Band(_Model):
    """One band of a banding: values from ``min`` up to (not including) the next band's ``min``."""

    code: str
    label: str | None = None
    min: float

    _code = field_validator("code", mode="before")(_code_to_str)

    @property
    def display(self) -> str:
        return self.label or self.code


class BandDerived(_Model):
    """A categorical variable cut from a numeric or months-since answer (e.g. maturity band)."""

    id: str = Field(pattern=IDENTIFIER)
    type: Literal["band"]
    text: str = ""
    source: str
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> BandDerived:
        mins = [b.min for b in self.bands]
        if mins != sorted(mins) or len(set(mins)) != len(mins):
            raise ValueError(f"band minimums must be strictly increasing, got {mins}")
        codes = [b.code for b in self.bands]
        if len(set(codes)) != len(codes):
            raise ValueError(f"band codes repeat: {codes}")
        return self

    @property
    def label(self) -> str:
        return self.text or self.id

    @property
    def options(self) -> list[Option]:
        return [Option(code=b.code, label=b.display) for b in self.bands]


class MonthsSinceDate(_Model):
    """Whole months from a date answer to a fixed date or to another date answer (e.g. date completed)."""

    id: str = Field(pattern=IDENTIFIER)
    type: Literal["months_since_date"]
    text: str = ""
    source: str
    reference_date: dt.date | None = None
    reference_question: str | None = None

    @model_validator(mode="after")
    def _one_reference(self) -> MonthsSinceDate:
        if (self.reference_date is None) == (self.reference_question is None):
            raise ValueError("give exactly one of reference_date and reference_question")
        return self

    @property
    def label(self) -> str:
        return self.text or self.id


Derived = Annotated[BandDerived | MonthsSinceDate, Field(discriminator="type")]


class Domain(_Model):
    """A group of Likert items on one scale; a respondent's domain score is the mean of their items."""

    id: str = Field(pattern=IDENTIFIER)
    label: str
    items: list[str] = Field(min_length=1)
    min_items: int | None = Field(default=None, ge=1)

    @property
    def needed(self) -> int:
        """Items a respondent must answer for a domain score: ``min_items`` or half, rounded up."""
        return self.min_items or (len(self.items) + 1) // 2


class GenericAnalysis(_Model):
    """No survey-specific analyses: every question is summarised overall."""

    kind: Literal["generic"] = "generic"


class CollaborationAnalysis(_Model):
    """Which questions carry each concept of the GP/commissioner collaboration survey."""

    kind: Literal["collaboration"]
    respondent_type: str
    practice_code: str = "practice"
    commissioner_code: str = "commissioner"
    collaborating: str
    collaborating_code: str = "yes"
    formality: str | None = None
    formal_code: str = "formal"
    form: str | None = None
    population_covered: str | None = None
    practices_in_collaboration: str | None = None
    same_commissioner: str | None = None
    same_commissioner_code: str = "yes"
    reasons: str | None = None
    achievements: str | None = None
    maturity_band: str | None = None
    support_needed: str | None = None
    #: an achievement enters the Table 1 list for a band when cited by at least this share of its
    #: collaborations (the study used a quarter)
    min_share: float = Field(default=0.25, gt=0.0, le=1.0)

    _codes = field_validator(
        "practice_code",
        "commissioner_code",
        "collaborating_code",
        "formal_code",
        "same_commissioner_code",
        mode="before",
    )(_code_to_str)


class StaffAnalysis(_Model):
    """Which questions carry role, group and site, and which domains measure what, in a staff survey."""

    kind: Literal["staff"]
    role: str
    group: str | None = None
    site: str | None = None
    satisfaction_domains: list[str] | None = None
    engagement_practice: str | None = None
    engagement_organisation: str | None = None


Analysis = Annotated[GenericAnalysis | CollaborationAnalysis | StaffAnalysis, Field(discriminator="kind")]


class Codebook(_Model):
    """A survey's codebook (see the module docstring for the YAML layout)."""

    id: str = Field(pattern=IDENTIFIER)
    title: str
    version: str = "1"
    description: str = ""
    id_column: str = "respondent_id"
    weight_column: str | None = None
    scales: dict[str, Scale] = Field(default_factory=dict)
    questions: list[Question] = Field(min_length=1)
    derived: list[Derived] = Field(default_factory=list)
    domains: list[Domain] = Field(default_factory=list)
    analysis: Analysis = Field(default_factory=GenericAnalysis)

    _version = field_validator("version", mode="before")(lambda v: str(v) if isinstance(v, int | float) else v)

    # ------------------------------------------------------------------ lookups
    def question(self, qid: str) -> Any:
        """The question or derived variable with id ``qid`` (KeyError if none)."""
        for q in [*self.questions, *self.derived]:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def has(self, qid: str) -> bool:
        return any(q.id == qid for q in [*self.questions, *self.derived])

    def scale_of(self, question: Likert) -> Scale:
        return self.scales[question.scale] if isinstance(question.scale, str) else question.scale

    def domain(self, did: str) -> Domain:
        return next(d for d in self.domains if d.id == did)

    def categories(self, qid: str) -> list[Option]:
        """Answer categories of a single-choice question or band variable, in codebook order."""
        q = self.question(qid)
        if isinstance(q, SingleChoice):
            return list(q.options)
        if isinstance(q, BandDerived):
            return q.options
        raise TypeError(f"{qid} is not a single-choice question or band")

    def expected_columns(self) -> dict[str, tuple[str, bool]]:
        """Responses-file columns the codebook describes: column -> (question id, required)."""
        cols: dict[str, tuple[str, bool]] = {self.id_column: ("<respondent id>", True)}
        if self.weight_column:
            cols[self.weight_column] = ("<weight>", True)
        used = self.analysis_questions()
        for q in self.questions:
            needed = q.required or q.id in used
            if isinstance(q, MultipleChoice) and q.format == "columns":
                for o in q.options:
                    cols[q.option_column(o)] = (q.id, needed)
            else:
                cols[q.source_column] = (q.id, needed)
        return cols

    def analysis_questions(self) -> set[str]:
        """Question ids the analysis plan refers to (directly, or through derived variables and domains)."""
        a = self.analysis
        ids: set[str] = set()
        if isinstance(a, CollaborationAnalysis):
            ids = {
                v
                for v in (
                    a.respondent_type,
                    a.collaborating,
                    a.formality,
                    a.form,
                    a.population_covered,
                    a.practices_in_collaboration,
                    a.same_commissioner,
                    a.reasons,
                    a.achievements,
                    a.maturity_band,
                    a.support_needed,
                )
                if v
            }
        elif isinstance(a, StaffAnalysis):
            ids = {v for v in (a.role, a.group, a.site) if v}
            for dom in self.domains:
                ids.update(dom.items)
        for derived in self.derived:
            if derived.id in ids:
                ids.add(derived.source)
                if isinstance(derived, MonthsSinceDate) and derived.reference_question:
                    ids.add(derived.reference_question)
        return ids

    # ------------------------------------------------------------------ consistency
    @model_validator(mode="after")
    def _consistent(self) -> Codebook:
        ids = [q.id for q in self.questions] + [d.id for d in self.derived] + [d.id for d in self.domains]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"ids used more than once across questions, derived and domains: {dup}")
        cols = list(self.expected_columns_unchecked())
        dup_cols = sorted({c for c in cols if cols.count(c) > 1})
        if dup_cols:
            raise ValueError(f"two questions read the same responses column: {dup_cols}")
        for q in self.questions:
            if isinstance(q, Likert) and isinstance(q.scale, str) and q.scale not in self.scales:
                raise ValueError(f"question {q.id}: scale {q.scale!r} is not defined under scales")
            if isinstance(q, SingleChoice | MultipleChoice):
                codes = [o.code for o in q.options]
                if len(set(codes)) != len(codes):
                    raise ValueError(f"question {q.id}: option codes repeat")
            if isinstance(q, Numeric) and None not in (q.minimum, q.maximum):
                assert q.minimum is not None and q.maximum is not None
                if q.minimum > q.maximum:
                    raise ValueError(f"question {q.id}: minimum above maximum")
            if q.asked_if is not None:
                self._check_condition(q.id, q.asked_if)
        for d in self.derived:
            self._check_derived(d)
        for dom in self.domains:
            scales = set()
            for item in dom.items:
                q = self._find(item)
                if not isinstance(q, Likert):
                    raise ValueError(f"domain {dom.id}: item {item!r} is not a Likert question")
                scales.add(self.scale_of(q).model_dump_json())
            if len(scales) > 1:
                raise ValueError(f"domain {dom.id}: items use different scales")
            if dom.min_items and dom.min_items > len(dom.items):
                raise ValueError(f"domain {dom.id}: min_items exceeds the number of items")
        self._check_analysis()
        return self

    def expected_columns_unchecked(self) -> list[str]:
        cols = [self.id_column] + ([self.weight_column] if self.weight_column else [])
        for q in self.questions:
            if isinstance(q, MultipleChoice) and q.format == "columns":
                cols.extend(q.option_column(o) for o in q.options)
            else:
                cols.append(q.source_column)
        return cols

    def _find(self, qid: str) -> Any:
        try:
            return self.question(qid)
        except KeyError:
            raise ValueError(f"{qid!r} is not a question or derived variable in this codebook") from None

    def _check_condition(self, qid: str, cond: Condition) -> None:
        target = self._find(cond.question)
        if cond.question == qid:
            raise ValueError(f"question {qid}: asked_if refers to itself")
        if not isinstance(target, SingleChoice):
            raise ValueError(f"question {qid}: asked_if must refer to a single_choice question")
        unknown = set(cond.values) - {o.code for o in target.options}
        if unknown:
            raise ValueError(f"question {qid}: asked_if codes {sorted(unknown)} are not options of {target.id}")

    def _check_derived(self, d: BandDerived | MonthsSinceDate) -> None:
        src = self._find(d.source)
        if isinstance(d, BandDerived):
            if not isinstance(src, Numeric | MonthsSince | MonthsSinceDate):
                raise ValueError(f"derived {d.id}: source {d.source!r} must be numeric or months")
        else:
            if not isinstance(src, DateQuestion):
                raise ValueError(f"derived {d.id}: source {d.source!r} must be a date question")
            if d.reference_question and not isinstance(self._find(d.reference_question), DateQuestion):
                raise ValueError(f"derived {d.id}: reference_question must be a date question")

    def _require(self, qid: str | None, types: tuple[type, ...], what: str) -> None:
        if qid is None:
            return
        q = self._find(qid)
        if not isinstance(q, types):
            names = " or ".join(_TYPE_NAMES.get(t.__name__, t.__name__) for t in types)
            raise ValueError(f"analysis.{what}: {qid!r} must be a {names} question")

    def _require_code(self, qid: str | None, code: str, what: str) -> None:
        if qid is None:
            return
        if code not in {o.code for o in self.categories(qid)}:
            raise ValueError(f"analysis.{what}: {code!r} is not an option of {qid}")

    def _check_analysis(self) -> None:
        a = self.analysis
        if isinstance(a, CollaborationAnalysis):
            choice = (SingleChoice,)
            self._require(a.respondent_type, choice, "respondent_type")
            self._require_code(a.respondent_type, a.practice_code, "practice_code")
            self._require_code(a.respondent_type, a.commissioner_code, "commissioner_code")
            self._require(a.collaborating, choice, "collaborating")
            self._require_code(a.collaborating, a.collaborating_code, "collaborating_code")
            self._require(a.formality, choice, "formality")
            self._require_code(a.formality, a.formal_code, "formal_code")
            self._require(a.form, choice, "form")
            self._require(a.population_covered, (Numeric,), "population_covered")
            self._require(a.practices_in_collaboration, (Numeric,), "practices_in_collaboration")
            self._require(a.same_commissioner, choice, "same_commissioner")
            self._require_code(a.same_commissioner, a.same_commissioner_code, "same_commissioner_code")
            for name in ("reasons", "achievements", "support_needed"):
                self._require(getattr(a, name), (MultipleChoice,), name)
            self._require(a.maturity_band, (SingleChoice, BandDerived), "maturity_band")
        elif isinstance(a, StaffAnalysis):
            self._require(a.role, (SingleChoice,), "role")
            self._require(a.group, (SingleChoice, Text), "group")
            self._require(a.site, (SingleChoice, Text), "site")
            if a.site and not a.group:
                raise ValueError("analysis.site needs analysis.group (sites are reported within groups)")
            domain_ids = {d.id for d in self.domains}
            for did in [*(a.satisfaction_domains or []), a.engagement_practice, a.engagement_organisation]:
                if did is not None and did not in domain_ids:
                    raise ValueError(f"analysis refers to domain {did!r}, which is not under domains")


_TYPE_NAMES = {
    "SingleChoice": "single_choice",
    "MultipleChoice": "multiple_choice",
    "Likert": "likert",
    "Numeric": "numeric",
    "MonthsSince": "months_since",
    "DateQuestion": "date",
    "Text": "text",
    "BandDerived": "band (derived)",
    "MonthsSinceDate": "months_since_date (derived)",
}


def load_codebook(path: Path | str) -> Codebook:
    """Read and validate a codebook; raise :class:`SurveyValidationError` naming the file and the rule."""
    p = Path(path)
    label = str(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SurveyValidationError(
            [SurveyIssue(label, "file_not_found", f"cannot read the codebook: {exc.strerror or exc}")]
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SurveyValidationError(
            [SurveyIssue(label, "yaml_syntax", str(problem), row=row, row_kind="line")]
        ) from None
    if not isinstance(raw, dict):
        raise SurveyValidationError(
            [SurveyIssue(label, "codebook_schema", "the codebook must be a YAML mapping (id, title, questions...)")]
        )
    try:
        return Codebook.model_validate(raw)
    except ValidationError as exc:
        raise SurveyValidationError(_schema_issues(label, exc, raw)) from None


def _schema_issues(label: str, exc: ValidationError, raw: dict[str, Any]) -> list[SurveyIssue]:
    issues = []
    for err in exc.errors():
        loc = list(err["loc"])
        path = _readable_loc(loc, raw)
        msg = err["msg"].removeprefix("Value error, ")
        issues.append(SurveyIssue(label, "codebook_schema", msg, column=path or None))
    return issues


def _readable_loc(loc: list[Any], raw: Any) -> str:
    """``['questions', 3, 'likert', 'scale']`` -> ``questions[3] (id: sat_pay).scale``."""
    out = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and "id" in node:
                    out += f" (id: {node['id']})"
            continue
        if isinstance(node, dict) and part in node:
            out += f".{part}" if out else str(part)
            node = node[part]
        elif isinstance(node, dict) and part in {
            "single_choice",
            "multiple_choice",
            "likert",
            "numeric",
            "months_since",
            "date",
            "text",
            "band",
            "months_since_date",
            "collaboration",
            "staff",
            "generic",
        }:
            continue  # the discriminator tag pydantic inserts
        else:
            out += f".{part}" if out else str(part)
            node = None
    return out
