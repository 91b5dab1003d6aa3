"""Read a responses CSV against its codebook: validate every cell, type every answer, derive variables.

One row per respondent. Blank cells are unanswered. Every problem is collected (not just the first) and
reported with file, row (the header is row 1), column and rule; see :data:`errors.RULES`. Warnings
(unknown columns, optional columns absent) do not stop the load.

The loaded :class:`SurveyData` holds one typed column per question (single choice and text as strings,
Likert as nullable integers, numbers and months as floats, dates as dates), one boolean column
``<question>:<code>`` per option of a multiple-choice question (null when the question was not answered),
derived variables, the respondent id (``_respondent``), the weight (``_weight``, 1 when the codebook
declares none) and the file row (``_row``).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from gpscale.surveys.codebook import (
    BandDerived,
    Codebook,
    DateQuestion,
    Likert,
    MonthsSince,
    MonthsSinceDate,
    MultipleChoice,
    Numeric,
    SingleChoice,
    Text,
    load_codebook,
)
from gpscale.surveys.errors import Severity, SurveyIssue, SurveyValidationError

RESPONDENT = "_respondent"
WEIGHT = "_weight"
ROW = "_row"
#: stop collecting after this many errors: the first ones are what a user fixes first
MAX_ISSUES = 1000

_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"0", "false", "no", "n"}


def option_column(qid: str, code: str) -> str:
    """Name of the boolean column for option ``code`` of multiple-choice question ``qid`` in SurveyData."""
    return f"{qid}:{code}"


@dataclass(frozen=True)
class SurveyData:
    """A validated survey: the codebook, the typed responses, and any warnings raised while loading."""

    codebook: Codebook
    frame: pd.DataFrame
    source: str
    warnings: list[SurveyIssue] = field(default_factory=list)

    @property
    def weighted(self) -> bool:
        return self.codebook.weight_column is not None

    @property
    def n_respondents(self) -> int:
        return len(self.frame)

    def option_columns(self, qid: str) -> list[str]:
        q = self.codebook.question(qid)
        return [option_column(qid, o.code) for o in q.options]

    def answered(self, qid: str) -> pd.Series:
        """Boolean: did each respondent answer ``qid`` (any option, for multiple choice)?"""
        q = self.codebook.question(qid)
        if isinstance(q, MultipleChoice):
            return self.frame[self.option_columns(qid)].notna().any(axis=1)
        return self.frame[qid].notna()


class _Collector:
    """Collects issues for one file; :meth:`finish` raises if any is an error."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[SurveyIssue] = []
        self.n_errors = 0

    def add(
        self,
        rule: str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        severity: Severity = "error",
    ) -> None:
        if severity == "error":
            self.n_errors += 1
            if self.n_errors > MAX_ISSUES:
                return
        self.issues.append(SurveyIssue(self.file, rule, message, row, column, severity))

    def fail(self, rule: str, message: str) -> NoReturn:
        """Record a file-level error and stop."""
        self.add(rule, message)
        self.finish()
        raise AssertionError("finish() raises when there are errors")  # pragma: no cover

    def finish(self, columns: list[str] | None = None) -> None:
        """Sort the issues (file-level first, then by row and column) and raise if any is an error."""
        order = {c: i for i, c in enumerate(columns or [])}
        self.issues.sort(key=lambda i: (i.row is not None, i.row or 0, order.get(i.column or "", -1)))
        if self.n_errors > MAX_ISSUES:
            self.issues.append(
                SurveyIssue(self.file, "too_many_errors", f"{self.n_errors - MAX_ISSUES} further errors not listed")
            )
        if self.n_errors:
            raise SurveyValidationError(self.issues)


def load_survey(codebook_path: Path | str, responses_path: Path | str) -> SurveyData:
    """Load and validate a codebook and its responses; raise :class:`SurveyValidationError` on any error."""
    return load_responses(load_codebook(codebook_path), responses_path)


def load_responses(codebook: Codebook, responses_path: Path | str) -> SurveyData:
    """Validate ``responses_path`` against ``codebook`` and return the typed :class:`SurveyData`."""
    label = str(responses_path)
    out = _Collector(label)
    header, records = _read_csv(Path(responses_path), out)
    cells = {name: [r[i] if i < len(r) else "" for r in records] for i, name in enumerate(header)}
    rows = np.arange(2, len(records) + 2)
    n = len(records)

    expected = codebook.expected_columns()
    for col, (qid, needed) in expected.items():
        if col in cells:
            continue
        if needed:
            what = "respondent id" if qid == "<respondent id>" else "weight" if qid == "<weight>" else qid
            out.add("missing_column", f"column {col!r} ({what}) is required by the codebook but absent", column=col)
        else:
            out.add(
                "missing_column",
                f"optional column {col!r} ({qid}) is absent; treated as unanswered",
                column=col,
                severity="warning",
            )
    unknown = [c for c in header if c not in expected]
    if unknown:
        out.add("unknown_column", f"columns not in the codebook are ignored: {', '.join(unknown)}", severity="warning")
    if out.n_errors:
        out.finish()

    def raw(col: str) -> list[str]:
        return [v.strip() for v in cells.get(col, [""] * n)]

    frame = pd.DataFrame({ROW: rows})
    ids = raw(codebook.id_column)
    first_row: dict[str, int] = {}
    for i, rid in enumerate(ids):
        if not rid:
            out.add("missing_respondent_id", "respondent id is blank", int(rows[i]), codebook.id_column)
        elif rid in first_row:
            out.add(
                "duplicate_respondent_id",
                f"respondent id {rid!r} already used in row {first_row[rid]}",
                int(rows[i]),
                codebook.id_column,
            )
        else:
            first_row[rid] = int(rows[i])
    frame[RESPONDENT] = pd.array(ids, dtype="string")
    frame[WEIGHT] = _weights(codebook, raw, rows, out)

    typed: dict[str, Any] = {}
    for q in codebook.questions:
        typed.update(_parse_question(q, codebook, raw, rows, out))
    for col, values in typed.items():
        frame[col] = values
    _check_routing(codebook, frame, rows, out)
    for d in codebook.derived:
        frame[d.id] = _derive(d, frame, rows, out)
    out.finish(header)
    return SurveyData(codebook=codebook, frame=frame, source=label, warnings=list(out.issues))


def _read_csv(path: Path, out: _Collector) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            if not any(h.strip() for h in header):
                out.fail("empty_file", "the file is empty: a header row naming the columns is needed")
            records = [r for r in reader if any(c.strip() for c in r)]
    except OSError as exc:
        out.fail("file_not_found", f"cannot read the responses file: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        out.fail("file_not_found", f"the responses file is not UTF-8 text: {exc.reason}")
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for h in header:
        if h in seen:
            out.add("duplicate_column", f"header {h!r} appears more than once", row=1, column=h)
        seen.add(h)
    for i, r in enumerate(records):
        if len(r) > len(header) and any(c.strip() for c in r[len(header) :]):
            out.add("malformed_row", f"{len(r)} cells but the header has {len(header)}", row=i + 2)
    if out.n_errors:
        out.finish()
    return header, records


def _weights(codebook: Codebook, raw: Callable[[str], list[str]], rows: np.ndarray, out: _Collector) -> np.ndarray:
    if codebook.weight_column is None:
        return np.ones(len(rows))
    values = np.full(len(rows), np.nan)
    for i, text in enumerate(raw(codebook.weight_column)):
        try:
            w = float(text)
        except ValueError:
            w = math.nan
        if not (math.isfinite(w) and w > 0):
            out.add(
                "invalid_weight", f"weight {text!r} must be a positive number", int(rows[i]), codebook.weight_column
            )
        else:
            values[i] = w
    return values


def _parse_question(
    q: Any, codebook: Codebook, raw: Callable[[str], list[str]], rows: np.ndarray, out: _Collector
) -> dict[str, Any]:
    col = q.source_column
    if isinstance(q, MultipleChoice):
        return _parse_multiple(q, raw, rows, out)
    values = raw(col)
    if isinstance(q, SingleChoice):
        allowed = {o.code for o in q.options}
        parsed: list[Any] = []
        for i, v in enumerate(values):
            if v and v not in allowed:
                out.add(
                    "answer_not_in_codebook",
                    f"{v!r} is not a code of {q.id} (allowed: {', '.join(sorted(allowed))})",
                    int(rows[i]),
                    col,
                )
                v = ""
            parsed.append(v or None)
        return {q.id: pd.array(parsed, dtype="string")}
    if isinstance(q, Text):
        return {q.id: pd.array([v or None for v in values], dtype="string")}
    if isinstance(q, Likert):
        scale = codebook.scale_of(q)
        allowed_codes = {p.code for p in scale.points}
        ints: list[Any] = []
        for i, v in enumerate(values):
            code = _as_int(v)
            if v and (code is None or code not in allowed_codes):
                out.add(
                    "answer_not_in_codebook",
                    f"{v!r} is not a point of the scale of {q.id} "
                    f"(allowed: {', '.join(str(c) for c in sorted(allowed_codes))})",
                    int(rows[i]),
                    col,
                )
                code = None
            ints.append(code)
        return {q.id: pd.array(ints, dtype="Int64")}
    if isinstance(q, Numeric | MonthsSince):
        integer = isinstance(q, MonthsSince) or q.integer
        lo = 0.0 if isinstance(q, MonthsSince) else q.minimum
        hi = q.maximum
        nums = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            if not v:
                continue
            try:
                x = float(v.replace(",", ""))
            except ValueError:
                out.add("not_a_number", f"{v!r} is not a number", int(rows[i]), col)
                continue
            if not math.isfinite(x):
                out.add("not_a_number", f"{v!r} is not a finite number", int(rows[i]), col)
                continue
            if integer and not x.is_integer():
                out.add("not_a_whole_number", f"{v!r} must be a whole number", int(rows[i]), col)
                continue
            if (lo is not None and x < lo) or (hi is not None and x > hi):
                out.add("out_of_range", f"{v!r} is outside [{_fmt(lo)}, {_fmt(hi)}]", int(rows[i]), col)
                continue
            nums[i] = x
        return {q.id: nums}
    if isinstance(q, DateQuestion):
        dates: list[Any] = []
        for i, v in enumerate(values):
            d = None
            if v:
                try:
                    d = dt.datetime.strptime(v, q.format).date()
                except ValueError:
                    out.add("invalid_date", f"{v!r} is not a date in the format {q.format}", int(rows[i]), col)
                else:
                    if (q.earliest and d < q.earliest) or (q.latest and d > q.latest):
                        out.add("out_of_range", f"{v} is outside [{q.earliest}, {q.latest}]", int(rows[i]), col)
                        d = None
            dates.append(d)
        return {q.id: pd.to_datetime(pd.Series(dates, dtype="object")).astype("datetime64[ns]").to_numpy()}
    raise TypeError(f"unhandled question type {type(q).__name__}")  # pragma: no cover


def _parse_multiple(
    q: MultipleChoice, raw: Callable[[str], list[str]], rows: np.ndarray, out: _Collector
) -> dict[str, Any]:
    n = len(rows)
    chosen = np.zeros((n, len(q.options)), dtype=bool)
    answered = np.zeros(n, dtype=bool)
    if q.format == "delimited":
        index = {o.code: j for j, o in enumerate(q.options)}
        for i, v in enumerate(raw(q.source_column)):
            if not v:
                continue
            answered[i] = True
            for token in (t.strip() for t in v.split(q.delimiter)):
                if not token:
                    continue
                if token not in index:
                    out.add(
                        "answer_not_in_codebook",
                        f"{token!r} is not a code of {q.id} (allowed: {', '.join(o.code for o in q.options)})",
                        int(rows[i]),
                        q.source_column,
                    )
                    continue
                chosen[i, index[token]] = True
    else:
        for j, o in enumerate(q.options):
            col = q.option_column(o)
            for i, v in enumerate(raw(col)):
                if not v:
                    continue
                low = v.lower()
                if low in _TRUE:
                    chosen[i, j] = True
                elif low not in _FALSE:
                    out.add("answer_not_in_codebook", f"{v!r} is not 1/0 (selected or not)", int(rows[i]), col)
                    continue
                answered[i] = True
    result = {}
    for j, o in enumerate(q.options):
        arr = pd.array(chosen[:, j], dtype="boolean")
        arr[~answered] = pd.NA
        result[option_column(q.id, o.code)] = arr
    return result


def _check_routing(codebook: Codebook, frame: pd.DataFrame, rows: np.ndarray, out: _Collector) -> None:
    for q in codebook.questions:
        if isinstance(q, MultipleChoice):
            cols = [option_column(q.id, o.code) for o in q.options]
            answered = frame[cols].notna().any(axis=1).to_numpy()
            selected = frame[cols].fillna(False).astype(bool).any(axis=1).to_numpy()
        else:
            answered = frame[q.id].notna().to_numpy()
            selected = answered
        if q.asked_if is not None:
            asked = frame[q.asked_if.question].isin(q.asked_if.values).fillna(False).to_numpy(dtype=bool)
            cond = f"{q.asked_if.question} in {q.asked_if.values}"
            for i in np.flatnonzero(~asked & selected):
                out.add(
                    "answered_but_not_asked", f"answered although only asked when {cond}", int(rows[i]), q.source_column
                )
            if isinstance(q, MultipleChoice):  # all-zero option columns where not asked mean "not asked"
                for c in cols:
                    frame.loc[~asked, c] = pd.NA
        else:
            asked = np.ones(len(frame), dtype=bool)
        if q.required:
            for i in np.flatnonzero(asked & ~answered):
                out.add("required_answer_missing", f"{q.id} is required but blank", int(rows[i]), q.source_column)


def _derive(d: Any, frame: pd.DataFrame, rows: np.ndarray, out: _Collector) -> Any:
    if isinstance(d, BandDerived):
        values = pd.to_numeric(frame[d.source], errors="coerce").to_numpy(dtype=float)
        mins = np.array([b.min for b in d.bands])
        idx = np.searchsorted(mins, values, side="right") - 1
        codes: list[Any] = []
        for i, (x, k) in enumerate(zip(values, idx, strict=True)):
            if np.isnan(x):
                codes.append(None)
            elif k < 0:
                out.add(
                    "outside_bands",
                    f"{d.source} = {_fmt(x)} is below the first band of {d.id} ({_fmt(mins[0])})",
                    int(rows[i]),
                    d.source,
                )
                codes.append(None)
            else:
                codes.append(d.bands[k].code)
        return pd.array(codes, dtype="string")
    if isinstance(d, MonthsSinceDate):
        src = pd.to_datetime(frame[d.source])
        ref = (
            pd.Series(pd.Timestamp(d.reference_date), index=frame.index)
            if d.reference_date
            else pd.to_datetime(frame[d.reference_question])
        )
        months = (ref.dt.year - src.dt.year) * 12 + (ref.dt.month - src.dt.month) - (ref.dt.day < src.dt.day)
        result = np.asarray(months.astype("float").to_numpy(), dtype=float)
        for j in np.flatnonzero(result < 0):
            out.add("out_of_range", f"{d.source} is after the reference date of {d.id}", int(rows[j]), d.source)
            result[j] = np.nan
        return result
    raise TypeError(f"unhandled derived type {type(d).__name__}")  # pragma: no cover


def _as_int(text: str) -> int | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return int(x) if x.is_integer() else None


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
