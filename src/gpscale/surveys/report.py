"""Build a survey report: tidy tables (CSV and Parquet) and a self-contained HTML section with charts.

:func:`build_survey_report` validates the codebook and responses, runs the analyses the codebook's
``analysis`` section asks for (collaboration, staff, or a generic summary of every question), writes each
table as ``<survey id>_<table>.csv`` and ``.parquet``, and writes ``<survey id>_report.html``. Every table
and chart was suppressed before it was written or drawn (see :mod:`gpscale.disclosure`); respondent-level
data are never written.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from gpscale.bundle import write_bundle
from gpscale.disclosure import SURVEY_MIN_RESPONDENTS, TOTAL, TableSpec, disclose, survey_rule
from gpscale.surveys.analyses import ResultTable, question_summaries
from gpscale.surveys.codebook import Codebook, CollaborationAnalysis, StaffAnalysis
from gpscale.surveys.collaboration import analyse_collaboration
from gpscale.surveys.errors import SurveyIssue
from gpscale.surveys.responses import SurveyData, load_survey
from gpscale.surveys.staff import analyse_staff

_PCT = {
    "share",
    "lower",
    "upper",
    "share_positive",
    "share_lower",
    "share_upper",
    "practice_share",
    "commissioner_share",
    "share_rest",
    "practice_share_positive",
    "organisation_share_positive",
}
_INT = {"n", "n_selected", "n_positive", "n_rest", "band_n", "rank"}
_P = {"p_value", "q_value"}
_HEADERS = {
    "n": "n",
    "n_selected": "n citing",
    "n_positive": "n positive",
    "share": "%",
    "lower": "lower",
    "upper": "upper",
    "share_positive": "% positive",
    "share_lower": "lower",
    "share_upper": "upper",
    "mean_score": "mean score",
    "mean_lower": "lower",
    "mean_upper": "upper",
    "q_value": "q",
    "p_value": "p",
    "n_rest": "n (rest)",
    "share_rest": "% positive (rest)",
    "difference": "difference",
    "measure_label": "measure",
    "form_label": "form",
    "reason_label": "reason",
    "option_label": "option",
    "achievement_label": "achievement",
    "band_label": "months since forming",
    "role_label": "role",
    "group_label": "group",
    "site_label": "site",
    "question_text": "item",
    "variable_label": "item or domain",
    "domain_label": "domain",
    "respondent_type_label": "respondent type",
    "practice_mean": "practice",
    "organisation_mean": "wider organisation",
    "difference_mean": "difference",
    "difference_lower": "lower",
    "difference_upper": "upper",
    "practice_share": "% practices",
    "commissioner_share": "% commissioners",
    "meets_min_share": "listed",
    "suppression": "hidden",
    "level": "breakdown",
}


@dataclass
class SurveyReport:
    """What :func:`build_survey_report` produced."""

    codebook: Codebook
    data_source: str
    n_respondents: int
    weighted: bool
    confidence: float
    tables: dict[str, ResultTable]
    files: list[Path] = field(default_factory=list)
    html_path: Path | None = None
    html_section: str = ""
    warnings: list[SurveyIssue] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.codebook.analysis.kind

    def table(self, name: str) -> pd.DataFrame:
        """A published (already suppressed) table by name."""
        return self.tables[name].frame


def analyse(data: SurveyData, confidence: float = 0.95, min_share: float | None = None) -> list[ResultTable]:
    """Every table for ``data``: the kind-specific analyses plus a summary of each question."""
    a = data.codebook.analysis
    tables: list[ResultTable] = []
    if isinstance(a, CollaborationAnalysis):
        tables.extend(analyse_collaboration(data, confidence, min_share))
    elif isinstance(a, StaffAnalysis):
        tables.extend(analyse_staff(data, confidence))
    summary, plans = question_summaries(data, confidence)
    tables.append(
        ResultTable(
            name="questions",
            title="Every question, overall",
            frame=summary,
            description="Share choosing each answer (choice and scale questions) and mean, quartiles "
            "(numeric questions), over the respondents answering each question.",
            method="see the method column",
            confidence=confidence,
            rule=survey_rule(),
            plans=tuple(plans),
        )
    )
    tables.append(_suppression_summary(tables))
    return tables


def _suppression_summary(tables: Sequence[ResultTable]) -> ResultTable:
    rows = []
    for t in tables:
        if not t.plans:
            continue
        cells = sum(len(p.cells) for p in t.plans)
        rows.append(
            {
                "table": t.name,
                "cells": cells,
                "hidden_primary": sum(p.n_primary for p in t.plans),
                "hidden_complementary": sum(p.n_complementary for p in t.plans),
                "subtraction_audit": t.audit,
            }
        )
    frame = pd.DataFrame(
        rows, columns=["table", "cells", "hidden_primary", "hidden_complementary", "subtraction_audit"]
    )
    frame["suppression_rule"] = survey_rule()
    return ResultTable(
        name="suppression",
        title="Disclosure control",
        frame=frame,
        description=f"Cells hidden because fewer than {SURVEY_MIN_RESPONDENTS} respondents answered "
        "(primary) and further cells hidden so none of those can be worked out by subtraction "
        "(complementary); the audit checks that no hidden cell is a sum or difference of published cells.",
        method="primary and complementary cell suppression with a linear-algebra subtraction audit",
        confidence=None,
        rule=survey_rule(),
    )


def build_survey_report(
    codebook_path: Path | str,
    responses_path: Path | str,
    out_dir: Path | str,
    confidence: float = 0.95,
    min_share: float | None = None,
) -> SurveyReport:
    """Validate, analyse, and write tables and the HTML report into ``out_dir``.

    Raises :class:`~gpscale.surveys.errors.SurveyValidationError` on invalid input (nothing is written).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    data = load_survey(codebook_path, responses_path)
    tables = analyse(data, confidence, min_share)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sid = data.codebook.id
    files = _write_bundle(sid, tables, out, data.codebook.title)
    report = SurveyReport(
        codebook=data.codebook,
        data_source=data.source,
        n_respondents=data.n_respondents,
        weighted=data.weighted,
        confidence=confidence,
        tables={t.name: t for t in tables},
        files=files,
        warnings=list(data.warnings),
    )
    report.html_section = render_section(report)
    page = (
        _env()
        .get_template("survey_page.html.j2")
        .render(
            title=data.codebook.title,
            codebook=str(codebook_path),
            responses=str(responses_path),
            section=report.html_section,
        )
    )
    html_path = out / f"{sid}_report.html"
    html_path.write_text(page, encoding="utf-8")
    report.html_path = html_path
    report.files.append(html_path)
    return report


def _write_bundle(sid: str, tables: Sequence[ResultTable], out: Path, title: str) -> list[Path]:
    """Write the tables as a disclosed results bundle (``<survey>_<table>`` Parquet and CSV, manifest).

    The tables were suppressed by their plans already; the gate checks the base of every row again
    (fewer than 10 respondents hidden) and records it, and the dashboard and reports accept the folder.
    """
    frames = {f"{sid}_{t.name}": t.frame for t in tables}
    specs = {}
    for name, frame in frames.items():
        numeric = [c for c in frame.columns if c != "n" and pd.api.types.is_numeric_dtype(frame[c])
                   and not pd.api.types.is_bool_dtype(frame[c])]
        specs[name] = TableSpec(name, f"{title}: {name[len(sid) + 1:].replace('_', ' ')}", tuple(frame.columns), (),
                                counts=("n",) if "n" in frame.columns else (), protect=tuple(numeric),
                                threshold=SURVEY_MIN_RESPONDENTS)
    gated = disclose(frames, specs, value_types={}, members=pd.DataFrame(columns=["group_id", "practice_code",
                                                                                  "period"]))
    return write_bundle(gated, out, meta={"survey_id": sid, "title": title, "kind": "survey"})


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("gpscale.surveys", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
    )


# ---------------------------------------------------------------------------------------------- HTML


def _fmt(col: str, value: Any) -> tuple[str, bool]:
    """Display text of a cell and whether it is numeric (right-aligned)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "", False
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False
    if col in _PCT or (col in {"difference"} and abs(float(value)) <= 1.0 and not col.endswith("mean")):
        return f"{float(value) * 100:.1f}", True
    if col in _INT:
        return f"{int(value):,}", True
    if col in _P:
        return f"{float(value):.3g}", True
    if isinstance(value, float | np.floating):
        v = float(value)
        return (f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}"), True
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", True
    return str(value), False


def table_html(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """An HTML table of ``columns``; hidden rows are greyed and say why."""
    cols = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{html.escape(_HEADERS.get(c, c))}</th>" for c in cols)
    body = []
    for _, row in frame.iterrows():
        hidden = bool(row.get("suppressed", False))
        cells = []
        for c in cols:
            text, numeric = _fmt(c, row[c])
            if c == "suppression":
                text = _hidden_reason(str(row[c])) if hidden else ""
            cls = ' class="num"' if numeric else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        row_class = ' class="hidden-cell"' if hidden else ""
        body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    return f'<table class="survey-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _hidden_reason(reason: str) -> str:
    if reason == "primary":
        return f"hidden: fewer than {SURVEY_MIN_RESPONDENTS} respondents"
    if reason == "complementary":
        return "hidden: protects another hidden cell"
    return "hidden"


def table1_html(frame: pd.DataFrame) -> str:
    """Table 1 as the study laid it out: one column per maturity band, achievements listed under each."""
    bands = list(dict.fromkeys(frame["band"].tolist()))
    columns = []
    for b in bands:
        part = frame[frame["band"] == b]
        label = str(part["band_label"].iloc[0])
        if bool(part["suppressed"].iloc[0]):
            head = f"{label} (hidden: fewer than {SURVEY_MIN_RESPONDENTS} or protecting a hidden band)"
            items: list[str] = []
        else:
            head = f"{label} (n = {int(part['band_n'].iloc[0]):,})"
            items = [
                f"{r.achievement_label}: {int(r.n):,} ({float(r.share) * 100:.0f}%)"
                for r in part.itertuples(index=False)
            ]
        columns.append((head, items))
    depth = max((len(items) for _, items in columns), default=0)
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in columns)
    body = []
    for i in range(depth):
        body.append(
            "<tr>"
            + "".join(f"<td>{html.escape(items[i]) if i < len(items) else ''}</td>" for _, items in columns)
            + "</tr>"
        )
    if depth == 0:
        body.append("<tr>" + "".join("<td>none listed</td>" for _ in columns) + "</tr>")
    return f'<table class="survey-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


@dataclass
class _Block:
    name: str
    title: str
    description: str
    method: str
    confidence: str
    rule: str
    hidden_note: str
    file: str
    svgs: list[str]
    table_html: str
    rows: int
    collapsed: bool


def _notes(t: ResultTable, shown: pd.DataFrame | None = None) -> list[str]:
    """Chart subtitle: method, confidence, rule, and how many of the cells the chart covers are hidden."""
    from gpscale.surveys import charts

    frame = t.frame if shown is None else shown
    hidden = 0
    if "suppressed" in frame.columns:
        rows = frame[frame["suppressed"].astype(bool)]
        keys = [
            c
            for c in frame.columns
            if c in {"level", "question", "domain", "measure"}
            or (f"{c}_label" in frame.columns and c not in _OPTION_COLUMNS)
        ]
        hidden = len(rows[keys].drop_duplicates()) if keys else int(len(rows) > 0)
    return charts.footnote(t.method, t.confidence, t.rule, hidden)


_OPTION_COLUMNS = {"point", "option", "achievement", "reason", "measure"}


def _hidden_note(t: ResultTable) -> str:
    if not t.plans:
        return ""
    prim = sum(p.n_primary for p in t.plans)
    comp = sum(p.n_complementary for p in t.plans)
    if prim + comp == 0:
        return "No cells hidden."
    return (
        f"Cells hidden: {prim} with fewer than {SURVEY_MIN_RESPONDENTS} respondents, {comp} more to "
        f"prevent recovery by subtraction (audit: {t.audit})."
    )


def _scale_name(cb: Codebook, qid: str) -> str:
    """The name a Likert question's scale has under ``scales`` (or "scale" for an inline one)."""
    q = cb.question(qid)
    return q.scale if isinstance(q.scale, str) else "scale"


def _charts_for(report: SurveyReport, t: ResultTable) -> list[str]:
    from gpscale.surveys import charts

    cb = report.codebook
    a = cb.analysis
    f = t.frame
    found: list[str | None] = []
    if t.name == "share_collaborating":
        found.append(charts.share_bars(f, "measure_label", t.title, _notes(t)))
    elif t.name == "forms":
        found.append(charts.share_bars(f, "form_label", t.title, _notes(t)))
    elif t.name == "reasons":
        found.append(charts.share_bars(f, "reason_label", t.title, _notes(t)))
    elif t.name == "support_needed" and isinstance(a, CollaborationAnalysis):
        part = f[f[a.respondent_type] != TOTAL]
        found.append(
            charts.share_bars(part, "option_label", t.title, _notes(t, part), colour=f"{a.respondent_type}_label")
        )
    elif t.name == "likert" and isinstance(a, CollaborationAnalysis):
        row = f"{a.maturity_band}_label" if a.maturity_band else "question_text"
        for _qid, part in f.groupby("question", sort=False):
            found.append(
                charts.diverging_bars(
                    part, row, str(part["question_text"].iloc[0]), _notes(t, part), row_title="months since forming"
                )
            )
    elif t.name == "likert_by_role" and isinstance(a, StaffAnalysis):
        overall = f[f[a.role] == TOTAL]
        scale_of = {q: _scale_name(cb, q) for q in overall["question"].unique()}
        for scale_name, part in overall.groupby(overall["question"].map(scale_of), sort=False):
            found.append(
                charts.diverging_bars(part, "question_text", f"All staff: {scale_name} items", _notes(t, part))
            )
        roles = [TOTAL, *[o.display for o in cb.categories(a.role)]]
        for qid in list(dict.fromkeys(f["question"]))[:1]:
            part = f[f["question"] == qid]
            found.append(
                charts.diverging_bars(
                    part,
                    f"{a.role}_label",
                    f"By role: {part['question_text'].iloc[0]}",
                    _notes(t, part),
                    row_order=roles,
                )
            )
    elif t.name == "domains" and isinstance(a, StaffAnalysis):
        part = f[f["level"].isin([TOTAL, a.role])]
        roles = [TOTAL, *[o.display for o in cb.categories(a.role)]]
        found.append(
            charts.share_by_role(
                part,
                f"{a.role}_label",
                "domain_label",
                "Satisfaction and engagement by role: % positive",
                _notes(t, part),
                sort=roles,
            )
        )
    return [c for c in found if c is not None]


_DISPLAY: dict[str, list[str]] = {
    "share_collaborating": ["measure_label", "n", "n_selected", "share", "lower", "upper", "suppression"],
    "forms": ["form_label", "n", "n_selected", "share", "lower", "upper", "suppression"],
    "population_by_form": ["measure", "form_label", "n", "mean", "lower", "upper", "q1", "median", "q3", "suppression"],
    "same_commissioner": ["form_label", "n", "n_selected", "share", "lower", "upper", "suppression"],
    "reasons": ["rank", "reason_label", "n", "n_selected", "share", "lower", "upper", "suppression"],
    "achievements_by_band": [
        "band_label",
        "achievement_label",
        "n",
        "n_selected",
        "share",
        "lower",
        "upper",
        "meets_min_share",
        "suppression",
    ],
    "support_difference": [
        "option_label",
        "practice_share",
        "commissioner_share",
        "difference",
        "lower",
        "upper",
        "q_value",
        "significant",
    ],
    "items_by_role": [
        "question_text",
        "role_label",
        "n",
        "share_positive",
        "share_lower",
        "share_upper",
        "mean_score",
        "mean_lower",
        "mean_upper",
        "suppression",
    ],
    "role_comparisons": [
        "variable_label",
        "role_label",
        "n",
        "share_positive",
        "n_rest",
        "share_rest",
        "difference",
        "lower",
        "upper",
        "q_value",
        "direction",
    ],
    "respondents": ["level", "group_label", "site_label", "role_label", "n", "suppression"],
    "suppression": ["table", "cells", "hidden_primary", "hidden_complementary", "subtraction_audit"],
    "questions": ["question_text", "statistic", "option_label", "n", "value", "lower", "upper", "suppression"],
}
_COLLAPSED = {
    "achievements_by_band",
    "respondents",
    "questions",
    "likert",
    "likert_by_role",
    "domains",
    "role_comparisons",
    "population_by_form",
    "support_needed",
    "items_by_role",
}


def _display_columns(report: SurveyReport, t: ResultTable) -> list[str]:
    a = report.codebook.analysis
    if t.name in _DISPLAY:
        return _DISPLAY[t.name]
    if t.name == "support_needed" and isinstance(a, CollaborationAnalysis):
        return [
            f"{a.respondent_type}_label",
            "option_label",
            "n",
            "n_selected",
            "share",
            "lower",
            "upper",
            "suppression",
        ]
    if t.name in ("likert", "likert_by_role"):
        lead = [c for c in t.frame.columns if c.endswith("_label") and c != "point_label"]
        return ["question_text", *lead, "n", "point_label", "share", "lower", "upper", "suppression"]
    if t.name == "domains":
        lead = [c for c in t.frame.columns if c.endswith("_label") and c != "domain_label"]
        return [
            "domain_label",
            "level",
            *lead,
            "n",
            "mean_score",
            "mean_lower",
            "mean_upper",
            "share_positive",
            "share_lower",
            "share_upper",
            "suppression",
        ]
    if t.name == "engagement":
        lead = [c for c in t.frame.columns if c.endswith("_label")]
        return [
            "level",
            *lead,
            "n",
            "practice_mean",
            "organisation_mean",
            "difference_mean",
            "difference_lower",
            "difference_upper",
            "suppression",
        ]
    return [c for c in t.frame.columns if c not in {"method", "confidence", "suppression_rule", "suppressed"}]


def render_section(report: SurveyReport) -> str:
    """The report's HTML section (a ``<section>`` element, no ``<html>`` wrapper) for embedding."""
    blocks = []
    renderers: dict[str, Callable[[pd.DataFrame], str]] = {"table1": table1_html}
    for t in report.tables.values():
        svgs = _charts_for(report, t)
        renderer = renderers.get(t.name)
        body = renderer(t.frame) if renderer else table_html(t.frame, _display_columns(report, t))
        blocks.append(
            _Block(
                name=t.name,
                title=t.title,
                description=t.description,
                method=t.method,
                confidence=f"{t.confidence:.0%}" if t.confidence is not None else "",
                rule=t.rule,
                hidden_note=_hidden_note(t),
                file=f"{report.codebook.id}_{t.name}.csv",
                svgs=svgs,
                table_html=body,
                rows=len(t.frame),
                collapsed=t.name in _COLLAPSED,
            )
        )
    return (
        _env()
        .get_template("survey_section.html.j2")
        .render(
            survey_id=report.codebook.id,
            title=report.codebook.title,
            n_respondents=f"{report.n_respondents:,}",
            weighted=report.weighted,
            confidence_pct=f"{report.confidence:.0%}",
            rule_sentence=f"Disclosure control: {survey_rule()}.",
            blocks=blocks,
        )
    )
