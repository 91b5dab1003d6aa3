"""Static reports: a group's board pack and the national report, as self-contained HTML and PDF.

A board pack opens with a one-page summary (what is better or worse than England, what is improving or
worsening), then the scorecard, the spine chart, trends, member funnels and SPC charts, each chart with
one sentence; method and disclosure notes appear once per section, and full tables (members, every row
behind a chart) go to the appendix or the CSV/Excel download, not the body. The HTML carries its CSS and
its charts (inline SVG) and loads nothing from the network; the PDF is rendered from the same HTML by
WeasyPrint. Both writers accept only a disclosed results bundle (:func:`gpscale.bundle.require_bundle`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader

from gpscale import __version__
from gpscale.bundle import Bundle, require_bundle
from gpscale.charts import palette, svg
from gpscale.domain.comparisons import DEFAULT_COMPARISON, SENTENCES
from gpscale.report import sections as S
from gpscale.report.calibration import calibration_section, placebo_sentence, size_sentence
from gpscale.report.data import ENGLAND_ID, ResultsData
from gpscale.report.events import group_events_sections, national_events_sections
from gpscale.report.html import Col, legend_html, table_html
from gpscale.report.pack_tables import APPENDIX_ROWS, DOWNLOADS, convergence_html, members_html, methods_sentence
from gpscale.report.scheme_pack import scheme_sections


@dataclass
class Block:
    """One item in a section: a chart (SVG + one sentence), an HTML table, a "not computed" note, or HTML."""

    kind: str  # chart | table | missing | html
    html: str = ""
    caption: str = ""


@dataclass
class Section:
    id: str
    title: str
    intro: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    grid: bool = False  # lay charts out two to a row
    page_break: bool = True


def _chart(c: S.Chart, sentence: str | None = None) -> Block:
    if not c.svg:
        return Block("missing", caption=f"{c.title}: {c.caption}")
    return Block("chart", c.svg, sentence if sentence is not None else c.caption)


def _table(frame: pd.DataFrame, cols: list[Col], caption: str, max_rows: int | None = None,
           empty: str = "no rows") -> Block:
    return Block("table", table_html(frame, cols, caption, max_rows=max_rows, empty=empty))


def _eval_block(t: S.Table, max_rows: int = 40) -> Block:
    if t.missing:
        return Block("missing", caption=f"{t.title}: {t.missing}")
    cols = [Col(c, c.replace("_", " "), "num" if pd.api.types.is_float_dtype(t.frame[c]) else "text")
            for c in t.frame.columns]
    return _table(t.frame, cols, f"{t.title} ({t.caption})", max_rows=max_rows)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("gpscale.report", "templates"), autoescape=True)
    env.filters["fmt"] = lambda v, d=2: svg.fmt(v, d)
    return env


def _css() -> str:
    return (resources.files("gpscale.web") / "static" / "gpscale.css").read_text(encoding="utf-8") + palette.css()


def _rug_html(data: ResultsData, group_id: str, conf: float, years: S.GroupYears) -> str:
    periods, grid = S.rug(data, group_id, conf, years)
    periods = periods[-8:]  # the latest eight years fit a page; the download has every year
    for row in grid:
        row["cells"] = row["cells"][-8:]
    return _env().get_template("_rug.html.j2").render(periods=periods, grid=grid, pct=S.pct(conf), view=data.view)


def group_sections(data: ResultsData, group_id: str, conf: float = 0.95) -> list[Section]:
    """The board pack of one group, section by section: summary first, full tables in the appendix."""
    if group_id not in data.group_ids:
        raise KeyError(f"no group {group_id!r} in the results")
    name = data.group_name(group_id)
    rows = data.group_rows(group_id)
    trends = S.latest_trends(data, group_id, conf)
    prof = S.group_profile(data, group_id)
    facts, info = prof["facts"], prof["info"]
    years = S.group_years(data, group_id, conf)
    summary = S.group_summary(data, group_id, conf, years, trends)
    lines = [f"{info['kind_label'].capitalize()} with {facts['current_members']} member practices now "
             f"({facts['ever_members']} ever); membership view {data.view}; data version {data.data_version}."]
    if facts.get("commissioners") is not None:
        lines.append(f"Its current members span {facts['commissioners']} commissioners and {facts['icbs']} ICBs.")
    summary_html = _env().get_template("_summary.html.j2").render(s=summary, pct=S.pct(conf))
    out = [Section("summary", f"Summary: {name}", lines, [Block("html", summary_html)], page_break=False)]

    sec = Section("scorecard", "Scorecard against England", [SENTENCES[DEFAULT_COMPARISON], S.SIMILAR_NOTE])
    sec.blocks += [Block("html", legend_html()), Block("html", _rug_html(data, group_id, conf, years))]
    spine = S.spine_chart(data, group_id, conf, years)
    sec.blocks.append(_chart(spine, "Latest year of each indicator against England and the spread of all groups."))
    sec.intro.append(S.SPINE_NOTE)
    out.append(sec)

    sec = Section("trends", "Trends against England", [S.TREND_NOTE, methods_sentence(rows)], grid=True)
    for ind in data.indicators.values():
        if rows[(rows["indicator_id"] == ind.id) & (rows["period_type"] == "fy")].empty:
            continue
        chart = S.trend_chart(data, group_id, ind.id, conf, years, trends)
        t = trends.get(ind.id)
        sec.blocks.append(_chart(chart, f"Latest trend: {t['classification'] if t else 'not calculated'}."))
    out.append(sec)

    sec = Section("funnels", "Member practices: funnel plots (latest year)", [S.FUNNEL_NOTE], grid=True)
    outside_rows = []
    for ind in data.indicators.values():
        period = data.latest_fy(ind.id)
        if period is None:
            continue
        res = S.member_funnel(data, group_id, ind.id, period, conf)
        if res.table.missing:
            sec.blocks.append(Block("missing", caption=f"{ind.title}: {res.table.missing}"))
            continue
        n = len(res.outside)
        sec.blocks.append(_chart(res.chart, f"{n} member practice{'s' if n != 1 else ''} outside the {S.pct(conf)} "
                                 "limits" + (f"; {res.hidden} hidden by disclosure control." if res.hidden else ".")))
        outside_rows.append(res.outside.assign(indicator=ind.title))
    out.append(sec)

    monthly = [i for i in data.indicators.values() if i.is_monthly]
    if monthly:
        sec = Section("spc", f"Monthly indicators: SPC charts (latest {36} months)", [S.SPC_NOTE], grid=True)
        for ind in monthly:
            chart, tab = S.spc_chart(data, group_id, ind.id)
            flagged = 0 if tab.missing else int((tab.frame["rules"].astype(str) != "").sum())
            sec.blocks.append(_chart(chart, f"{flagged} month{'s' if flagged != 1 else ''} with a special-cause "
                                     "signal." if chart.svg else None))
        out.append(sec)

    sec = Section("appendix", "Appendix: tables", [
        f"Every number behind the charts, and the full member list, are in {DOWNLOADS}; this appendix keeps "
        f"the tables a board asks for, at most {APPENDIX_ROWS} rows each."])
    outside = pd.concat(outside_rows, ignore_index=True) if outside_rows else pd.DataFrame()
    sec.blocks.append(_table(outside, [Col("indicator", "indicator"), Col("practice_code", "ODS code"),
                                       Col("name", "practice"), Col("value", "value", "num"),
                                       Col("comparator", "compared with"),
                                       Col("comparison", "comparison", "comparison")],
                             f"Member practices outside the {S.pct(conf)} funnel limits (latest year)",
                             max_rows=APPENDIX_ROWS, empty="no member practice outside the limits"))
    sec.blocks.append(Block("html", members_html(prof["members"], name)))
    convergence, missing = convergence_html(data, group_id, conf)
    sec.blocks.append(Block("missing", caption=missing) if missing else Block("html", convergence))
    out.append(sec)
    out.extend(scheme_sections(data, group_id))  # issue 16: the group in each incentive scheme
    out.extend(group_events_sections(data, group_id))  # issue 15: the group's event studies
    return out


def national_sections(data: ResultsData, conf: float = 0.95) -> list[Section]:
    """The national report: England, every group, size against performance, funnels and SPC."""
    out: list[Section] = []
    t = S.england_overview(data, conf)
    cols = [Col("indicator", "indicator"), Col("period", "latest year"), Col("england_value", "England", "num"),
            Col("lower", "lower", "num"), Col("upper", "upper", "num"), Col("unit", "unit"),
            Col("n_better", "groups better", "int"), Col("n_similar", "similar", "int"), Col("n_worse", "worse", "int"),
            Col("n_higher", "higher", "int"), Col("n_lower", "lower", "int"),
            Col("n_not_compared", "not compared", "int"), Col("n_suppressed", "hidden", "int")]
    blocks = [Block("html", legend_html()),
              Block("missing", caption=t.missing) if t.missing else _table(t.frame, cols, t.caption)]
    opening = [placebo_sentence(data, conf)]  # issue 14: how often random groups would be flagged
    out.append(Section("england", "England and the groups compared with it", [*opening, *t.notes], blocks,
                       page_break=False))
    sec = Section("england-trends", "England over time", [S.TREND_NOTE], grid=True)
    sec.blocks.extend(_chart(c) for c in S.england_trends(data))
    out.append(sec)

    sec = Section("size", "Is bigger better? Size against performance (latest year)",
                  [S.SIZE_NOTE, size_sentence(data, conf)], grid=True)
    for ind in data.indicators.values():
        if data.latest_fy(ind.id) is None:
            continue
        chart, _ = S.size_vs_performance(data, ind.id, None, conf)
        sec.blocks.append(_chart(chart))
    sec.blocks.append(_eval_block(S.evaluation_table(data, "size_effect", conf=conf, latest_only=True)))
    out.append(sec)

    sec = Section("funnels", "All groups: funnel plots (latest year)", [S.FUNNEL_NOTE, S.RANK_NOTE], grid=True)
    for ind in data.indicators.values():
        period = data.latest_fy(ind.id)
        if period is None:
            continue
        res = S.groups_funnel(data, ind.id, period, conf)
        n = len(res.outside)
        sec.blocks.append(_chart(res.chart, f"{n} group{'s' if n != 1 else ''} outside the {S.pct(conf)} limits."
                                 if res.chart.svg else None))
    out.append(sec)

    monthly = [i for i in data.indicators.values() if i.is_monthly]
    if monthly:
        sec = Section("spc", "England's monthly indicators: SPC charts", [S.SPC_NOTE], grid=True)
        sec.blocks.extend(_chart(S.spc_chart(data, ENGLAND_ID, i.id)[0]) for i in monthly)
        out.append(sec)

    g = S.groups_table(data, conf)
    gcols = [Col("name", "group"), Col("group_id", "ID"), Col("kind", "kind"), Col("practices", "practices", "int"),
             Col("better", "better", "int"), Col("similar", "similar", "int"), Col("worse", "worse", "int"),
             Col("suppressed", "hidden", "int"), Col("better_fdr", "better (FDR)", "int"),
             Col("worse_fdr", "worse (FDR)", "int")]
    named = g.frame[g.frame["kind"].astype(str) != "pcn"] if not g.missing else g.frame
    out.append(Section("groups", "Appendix: groups other than PCNs", [
        *g.notes, "Every group, PCNs included, is in the groups download."],
        [Block("missing", caption=g.missing) if g.missing else _table(named, gcols, g.caption, max_rows=120)]))
    out.append(calibration_section(data, conf))  # issue 14
    out.extend(national_events_sections(data))  # issue 15: did scaling up change quality?
    return out


def render_report(data: ResultsData, sections: list[Section], title: str, subtitle: str, conf: float) -> str:
    """The self-contained HTML document."""
    return _env().get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=sections, css=_css(), version=__version__,
        data_version=data.data_version, view=data.view, pct=S.pct(conf), count_rule=data.count_rule,
        survey_rule=data.survey_rule, generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        notes=[S.SIMILAR_NOTE, S.RANK_NOTE],
    )


def write_group_report(bundle: Bundle, group_id: str, out: Path, conf: float = 0.95, pdf: bool = False) -> list[Path]:
    """Write the group's board pack to ``out`` (HTML) and, with ``pdf``, next to it as PDF."""
    data = ResultsData(require_bundle(bundle, "write_group_report"))
    name = data.group_name(group_id)
    html = render_report(data, group_sections(data, group_id, conf), f"{name}: board pack",
                         f"{name} ({group_id}) against England", conf)
    return _write(html, out, pdf)


def write_national_report(bundle: Bundle, out: Path, conf: float = 0.95, pdf: bool = False) -> list[Path]:
    """Write the national report to ``out`` (HTML) and, with ``pdf``, next to it as PDF."""
    data = ResultsData(require_bundle(bundle, "write_national_report"))
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
