"""GP Patient Survey: which published column answers which question, year by year, and the 2024 break.

Question numbers move between survey years and the 2024 redesign replaced them with named stems, so a
trend needs a map from each year's columns to one canonical measure. What is known of the real files
(``../shared/data/README.md``, gathered from public code that reads them):

* 2017-2023: Q28 overall experience of the GP practice, Q18 overall experience of contacting the practice
  (making an appointment), Q3 ease of getting through by phone, Q9 how often the patient sees or speaks to
  a preferred GP; the combined positive answers are published as ``QN_12pct`` (answers 1 and 2).
* 2012-2016: the same numbers are assumed (the pre-2018 questionnaire's numbering, as in 2017); no real
  file of those years was available to confirm them, so check the year's questionnaire before relying on
  one, and note that :data:`BREAKS` marks 2018 as a change of wording.
* 2024 onward: a stem per question (``overallexp``, ``gpcontactoverall``, ``localgpservicesphone``,
  ``localgpservicesprefhpsee``) with ``<stem>.pcteval`` the combined positive share and
  ``<stem>.counteval`` its (evaluative) base. Results are **not comparable** with 2023 and earlier.

Survey years are fieldwork years (January-March), mapped to the financial year they end: survey 2024 →
FY2023/24. The map is data, not code: a new year is one more :class:`Asked` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gpscale.periods import fy_label


class SurveyMeasure(StrEnum):
    """A canonical GP Patient Survey measure: the combined positive share of one question, any year."""

    OVERALL_EXPERIENCE = "overall_experience"  # overall experience of the GP practice: very or fairly good
    CONTACT_EXPERIENCE = "contact_experience"  # overall experience of contacting the practice: good
    PHONE_EASY = "phone_easy"  # getting through on the phone: very or fairly easy
    PREFERRED_GP = "preferred_gp"  # sees or speaks to the preferred GP always, almost always or a lot


@dataclass(frozen=True)
class Asked:
    """The column a measure was published under in survey years ``first`` to ``last`` (inclusive).

    ``code`` is the measure id the loader gives the column: ``QN_12`` (columns ``QN_12pct``/``QNbase``)
    before 2024, the stem (columns ``<stem>.pcteval``/``<stem>.counteval``) from 2024.
    """

    first: int
    last: int
    code: str


#: The last survey year of the numbered layout; from the next year the file uses question stems.
LAST_NUMBERED_YEAR = 2023
FIRST_SURVEY_YEAR = 2012  # the earliest year whose numbering the map records

QUESTIONS: dict[SurveyMeasure, tuple[Asked, ...]] = {
    SurveyMeasure.OVERALL_EXPERIENCE: (Asked(2012, 2023, "Q28_12"), Asked(2024, 9999, "overallexp")),
    SurveyMeasure.CONTACT_EXPERIENCE: (Asked(2012, 2023, "Q18_12"), Asked(2024, 9999, "gpcontactoverall")),
    SurveyMeasure.PHONE_EASY: (Asked(2012, 2023, "Q3_12"), Asked(2024, 9999, "localgpservicesphone")),
    SurveyMeasure.PREFERRED_GP: (Asked(2012, 2023, "Q9_12"), Asked(2024, 9999, "localgpservicesprefhpsee")),
}


@dataclass(frozen=True)
class SurveyBreak:
    """A survey year from which results are not comparable with the years before (a data break)."""

    survey_year: int
    reason: str

    @property
    def period(self) -> str:
        """The financial year the break starts (the survey year's fieldwork ends it)."""
        return fy_label(self.survey_year - 1)


BREAKS: tuple[SurveyBreak, ...] = (
    SurveyBreak(2018, "questionnaire redesigned for the 2018 survey: wording, order and answer options changed"),
    SurveyBreak(
        2024,
        "questionnaire and file redesigned in 2024 (question stems, ad_ columns): results are not comparable "
        "with 2023 and earlier",
    ),
)


def codes_for(survey_year: int) -> dict[str, SurveyMeasure]:
    """The year's measure ids (``Q28_12``, ``overallexp``...) and the canonical measure each one is."""
    return {a.code: m for m, asked in QUESTIONS.items() for a in asked if a.first <= survey_year <= a.last}


def break_in(survey_year: int) -> SurveyBreak | None:
    """The data break that starts with this survey year, if one does."""
    return next((b for b in BREAKS if b.survey_year == survey_year), None)
