"""The attacker's harvest: every count a results bundle's outputs publish, read as a reader reads them.

Written independently of :mod:`gpscale.disclosure`: the bundle's files (Parquet, CSV, the Excel workbook),
the dashboard served from it (every HTML page, CSV download and JSON API answer, for every group, practice,
indicator and year) and any HTML report are read back and every number labelled numerator, denominator
or effective respondents is filed under its unit (a practice or a group / England), indicator and period.
Values are read too (table cells and chart labels): a value with a denominator published for the same
cell anywhere gives the numerator (:func:`derive_numerators`).
"""

from __future__ import annotations

import math
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from gpscale.bundle import Bundle, open_bundle
from tests.unit.web.attack import Published, csv_frame

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gpscale.web.app import create_app

PERIOD = re.compile(r"^(FY\d{4}/\d{2}|\d{4}-\d{2})$")
COUNT_HEADERS = {"numerator": "numerator", "denominator": "denominator", "effective_n": "effective_n",
                 "effective respondents": "effective_n"}


class Context:
    """What a reader knows about the bundle: units, indicators (by id and title), periods, survey indicators."""

    def __init__(self, bundle: Bundle) -> None:
        defs = bundle.table("definitions")
        self.indicators = [str(i) for i in defs["indicator_id"]]
        self.titles = {str(r["title"]): str(r["indicator_id"]) for r in defs.to_dict("records")}
        self.mult = {str(r["indicator_id"]): float(r["multiplier"]) for r in defs.to_dict("records")}
        self.survey = {str(r["indicator_id"]) for r in defs.to_dict("records")
                       if r["value_type"] == "weighted_proportion"}
        self.groups = sorted(set(bundle.table("members")["group_id"].astype(str)))
        self.practices = sorted(set(bundle.table("practice_values")["practice_code"].astype(str)))
        card = bundle.table("scorecard")
        self.years = {i: sorted(set(card.loc[(card["indicator_id"] == i) & (card["period_type"] == "fy"),
                                             "period"].astype(str))) for i in self.indicators}
        self.england = sorted(set(card["entity_id"].astype(str)) - set(self.groups))
        names: dict[str, list[str]] = {}
        for table, col, kind in (("groups", "group_id", "G"), ("practices", "practice_code", "P")):
            for r in bundle.table(table).to_dict("records"):
                names.setdefault(str(r["name"]), []).append(f"{kind}:{r[col]}")
        self.names = {n: units[0] for n, units in names.items() if len(units) == 1}  # a unique name names a unit
        self.names["England"] = f"G:{self.england[0]}"

    def unit(self, text: str) -> str | None:
        t = text.strip()
        if t in self.practices:
            return f"P:{t}"
        if t in self.groups or t in self.england:
            return f"G:{t}"
        return None

    def indicator(self, text: str) -> str | None:
        t = text.strip()
        if t.endswith("…"):  # a chart label shortens a long title
            hits = [i for title, i in self.titles.items() if title.startswith(t[:-1])]
            return hits[0] if len(hits) == 1 else None
        return t if t in self.mult else self.titles.get(t)


def _num(text: object) -> float | None:
    if text is None:
        return None
    try:
        x = float(str(text).replace(",", "").replace("%", "").strip())
    except ValueError:
        return None
    return None if x != x else x


def _half_step(text: object) -> float:
    """Half the rounding step of a printed number ("5.96" -> 0.005; a full-precision float -> ~0)."""
    t = str(text).strip()
    if isinstance(text, float) or "." not in t or len(t.split(".")[1]) > 6:
        return 1e-9
    return 0.5 * 10.0 ** -len(t.split(".")[1].rstrip("%"))


def add_value(pub: Published, where: str, unit: str, indicator: str, period: str, text: object) -> None:
    """A published value (kept with its rounding) for :func:`derive_numerators`."""
    v = _num(text)
    if v is not None:
        pub.add(where, unit, indicator, period, "value", v)
        old = pub.values.get((indicator, period, unit))
        step = _half_step(text)
        if old is None or step < old[1]:
            pub.values[(indicator, period, unit)] = (v, step)


def derive_numerators(pub: Published, ctx: Context) -> None:
    """A value with a denominator published for the same cell (in any output) gives the numerator, when only
    one whole count fits the value's rounding (survey numerators are weighted, not whole: not derived)."""
    for (ind, per, unit), (v, half) in pub.values.items():
        den = pub.cells.get((ind, per, "denominator"), {}).get(unit)
        if ind in ctx.survey or den is None:
            continue
        lo, hi = (v - half) * den / ctx.mult[ind], (v + half) * den / ctx.mult[ind]
        whole = [n for n in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
        if len(whole) == 1:
            pub.add("derived: value x denominator", unit, ind, per, "numerator", float(whole[0]))


def add_rows(pub: Published, where: str, ctx: Context, rows: list[dict[str, object]], *, unit: str | None = None,
             indicator: str | None = None, period: str | None = None, funnel: bool = False) -> None:
    """File the counts of table rows: the unit, indicator and period from the row's own cells, else the page's.

    ``funnel``: a survey share's "denominator" there is Kish's effective sample size.
    """
    for r in rows:
        u = next((x for x in (ctx.unit(str(r[k])) for k in ("practice_code", "entity_id", "group_id", "id")
                              if r.get(k) is not None) if x), None)
        u = u or next((x for x in (ctx.unit(str(v)) for v in r.values() if v is not None) if x), None) or unit
        ind = next((x for x in (ctx.indicator(str(v)) for v in r.values() if v is not None) if x), None) or indicator
        per = next((str(v).strip() for v in r.values() if v is not None and PERIOD.match(str(v).strip())),
                   None) or period
        if u is None or ind is None or per is None:
            continue
        counts = {COUNT_HEADERS[str(k).strip().lower()]: _num(v) for k, v in r.items()
                  if str(k).strip().lower() in COUNT_HEADERS}
        if funnel and ind in ctx.survey and "denominator" in counts:
            counts["effective_n"] = counts.pop("denominator")
        for col, value in counts.items():
            pub.add(where, u, ind, per, col, value)
        if r.get("value") is not None and (counts or funnel):  # a model table's "value" is no indicator value
            add_value(pub, where, u, ind, per, r["value"])


def add_frame(pub: Published, where: str, ctx: Context, frame: pd.DataFrame | None, **kw: object) -> None:
    if frame is not None and not frame.empty:
        add_rows(pub, where, ctx, frame.astype(object).where(frame.notna(), None).to_dict("records"), **kw)  # type: ignore[arg-type]


class _Tables(HTMLParser):
    """Every ``<table>`` of a page as rows of {header: cell text}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[dict[str, object]]] = []
        self._headers: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False
        self.titles: list[str] = []
        self._title: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
            self._headers = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "title":
            self._title = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            if self._in_head or not self._headers:
                self._headers = self._row
            else:
                self.tables[-1].append(dict(zip(self._headers, self._row, strict=False)))
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "title" and self._title is not None:
            self.titles.append(" ".join("".join(self._title).split()))
            self._title = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._title is not None:
            self._title.append(data)


NUMBER = r"(-?[\d,]+(?:\.\d+)?)"
#: "Name (CODE): 8.51; similar" (a funnel point) and "Name, FY2023/24: 82.43 (78.13 to 86.53)" (a trend point)
CODED_POINT = re.compile(rf"^.*\((?P<code>[^()]+)\): {NUMBER}(;|$)")
NAMED_POINT = re.compile(rf"^(?P<name>.+), (?P<period>FY\d{{4}}/\d{{2}}|\d{{4}}-\d{{2}}): {NUMBER}( \(|$)")
#: "Indicator title… (2023/24): 5.96 (similar); England 7.17" (a spine or scorecard mark of the page's unit)
SPINE_POINT = re.compile(rf"^(?P<ind>.+) \((?P<year>\d{{4}}/\d{{2}})\): {NUMBER} \([^)]*\); England {NUMBER}$")
#: "Indicator title, FY2023/24: …" or "Indicator title: …" heading a chart: what its points are
CHART = re.compile(r"^(?P<ind>[^:]+?)(, (?P<period>FY\d{4}/\d{2}))?:")


def add_titles(pub: Published, where: str, ctx: Context, titles: list[str], unit: str | None,
               indicator: str | None, period: str | None) -> None:
    """Values in chart labels (SVG ``<title>``), each chart's indicator and year from the title heading it."""
    for t in titles:
        if (m := SPINE_POINT.match(t)) and unit and (ind := ctx.indicator(m["ind"])):
            per = f"FY{m['year']}"
            add_value(pub, where, unit, ind, per, m.group(3))
            add_value(pub, where, ctx.names["England"], ind, per, m.group(4))
            continue
        if (m := CHART.match(t)) and (ind := ctx.indicator(m["ind"])):
            indicator, period = ind, m["period"] or period
            continue
        if indicator is None:
            continue
        if (m := NAMED_POINT.match(t)) and (u := ctx.names.get(m["name"])):
            add_value(pub, where, u, indicator, m["period"], m.group(3))
        elif (m := CODED_POINT.match(t)) and period and (u := ctx.unit(m["code"]) or ctx.names.get(t.split(":")[0])):
            add_value(pub, where, u, indicator, period, m.group(2))


def add_html(pub: Published, where: str, ctx: Context, html: str, **kw: object) -> None:
    """Counts in the tables of an HTML page or report."""
    parser = _Tables()
    parser.feed(html)
    for rows in parser.tables:
        add_rows(pub, where, ctx, rows, **kw)  # type: ignore[arg-type]
    add_titles(pub, where, ctx, parser.titles, kw.get("unit"), kw.get("indicator"), kw.get("period"))  # type: ignore[arg-type]


def bundle_files(pub: Published, folder: Path, ctx: Context) -> None:
    """The bundle's Parquet and CSV copies of every table, and every sheet of the Excel workbook."""
    book = folder / "results.xlsx"
    sheets = pd.read_excel(book, sheet_name=None, dtype=str) if book.exists() else {}
    for f in sorted(folder.glob("*.parquet")):
        funnel = "funnel" in f.stem
        add_frame(pub, f"parquet:{f.stem}", ctx, pd.read_parquet(f), funnel=funnel)
        if f.with_suffix(".csv").exists():
            add_frame(pub, f"csv:{f.stem}", ctx, csv_frame(f.with_suffix(".csv").read_text()), funnel=funnel)
        if f.stem in sheets:
            add_frame(pub, f"excel:{f.stem}", ctx, sheets[f.stem], funnel=funnel)


def dashboard(pub: Published, bundle: Bundle, ctx: Context) -> None:
    """Every page, CSV download and API answer of the dashboard served from the bundle."""
    client = TestClient(create_app(bundle, cache_pages=False))

    def get(url: str) -> object | None:
        r = client.get(url)
        assert r.status_code in (200, 404), (url, r.status_code)
        return r if r.status_code == 200 else None

    def page(url: str, **kw: object) -> None:
        if (r := get(url)) is not None:
            add_html(pub, f"page:{url}", ctx, r.text, **kw)  # type: ignore[attr-defined]

    def download(url: str, **kw: object) -> None:
        if (r := get(url)) is not None and r.text.strip():  # type: ignore[attr-defined]
            add_frame(pub, f"download:{url}", ctx, csv_frame(r.text), **kw)  # type: ignore[attr-defined]

    def api(url: str, key: str | None = None, **kw: object) -> None:
        if (r := get(url)) is not None:
            body = r.json()  # type: ignore[attr-defined]
            rows = body.get(key, []) if key else body
            add_rows(pub, f"api:{url}", ctx, [x for x in rows if isinstance(x, dict)], **kw)  # type: ignore[arg-type]

    for url in ("/", "/groups", "/surveys", "/search?q=a"):
        page(url)
    download("/download/england.csv")
    download("/download/groups.csv")
    api("/api/v1/england")
    for g in ctx.groups:
        page(f"/groups/{g}", unit=f"G:{g}")
        page(f"/groups/{g}/evaluation", unit=f"G:{g}")
        api(f"/api/v1/groups/{g}", "latest", unit=f"G:{g}")
        for pt in ("fy", "month"):
            api(f"/api/v1/groups/{g}/results?period_type={pt}", unit=f"G:{g}")
        for table in ("scorecard", "spine", "members", "size", "profiles", "trends", "convergence"):
            download(f"/download/groups/{g}/{table}.csv", unit=f"G:{g}")
        for i in ctx.indicators:
            download(f"/download/groups/{g}/trend.csv?indicator={i}", unit=f"G:{g}", indicator=i)
            download(f"/download/indicators/{i}/spc.csv?group={g}", unit=f"G:{g}", indicator=i)
    for i in ctx.indicators:
        for y in ctx.years[i]:
            q = f"period={quote(y, safe='')}"
            for g in [None, *ctx.groups]:
                gq = f"&group={g}" if g else ""
                page(f"/indicators/{i}?{q}{gq}", indicator=i, period=y, funnel=True)
                download(f"/download/indicators/{i}/funnel.csv?{q}{gq}", indicator=i, period=y, funnel=True)
                api(f"/api/v1/indicators/{i}/funnel?{q}{gq}", "rows", indicator=i, period=y, funnel=True)
    for code in ctx.practices:
        page(f"/practices/{code}", unit=f"P:{code}")
        api(f"/api/v1/practices/{code}", "values", unit=f"P:{code}")
        for table in ("latest", "values"):
            download(f"/download/practices/{code}/{table}.csv", unit=f"P:{code}")


def harvest(folder: Path, reports: dict[str, Path] | None = None) -> Published:
    """Every count published by the bundle in ``folder``, its dashboard and the HTML ``reports`` (id -> file;
    a group's board pack's tables are that group's unless a row names its own unit)."""
    bundle = open_bundle(folder)
    ctx = Context(bundle)
    pub = Published()
    bundle_files(pub, folder, ctx)
    dashboard(pub, bundle, ctx)
    for key, path in (reports or {}).items():
        add_html(pub, f"report:{path.name}", ctx, path.read_text(), unit=ctx.unit(key))
    derive_numerators(pub, ctx)
    return pub
