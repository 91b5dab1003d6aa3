"""Validation problems in a codebook or a responses file, each naming its file, row, column and rule.

Rows are counted as a spreadsheet shows them: the header is row 1 and the first respondent is row 2, so
a reader can go straight to the line. Codebook problems carry the YAML line where it is known, otherwise
the path of the offending entry (``questions[3].options``) in ``column``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

#: Every rule a survey file can break, with what it means (the glossary used by docs/surveys.md).
RULES: dict[str, str] = {
    "file_not_found": "the file does not exist or cannot be read",
    "yaml_syntax": "the codebook is not valid YAML",
    "codebook_schema": "the codebook does not match the codebook model (a field missing, wrong or unknown)",
    "empty_file": "the responses file has no header row",
    "duplicate_column": "two header cells have the same name",
    "malformed_row": "a row has more cells than the header",
    "missing_column": "a column the codebook requires is not in the responses file",
    "unknown_column": "a column in the responses file is not described by the codebook (ignored)",
    "duplicate_respondent_id": "two rows have the same respondent id",
    "missing_respondent_id": "a row has no respondent id",
    "answer_not_in_codebook": "an answer is not one of the codes the codebook lists for the question",
    "not_a_number": "a numeric answer is not a number",
    "not_a_whole_number": "an answer that must be a whole number has a fraction",
    "out_of_range": "a numeric answer is outside the codebook's minimum or maximum",
    "invalid_date": "a date answer is not a date in the codebook's format",
    "required_answer_missing": "a required question was asked but not answered",
    "answered_but_not_asked": "an answer is given where the routing (asked_if) says the question is not asked",
    "invalid_weight": "a weight is missing, not a number, zero, negative or infinite",
    "outside_bands": "a value lies below the first band of a derived banding",
    "too_many_errors": "listing stopped after the first 1,000 errors",
}


@dataclass(frozen=True)
class SurveyIssue:
    """One problem found while validating a survey file."""

    file: str
    rule: str
    message: str
    row: int | None = None
    column: str | None = None
    severity: Severity = "error"
    #: ``row`` of a CSV (header = row 1) or ``line`` of a YAML codebook
    row_kind: Literal["row", "line"] = "row"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"{self.row_kind} {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: [{self.rule}] {self.message}"


class SurveyValidationError(Exception):
    """Raised when a codebook or responses file has errors; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[SurveyIssue]) -> None:
        self.issues = list(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        head = "; ".join(str(i) for i in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"{len(errors)} survey validation error(s): {head}{more}")

    @property
    def errors(self) -> list[SurveyIssue]:
        return [i for i in self.issues if i.severity == "error"]


