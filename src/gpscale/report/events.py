"""Did scaling up change quality? The event studies as the national report, board packs and the dashboard show them.

Read from the bundle only (:mod:`gpscale.evaluate.events` computes everything): ``event_domain`` says,
per event kind (or receiving group) and indicator domain, the estimated change with its interval or why
it cannot say; ``event_summary`` gives each indicator's study; ``event_study`` the year-by-year
estimates the charts draw. :func:`domain_view` and :func:`study_view` select the rows a page shows,
:func:`event_chart` draws one study, :func:`national_events_sections` and :func:`group_events_sections`
are the report sections. docs/methods/event-study.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from gpscale.charts.event_study import EventPoint, event_study
from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from gpscale.report.html import Col
from gpscale.report.pack_tables import APPENDIX_ROWS

if TYPE_CHECKING:
    from gpscale.report.board import Block, Section

TITLE = "Did scaling up change quality? Before and after joining, merging and takeover"
KIND_ENTITY = "event_kind"
GROUP_ENTITY = "group"
READ_NOTE = (
    "Each event kind (joining a PCN, a federation, a super-partnership, a multi-site provider or a network; a "
    "merger) is compared with similar practices that had not (yet) had it, year by year around the event "
    "(Callaway & Sant'Anna event studies with matched comparators). Per indicator domain, the estimate is the "
    "mean change over the domain's indicators on the log-ratio scale, turned so that above zero is better, "
    "with a conservative 95% interval; where the data cannot tell, the reason is given instead."
)
CHART_NOTE = (
    "In each chart the points are the change relative to comparators in each year around the event, with "
    "95% intervals; the shaded years before the event should lie near zero (if not, trends already differed), "
    "the hollow square is the reference year before the event (zero by definition). The vertical axis is the "
    "percentage change in the odds (for shares) or the rate (for rates and ratios) relative to comparators, "
    "drawn on a log scale so that a halving and a doubling are equally far from zero; each study's change in "
    "the indicator's own units is in the table."
)
#: At most this many charts per event kind (or receiving group) and indicator domain; the rest are listed.
CHARTS_PER_DOMAIN = 2

#: The columns of the per-domain table, in order.
DOMAIN_COLUMNS = [
    Col("event_label", "event"), Col("entity_name", "studied"), Col("domain", "domain"), Col("verdict", "verdict"),
    Col("estimate", "estimate", "num", digits=3), Col("lower", "lower", "num", digits=3),
    Col("upper", "upper", "num", digits=3), Col("n_averaged", "indicators averaged", "int"),
    Col("conclusion", "conclusion"),
]
#: The columns of the per-indicator table, in order.
STUDY_COLUMNS = [
    Col("event_kind", "event kind"), Col("entity_name", "studied"), Col("indicator", "indicator"),
    Col("status", "status"), Col("verdict", "verdict"), Col("estimate", "estimate", "num", digits=3),
    Col("lower", "lower", "num", digits=3), Col("upper", "upper", "num", digits=3), Col("scale", "scale"),
    Col("pretrend_p", "pre-trend p", "num", digits=3), Col("n_treated", "practices", "int"),
    Col("n_comparators", "comparators", "int"), Col("conclusion", "conclusion"),
]


def _where(entity_type: str, entity_id: str | None) -> tuple[str, list[str]]:
    if entity_id is None:
        return "entity_type = ?", [entity_type]
    return "entity_type = ? AND entity_id = ?", [entity_type, entity_id]


def domain_view(data: ResultsData, entity_type: str = KIND_ENTITY, entity_id: str | None = None) -> S.Table:
    """Per event kind (or one receiving group) and domain: the change with its interval, or why it cannot say."""
    where, params = _where(entity_type, entity_id)
    t = data.table("event_domain", where, params)
    if t is None:
        return S.Table("event_domain", TITLE, pd.DataFrame(), missing=S.not_computed("event_domain")
                       + " (run gpscale evaluate --analysis events)")
    t = t.reset_index(drop=True)
    caption = (f"Per event kind and indicator domain: the mean change over the domain's indicators relative to "
               f"comparators (mean log ratio, above 0 is better) with a conservative 95% interval; membership "
               f"view {data.view}")
    if t.empty:
        return S.Table("event_domain", TITLE, t, caption=caption, missing="no event studies for this selection")
    return S.Table("event_domain", TITLE, t, caption=caption, notes=[READ_NOTE])


def study_view(data: ResultsData, entity_type: str = KIND_ENTITY, entity_id: str | None = None) -> S.Table:
    """Each indicator's study (aggregate effect, pre-trend test, conclusion) for the entities selected."""
    where, params = _where(entity_type, entity_id)
    t = data.table("event_summary", where, params)
    if t is None:
        return S.Table("event_summary", TITLE, pd.DataFrame(), missing=S.not_computed("event_summary"))
    titles = {k: v.title for k, v in data.indicators.items()}
    t = t.assign(indicator=[titles.get(str(i), str(i)) for i in t["indicator_id"]])
    return S.Table("event_summary", TITLE, t.reset_index(drop=True),
                   caption=f"Each indicator's event study (95% intervals, link scale); membership view {data.view}")


def event_chart(data: ResultsData, entity_type: str, entity_id: str, event_kind: str, indicator_id: str) -> S.Chart:
    """The event-study chart of one entity, event kind and indicator (the bundle's ``event_study`` rows)."""
    ind = data.indicators.get(indicator_id)
    name = ind.title if ind is not None else indicator_id
    rows = data.table("event_study", "entity_type = ? AND entity_id = ? AND event_kind = ? AND indicator_id = ?",
                      [entity_type, entity_id, event_kind, indicator_id], order="event_time")
    if rows is None or rows.empty:
        return S.Chart(name, "", "no event-study estimates for this selection")
    who = str(rows["entity_name"].iloc[0])
    title = f"{name}: {who}"
    points = [EventPoint(int(r["event_time"]), r["estimate"], r["lower"], r["upper"], bool(r["reference"]),
                         r["n_treated"], r["n_comparators"]) for r in S.records(rows)]
    scale = str(rows["scale"].iloc[0])
    return S.Chart(title, event_study(points, title, scale), f"{title}. {scale} by year relative to the event.")


def drawn_studies(studies: pd.DataFrame, per_domain: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The estimated studies to chart and the rest: per entity, event kind and domain, the ``per_domain``
    with the most practices with the event (then by indicator id), so a page stays readable (``per_domain``
    defaults to :data:`CHARTS_PER_DOMAIN`)."""
    per_domain = CHARTS_PER_DOMAIN if per_domain is None else per_domain
    est = studies[studies["status"] == "estimated"]
    keys = ["entity_type", "entity_id", "event_kind", "domain"]
    ranked = est.sort_values([*keys, "n_treated", "indicator_id"], ascending=[True] * 4 + [False, True])
    first = ranked.groupby(keys, sort=False, dropna=False).cumcount() < per_domain
    return ranked[first], ranked[~first]


def _charts(data: ResultsData, studies: pd.DataFrame) -> tuple[list[Block], Block | None]:
    """Charts of the estimated studies :func:`drawn_studies` keeps (captioned with the conclusion), and a
    table of the estimated studies not drawn (None when every one is drawn)."""
    from gpscale.report.board import _chart, _table

    drawn, rest = drawn_studies(studies)
    charts = [_chart(event_chart(data, str(r["entity_type"]), str(r["entity_id"]), str(r["event_kind"]),
                                 str(r["indicator_id"])), str(r["conclusion"])) for r in drawn.to_dict("records")]
    if rest.empty:
        return charts, None
    brief = [c for c in STUDY_COLUMNS if c.key != "conclusion"]  # the charts' captions carry the sentences
    return charts, _table(rest, brief, f"{len(rest)} more estimated studies, not drawn: at most "
                          f"{CHARTS_PER_DOMAIN} charts per event kind and domain (those with the most practices "
                          "with the event); their conclusions and every year's estimates are in the event_study CSV "
                          "download", max_rows=APPENDIX_ROWS)


def _sections(data: ResultsData, view: S.Table, studies: S.Table, title: str) -> list[Section]:
    """The table section (each domain's change or why it cannot say), the charts of estimated studies (at
    most :data:`CHARTS_PER_DOMAIN` per event kind and domain) and a table of those not drawn."""
    from gpscale.report.board import Block, Section, _table  # board imports this module's sections

    if view.missing:
        return [Section("events", title, [READ_NOTE], [Block("missing", caption=f"{view.title}: {view.missing}")])]
    out = [Section("events", title, [READ_NOTE], [_table(view.frame, DOMAIN_COLUMNS, view.caption)])]
    charts, rest = ([], None) if studies.missing else _charts(data, studies.frame)
    if charts:
        out.append(Section("event-charts", f"{title}: event-study charts", [CHART_NOTE], charts, grid=True))
    if rest is not None:
        out.append(Section("event-studies-not-drawn", f"{title}: studies not drawn", [], [rest]))
    return out


def national_events_sections(data: ResultsData) -> list[Section]:
    """The national report's sections: per event kind, each domain's change or why it cannot say; charts."""
    return _sections(data, domain_view(data), study_view(data), TITLE)


def group_events_sections(data: ResultsData, group_id: str) -> list[Section]:
    """A board pack's sections for a group that received events (none for a group without event studies)."""
    view = domain_view(data, GROUP_ENTITY, group_id)
    if view.missing:
        return []
    name = data.group_name(group_id)
    return _sections(data, view, study_view(data, GROUP_ENTITY, group_id), f"Did joining {name} change quality?")
