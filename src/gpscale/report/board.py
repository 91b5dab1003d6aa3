"""Static reports: a group's board pack and the national report, as self-contained HTML and PDF.

The HTML carries its CSS and its charts (inline SVG) and loads nothing from the network, so it can be
emailed or archived and opened anywhere; the PDF is rendered from the same HTML by WeasyPrint. Every
chart and table states its method, confidence level, membership view and data period, followed by
plain-English reading notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from gpscale import __version__
from gpscale.report import sections as S
from gpscale.report.data import ENGLAND_ID, ResultsData
from gpscale.report.html import Col, legend_html, survey_columns, table_html


@dataclass
class Block:
    """One item in a section: a chart (SVG + caption), an HTML table, a heading or a "not computed" note."""

    kind: str  # chart | table | missing | text | heading
    html: str = ""
    caption: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Section:
    id: str
    title: str
    intro: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


def _chart(c: S.Chart) -> Block:
    if not c.svg:
        return Block("missing", caption=c.caption)
    return Block("chart", c.svg, c.caption, c.notes)


def _table(frame: pd.DataFrame, cols: list[Col], caption: str, max_rows: int | None = None,
           empty: str = "no rows") -> Block:
    return Block("table", table_html(frame, cols, caption, max_rows=max_rows, empty=empty))


def _eval_block(t: S.Table, max_rows: int = 200) -> Block:
    if t.missing:
        return Block("missing", caption=f"{t.title}: {t.missing}")
    cols = [Col(c, c.replace("_", " "), "num" if pd.api.types.is_float_dtype(t.frame[c]) else "text")
            for c in t.frame.columns]
    return _table(t.frame, cols, f"{t.title} (evaluation engine; {t.caption})", max_rows=max_rows)


def _rug_html(data: ResultsData, group_id: str, conf: float) -> str:
    periods, grid, _ = S.rug(data, group_id, conf)
    env = _env()
    return env.get_template("_rug.html.j2").render(periods=periods, grid=grid, pct=S.pct(conf), view=data.view)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("gpscale.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["fmt"] = lambda v, d=2: S.svg.fmt(v, d)
    return env


def _css() -> str:
    return (resources.files("gpscale.web") / "static" / "gpscale.css").read_text(encoding="utf-8")


OUTSIDE_COLS = [Col("practice_code", "ODS code"), Col("name", "practice"), Col("value", "value", "num"),
                Col("lower_95", "95% lower limit", "num"), Col("upper_95", "95% upper limit", "num"),
                Col("lower_998", "99.8% lower limit", "num"), Col("upper_998", "99.8% upper limit", "num"),
                Col("comparison", "comparison", "comparison")]


def group_sections(data: ResultsData, group_id: str, conf: float = 0.95) -> list[Section]:
    """The board pack of one group, section by section."""
    if group_id not in data.group_ids:
        raise KeyError(f"no group {group_id!r} in the results")
    name = data.group_name(group_id)
    prof = S.group_profile(data, group_id)
    out: list[Section] = []
    facts = prof["facts"]
    info = prof["info"]
    lines = [f"Kind: {info['kind_label']}."]
    if info.get("legal_form"):
        lines.append(f"Legal form: {info['legal_form']}.")
    if info.get("founded"):
        lines.append(f"Founded: {str(info['founded'])[:10]}.")
    lines.append(f"Member practices now: {facts['current_members']} ({facts['ever_members']} ever).")
    if facts.get("commissioners") is not None:
        lines.append(f"Commissioners spanned: {facts['commissioners']}; ICBs: {facts['icbs']}.")
    if facts.get("contract_mix"):
        lines.append("Contracts: " + ", ".join(f"{k} {v}" for k, v in facts["contract_mix"].items()) + ".")
    sec = Section("profile", "Group profile", [" ".join(lines)])
    mcols = [Col("practice_code", "ODS code"), Col("name", "practice"), Col("start_date", "joined"),
             Col("end_date", "left"), Col("commissioner", "commissioner"), Col("contract_type", "contract")]
    sec.blocks.append(_table(prof["members"], mcols, f"Member practices of {name}, current first (membership spells "
                             "from the store)", empty="membership not available (report built without --store)"))
    if not prof["size"].empty:
        sec.blocks.append(_table(prof["size"], [Col("period", "year"), Col("practices_with_data", "practices", "int")],
                                 f"Member practices contributing data each year (view {data.view})"))
    sec.blocks.append(_eval_block(S.evaluation_table(data, "profiles", group_id=group_id)))
    out.append(sec)

    sec = Section("scorecard", "Scorecard against England", [S.SIMILAR_NOTE])
    sec.blocks.append(Block("html", legend_html()))
    sec.blocks.append(Block("html", _rug_html(data, group_id, conf)))
    out.append(sec)

    spine, _ = S.spine_chart(data, group_id, conf)
    out.append(Section("spine", "Spine chart: the latest year", blocks=[_chart(spine)]))

    sec = Section("trends", "Trends against England", [S.TREND_NOTE])
    for ind in data.indicators.values():
        rows = data.group_rows(group_id)
        if rows[(rows["indicator_id"] == ind.id) & (rows["period_type"] == "fy")].empty:
            continue
        chart, _ = S.trend_chart(data, group_id, ind.id, conf)
        chart.notes = []
        sec.blocks.append(_chart(chart))
    sec.blocks.append(_eval_block(S.evaluation_table(data, "trends", group_id=group_id, conf=conf)))
    out.append(sec)

    sec = Section("funnels", "Member practices: funnel plots (latest year)", [S.FUNNEL_NOTE])
    for ind in data.indicators.values():
        period = data.latest_fy(ind.id)
        if period is None:
            continue
        res = S.member_funnel(data, group_id, ind.id, period, conf)
        if res.table.missing:
            sec.blocks.append(Block("missing", caption=f"{ind.title}: {res.table.missing}"))
            continue
        res.chart.notes = []
        sec.blocks.append(_chart(res.chart))
        sec.blocks.append(_table(res.outside, OUTSIDE_COLS, f"{ind.title}, {period}: member practices outside the "
                                 f"{S.pct(conf)} limits", empty="no member practice outside the limits"))
    sec.blocks.append(_eval_block(S.evaluation_table(data, "convergence", group_id=group_id, conf=conf)))
    sec.blocks.append(_eval_block(S.evaluation_table(data, "dispersion", group_id=group_id), max_rows=120))
    out.append(sec)

    out.extend(_spc_sections(data, group_id, "Monthly indicators"))
    out.extend(_survey_sections(data))
    return out


def _spc_sections(data: ResultsData, entity_id: str, heading: str) -> list[Section]:
    """XmR charts of an entity's monthly indicators, each with the points a special-cause rule flagged."""
    monthly = [i for i in data.indicators.values() if i.is_monthly]
    if not monthly:
        return []
    sec = Section("spc", f"{heading}: SPC charts (latest {S.SPC_MONTHS} months)", [S.SPC_NOTE])
    for ind in monthly:
        chart, tab = S.spc_chart(data, entity_id, ind.id)
        chart.notes = []
        sec.blocks.append(_chart(chart))
        if not tab.missing:
            flagged = tab.frame[tab.frame["rules"] != ""]
            sec.blocks.append(_table(flagged, [Col("period", "month"), Col("value", "value", "num"),
                                               Col("variation", "variation"), Col("rules", "rule that fired")],
                                     tab.caption, empty="no special-cause signals"))
    return [sec]


def national_sections(data: ResultsData, conf: float = 0.95) -> list[Section]:
    """The national report: England, every group, size against performance, funnels and SPC."""
    out: list[Section] = []
    t = S.england_overview(data, conf)
    cols = [Col("indicator", "indicator"), Col("period", "latest year"), Col("england_value", "England", "num"),
            Col("lower", "lower", "num"), Col("upper", "upper", "num"), Col("unit", "unit"),
            Col("n_better", "groups better", "int"), Col("n_similar", "similar", "int"), Col("n_worse", "worse", "int"),
            Col("n_higher", "higher", "int"), Col("n_lower", "lower", "int"),
            Col("n_not_compared", "not compared", "int"), Col("n_suppressed", "hidden", "int")]
    out.append(Section("england", "England and the groups compared with it", t.notes,
                       [Block("html", legend_html()), _table(t.frame, cols, t.caption)]))
    sec = Section("england-trends", "England over time", [S.TREND_NOTE])
    sec.blocks.extend(_chart(c) for c in S.england_trends(data))
    out.append(sec)

    sec = Section("size", "Is bigger better? Size against performance (latest year)", [S.SIZE_NOTE])
    for ind in data.indicators.values():
        if data.latest_fy(ind.id) is None:
            continue
        chart, _ = S.size_vs_performance(data, ind.id, None, conf)
        chart.notes = []
        sec.blocks.append(_chart(chart))
    sec.blocks.append(_eval_block(S.evaluation_table(data, "size_effect", conf=conf, latest_only=True)))
    sec.blocks.append(_eval_block(S.evaluation_table(data, "size_bands", conf=conf, latest_only=True)))
    sec.blocks.append(_eval_block(S.evaluation_table(data, "characteristics", conf=conf, latest_only=True)))
    out.append(sec)

    sec = Section("funnels", "All groups: funnel plots (latest year)", [S.FUNNEL_NOTE, S.RANK_NOTE])
    gcols = [Col("name", "group"), Col("group_id", "ID"), Col("value", "value", "num"),
             Col("lower_998", "99.8% lower limit", "num"), Col("upper_998", "99.8% upper limit", "num"),
             Col("comparison", "comparison", "comparison")]
    for ind in data.indicators.values():
        period = data.latest_fy(ind.id)
        if period is None:
            continue
        res = S.groups_funnel(data, ind.id, period, conf)
        sec.blocks.append(Block("chart", res.chart.svg, res.chart.caption))
        sec.blocks.append(_table(res.outside, gcols, f"{ind.title}, {period}: groups outside the {S.pct(conf)} limits",
                                 max_rows=60, empty="no group outside the limits"))
    out.append(sec)

    out.extend(_spc_sections(data, ENGLAND_ID, "England's monthly indicators"))

    g = S.groups_table(data, conf)
    gcols = [Col("name", "group"), Col("group_id", "ID"), Col("kind", "kind"), Col("practices", "practices", "int"),
             Col("better", "better", "int"), Col("similar", "similar", "int"), Col("worse", "worse", "int"),
             Col("higher", "higher", "int"), Col("lower", "lower", "int"), Col("not compared", "not compared", "int"),
             Col("suppressed", "hidden", "int"), Col("better_fdr", "better (FDR)", "int"),
             Col("worse_fdr", "worse (FDR)", "int")]
    out.append(Section("groups", "Table of groups", g.notes, [_table(g.frame, gcols, g.caption)]))
    out.extend(_survey_sections(data))
    return out


def _survey_sections(data: ResultsData) -> list[Section]:
    out = []
    for s in data.surveys:
        sec = Section(f"survey-{s.survey_id}", f"Survey: {s.survey_id}", [f"As published by gpscale survey report: "
                      f"{data.survey_rule}."])
        for name, frame in s.tables.items():
            sec.blocks.append(_table(frame, survey_columns(frame), f"{s.survey_id}: {name}", max_rows=80))
        out.append(sec)
    return out


def render_report(data: ResultsData, sections: list[Section], title: str, subtitle: str, conf: float) -> str:
    """The self-contained HTML document."""
    return _env().get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=sections, css=_css(), version=__version__,
        data_version=data.data_version, view=data.view, pct=S.pct(conf), count_rule=data.count_rule,
        survey_rule=data.survey_rule, generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        notes=[S.SIMILAR_NOTE, S.RANK_NOTE],
    )


def write_group_report(
    data: ResultsData, group_id: str, out: Path, conf: float = 0.95, pdf: bool = False
) -> list[Path]:
    """Write the group's board pack to ``out`` (HTML) and, with ``pdf``, next to it as PDF."""
    name = data.group_name(group_id)
    html = render_report(data, group_sections(data, group_id, conf), f"{name}: board pack",
                         f"{name} ({group_id}) against England", conf)
    return _write(html, out, pdf)


def write_national_report(data: ResultsData, out: Path, conf: float = 0.95, pdf: bool = False) -> list[Path]:
    html = render_report(data, national_sections(data, conf), "Large-scale general practice in England: national "
                         "report", f"{len(data.group_ids)} groups against England", conf)
    return _write(html, out, pdf)


def _write(html: str, out: Path, pdf: bool) -> list[Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    paths = [out]
    if pdf:
        paths.append(html_to_pdf(html, out.with_suffix(".pdf")))
    return paths


def html_to_pdf(html: str, out: Path) -> Path:
    """Render report HTML to PDF with WeasyPrint (no network: every resource is inline)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint's system libraries (pango) are missing
        raise RuntimeError(
            "PDF output needs WeasyPrint and its system libraries: pip install 'gpscale[pdf]' and, on Debian, "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0 ({exc})"
        ) from exc

    def no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
        raise ValueError(f"report tried to load {url}: reports must be self-contained")

    HTML(string=html, url_fetcher=no_fetch).write_pdf(str(out))
    return out
