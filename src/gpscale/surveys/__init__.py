"""Survey kit: codebook-driven analysis of the collaboration surveys and the staff survey.

A YAML codebook (:mod:`gpscale.surveys.codebook`) describes a responses CSV; :func:`load_survey`
validates both and returns typed :class:`SurveyData`; the analyses (:func:`analyse_collaboration`,
:func:`analyse_staff`) return tidy, already-suppressed tables; :func:`build_survey_report` writes them as
CSV and Parquet with a self-contained HTML section. Small cells are hidden by :mod:`gpscale.disclosure`.
See ``docs/surveys.md``.

Names are imported on first use, so ``gpscale survey --help`` does not pay for scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpscale.surveys.analyses import ResultTable
    from gpscale.surveys.codebook import Codebook, load_codebook
    from gpscale.surveys.collaboration import analyse_collaboration
    from gpscale.surveys.errors import SurveyIssue, SurveyValidationError
    from gpscale.surveys.report import SurveyReport, analyse, build_survey_report
    from gpscale.surveys.responses import SurveyData, load_responses, load_survey
    from gpscale.surveys.staff import analyse_staff
    from gpscale.surveys.synth import write_synthetic_surveys

_WHERE = {
    "ResultTable": "analyses",
    "Codebook": "codebook",
    "load_codebook": "codebook",
    "analyse_collaboration": "collaboration",
    "SurveyIssue": "errors",
    "SurveyValidationError": "errors",
    "SurveyReport": "report",
    "analyse": "report",
    "build_survey_report": "report",
    "SurveyData": "responses",
    "load_responses": "responses",
    "load_survey": "responses",
    "analyse_staff": "staff",
    "write_synthetic_surveys": "synth",
}

__all__ = [
    "Codebook",
    "ResultTable",
    "SurveyData",
    "SurveyIssue",
    "SurveyReport",
    "SurveyValidationError",
    "analyse",
    "analyse_collaboration",
    "analyse_staff",
    "build_survey_report",
    "load_codebook",
    "load_responses",
    "load_survey",
    "write_synthetic_surveys",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"gpscale.surveys.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'gpscale.surveys' has no attribute {name!r}")
