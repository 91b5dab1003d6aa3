"""The dashboard: server-rendered pages (FastAPI + Jinja2), CSV downloads and a read-only JSON API.

Pages: England overview (``/``), groups (``/groups``, ``/groups/{id}``), indicators
(``/indicators/{id}`` with all groups as a funnel, or ``?group=`` for one group's members), practices
(``/practices/{code}``), search (``/search?q=``), surveys (``/surveys``). Every table has a CSV download
(``/download/...``). The JSON API lives under ``/api/v1`` and is described by ``/api/openapi.json``.

Everything is read from a disclosed results bundle (:func:`gpscale.bundle.open_bundle`), queried in place
per request (DuckDB over its Parquet files, per-thread cursors, a bounded memory limit); nothing is loaded
whole and nothing is pre-rendered; the server is ready once the bundle's manifest is read and its per-bundle
indexes made (:func:`gpscale.report.sections.prepare`, ~0.5 s on full England). Rendered pages are kept in a
cache bounded by bytes. Every path and query parameter is checked
against a strict pattern before any data is looked up: a malformed value gets a 4xx page, an unknown but
well-formed code a 404 page. Pages need no network: CSS and the small script are served from the package.

Pages are rendered one at a time (:data:`RENDER_THREADS`): rendering is Python work that holds the GIL, so
threads rendering side by side only take turns, and each hand-over of the GIL after a read costs a switch
interval; in turn, requests are answered in the order they came (docs/adr/0012-one-render-thread.md).
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

import anyio.to_thread
import pandas as pd
import pyarrow as pa
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from gpscale import __version__
from gpscale.bundle import Bundle, require_bundle
from gpscale.charts import palette, svg
from gpscale.export import csv_text
from gpscale.report import sections as S
from gpscale.report.data import ENGLAND_ID, ResultsData
from gpscale.report.html import Col, legend_html, survey_columns, table_html
from gpscale.web import api as api_module
from gpscale.web import schemes as scheme_pages
from gpscale.web.calibration import add_calibration_page
from gpscale.web.events import add_events_pages

GROUP_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
PRACTICE_CODE = r"^[A-Za-z][A-Za-z0-9]{2,9}$"
INDICATOR_ID = r"^[a-z][a-z0-9_]{1,63}$"
PERIOD = r"^(FY\d{4}/\d{2}|\d{4}-\d{2})$"
SEARCH = r"^[\w\s&'.,()/\-]{1,100}$"
KIND = r"^[a-z_]{1,32}$"
Conf = Literal["0.95", "0.998"]
Limits = Literal["adjusted", "phe"]
#: Bytes of rendered pages kept (the largest pages are a few hundred kB).
PAGE_CACHE_BYTES = 48 * 1024 * 1024
#: Threads that run page handlers at once (Starlette's default is 40). One: handlers are GIL-bound Python, so
#: more threads only interleave them; under 8 clients one thread answered the same requests in 21 s instead of
#: 30 s, with p95 of a group page 695 -> 236 ms (BENCHMARKS.md, Dashboard).
RENDER_THREADS = 1

#: The evaluation's own tables for one group, on the group's evaluation page (the group page links to it).
GROUP_EVALUATION_TABLES = ("profiles", "trends", "convergence")

GroupId = Annotated[str, PathParam(pattern=GROUP_ID, max_length=64)]
PracticeCode = Annotated[str, PathParam(pattern=PRACTICE_CODE, max_length=10)]
IndicatorId = Annotated[str, PathParam(pattern=INDICATOR_ID, max_length=64)]
PeriodQ = Annotated[str | None, Query(pattern=PERIOD, max_length=10)]
GroupQ = Annotated[str | None, Query(pattern=GROUP_ID, max_length=64)]
IndicatorQ = Annotated[str | None, Query(pattern=INDICATOR_ID, max_length=64)]
ConfQ = Annotated[Conf, Query(description="confidence level of intervals and comparisons")]


class NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _env() -> Environment:
    env = Environment(loader=PackageLoader("gpscale.web", "templates"), autoescape=True)
    env.globals["version"] = __version__
    env.filters["fmt"] = lambda v, d=2: svg.fmt(v, d)
    env.filters["urlq"] = lambda v: quote(str(v), safe="")
    return env


class PageCache:
    """Rendered pages by URL, least recently used first out, at most ``max_bytes`` of page bodies."""

    def __init__(self, max_bytes: int = PAGE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._d: OrderedDict[str, tuple[bytes, str, dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[bytes, str, dict[str, str]] | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return v

    def put(self, key: str, value: tuple[bytes, str, dict[str, str]]) -> None:
        if len(value[0]) > self.max_bytes // 8:
            return  # one page never takes more than an eighth of the cache
        with self._lock:
            old = self._d.pop(key, None)
            if old is not None:
                self.bytes -= len(old[0])
            self._d[key] = value
            self.bytes += len(value[0])
            while self.bytes > self.max_bytes and self._d:
                _, gone = self._d.popitem(last=False)
                self.bytes -= len(gone[0])

    def __len__(self) -> int:
        return len(self._d)


def _key(name: str, kwargs: dict[str, Any]) -> str:
    """A page's cache key: the handler and its validated parameters (so equivalent URLs share an entry)."""
    return name + "|" + "|".join(f"{k}={v}" for k, v in sorted(kwargs.items()))


SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
     b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class DropEmptyQuery:
    """ASGI middleware: drop empty query parameters (``?group=`` from a form left blank means "none") and add
    security headers (a content security policy that allows nothing from outside the dashboard)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("query_string"):
            from urllib.parse import parse_qsl

            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            kept = [(k, v) for k, v in pairs if v != ""]
            if len(kept) != len(pairs):
                scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers if scope.get("type") == "http" else send)


def create_app(bundle: Bundle, cache_pages: bool = True) -> FastAPI:
    """The dashboard application over a disclosed results bundle (the only input it accepts).

    With ``cache_pages`` rendered pages are kept, up to :data:`PAGE_CACHE_BYTES` (the bundle does not
    change while the server runs).
    """
    data = ResultsData(require_bundle(bundle, "the dashboard"))
    S.prepare(data)
    # The bundle's lookups read small slices with Arrow; Arrow's default thread pools (one thread per core for
    # I/O and for compute, each keeping its own allocator cache) only add resident memory under many clients.
    pa.set_io_thread_count(1)
    pa.set_cpu_count(1)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = RENDER_THREADS
        # Everything alive now (imported modules, the bundle's metadata) lives as long as the server: kept out of the
        # cyclic collector's full passes, which otherwise re-scanned it for ~75 ms while every queued request waited.
        gc.freeze()
        yield
        gc.unfreeze()
        # the requests are answered: the worker threads' readers are closed here, not when the threads end
        data.bundle.release_threads()

    app = FastAPI(
        lifespan=lifespan,
        title="gpscale dashboard API",
        version=__version__,
        description="Read-only access to gpscale results: indicators, England, groups against England, funnels, "
        "practices and search. Every value has passed disclosure control (counts below the threshold and "
        "the cells that would reveal them are null). Every result row names its method, confidence level "
        "and membership view.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.add_middleware(DropEmptyQuery)
    app.state.data = data
    app.state.cache = PageCache() if cache_pages else None
    env = app.state.templates = _env()
    # every template compiled now, not by the first visitor of each page type while other requests queue
    for template in env.list_templates():
        env.get_template(template)
    static_dir = Path(str(resources.files("gpscale.web") / "static"))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    def d() -> ResultsData:
        return app.state.data

    def render(name: str, request: Request, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        data_ = d()
        base = {
            "request_path": request.url.path,
            "data_version": data_.data_version,
            "view": data_.view,
            "count_rule": data_.count_rule,
            "survey_rule": data_.survey_rule,
            "has_surveys": data_.has_surveys,
            "legend": legend_html(),
            "similar_note": S.SIMILAR_NOTE,
            "rank_note": S.RANK_NOTE,
        }
        html = env.get_template(name).render(**base, **ctx)
        return HTMLResponse(html, status_code=status_code)

    def cached(fn: Callable[..., Response]) -> Callable[..., Response]:
        """Serve a page from the cache when the same URL was rendered before."""
        import functools

        @functools.wraps(fn)
        def wrapper(request: Request, *args: Any, **kwargs: Any) -> Response:
            cache: PageCache | None = app.state.cache
            key = _key(fn.__name__, kwargs)
            if cache is not None:
                hit = cache.get(key)
                if hit is not None:
                    body, media, headers = hit
                    return Response(body, media_type=media, headers={**headers, "X-Cache": "hit"})
            resp = fn(request, *args, **kwargs)
            if cache is not None and resp.status_code == 200 and not isinstance(resp, RedirectResponse):
                headers = {k: v for k, v in resp.headers.items() if k.lower() == "content-disposition"}
                cache.put(key, (bytes(resp.body), resp.media_type or "text/html", headers))
            return resp

        return wrapper

    add_calibration_page(app, render)  # issue 14: /calibration
    add_events_pages(app, render, NotFound)  # issue 15: /events, /events/groups/{id}

    # ------------------------------------------------------------------ errors

    @app.exception_handler(NotFound)
    def not_found(request: Request, exc: NotFound) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": f"not found: {exc.what}"}, status_code=404)
        return render("error.html.j2", request, 404, title="Not found", status=404,
                      message=f"Not found: {exc.what}.")

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or request.url.path.startswith("/static/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        msg = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
        return render("error.html.j2", request, exc.status_code, title=f"Error {exc.status_code}",
                      status=exc.status_code, message=msg)

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in exc.errors()]
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": problems}, status_code=422)
        return render("error.html.j2", request, 400, title="Bad request", status=400,
                      message="The address has a value this dashboard does not accept.", problems=problems)

    # ------------------------------------------------------------------ helpers

    def conf_of(c: str) -> float:
        return float(c)

    def need_group(gid: str) -> None:
        if gid not in d().group_ids:
            raise NotFound(f"no group with ID {gid}")

    def need_indicator(iid: str) -> None:
        if iid not in d().indicators:
            raise NotFound(f"no indicator {iid}")

    def need_practice(code: str) -> str:
        c = code.upper()
        if c not in d().practice_codes:
            raise NotFound(f"no practice with ODS code {code}")
        return c

    def need_period(iid: str, period: str | None) -> str:
        periods = d().fy_periods.get(iid, [])
        if period is None:
            p = d().latest_fy(iid) or (periods[-1] if periods else None)
            if p is None:
                raise NotFound(f"no data for indicator {iid}")
            return p
        if period not in periods:
            raise NotFound(f"no data for indicator {iid} in period {period}")
        return period

    def csv_response(frame: pd.DataFrame, filename: str) -> Response:
        return Response(csv_text(frame), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    def group_link(rec: Mapping[str, Any]) -> str:
        return f"/groups/{quote(str(rec['group_id']), safe='')}"

    def practice_link(rec: Mapping[str, Any]) -> str:
        return f"/practices/{quote(str(rec['practice_code']), safe='')}"

    # ------------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def england(request: Request, conf: ConfQ = "0.95") -> Response:
        c = conf_of(conf)
        data_ = d()
        table = S.england_overview(data_, c)

        def html() -> str:
            cols = [Col("indicator", "indicator", link=lambda r: f"/indicators/{r['indicator_id']}?conf={conf}"),
                    Col("period", "latest year"), Col("england_value", "England", "num"),
                    Col("lower", "lower", "num"), Col("upper", "upper", "num"), Col("unit", "unit"),
                    Col("n_better", "groups better", "int"), Col("n_similar", "similar", "int"),
                    Col("n_worse", "worse", "int"), Col("n_higher", "higher", "int"), Col("n_lower", "lower", "int"),
                    Col("n_not_compared", "not compared", "int"), Col("n_suppressed", "hidden", "int")]
            return table_html(table.frame, cols, table.caption, "england-table")

        # the table and the counts are the same on every request at a level: built once per bundle and level
        return render(
            "england.html.j2", request, title="England overview", conf=conf, pct=S.pct(c),
            table=table, table_html=data_.once(f"england_table_html|{conf}", html),
            trends=S.england_trends(data_), named=data_.named_groups,
            n_groups=len(data_.group_ids), n_practices=len(data_.practice_codes),
            n_pcns=data_.once("n_pcns", lambda: int((data_.groups["kind"].astype(str) == "pcn").sum())),
            download=f"/download/england.csv?conf={conf}",
        )

    @app.get("/groups", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def groups(request: Request, conf: ConfQ = "0.95",
               kind: Annotated[str | None, Query(pattern=KIND)] = None,
               page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
        c = conf_of(conf)
        t = S.groups_table(d(), c, kind)
        per = 200
        frame = t.frame.iloc[(page - 1) * per: page * per]
        cols = [Col("name", "group", link=group_link), Col("group_id", "ID"), Col("kind", "kind"),
                Col("practices", "practices", "int"), Col("better", "better", "int"), Col("similar", "similar", "int"),
                Col("worse", "worse", "int"), Col("higher", "higher", "int"), Col("lower", "lower", "int"),
                Col("not compared", "not compared", "int"), Col("suppressed", "hidden", "int"),
                Col("better_fdr", "better (FDR)", "int"), Col("worse_fdr", "worse (FDR)", "int")]
        kinds = sorted(d().groups["kind"].dropna().astype(str).unique())
        pages = max(1, -(-len(t.frame) // per))
        q = {"conf": conf, **({"kind": kind} if kind else {})}
        return render("groups.html.j2", request, title="Groups", table=t, conf=conf, kind=kind, kinds=kinds,
                      table_html=table_html(frame, cols, t.caption, "groups-table"), page=page, pages=pages,
                      qs=urlencode(q), download="/download/groups.csv?" + urlencode(q))

    @app.get("/groups/{group_id}", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def group(request: Request, group_id: GroupId, conf: ConfQ = "0.95", indicator: IndicatorQ = None) -> Response:
        need_group(group_id)
        c = conf_of(conf)
        data_ = d()
        prof = S.group_profile(data_, group_id)
        years = S.group_years(data_, group_id, c)
        periods, grid = S.rug(data_, group_id, c, years)
        spine = S.spine_chart(data_, group_id, c, years)
        ind_ids = [g["id"] for g in grid]
        if indicator is not None and indicator not in data_.indicators:
            raise NotFound(f"no indicator {indicator}")
        chosen = indicator or (ind_ids[0] if ind_ids else None)
        trends = S.latest_trends(data_, group_id, c)
        trend = S.trend_chart(data_, group_id, chosen, c, years, trends) if chosen else None
        summary = S.group_summary(data_, group_id, c, years, trends)
        monthly = [i for i in data_.indicators.values() if i.is_monthly and i.id in ind_ids]
        members = prof["members"]
        mcols = [Col("practice_code", "ODS code", link=practice_link), Col("name", "practice"),
                 Col("start_date", "joined"), Col("end_date", "left"), Col("commissioner", "commissioner"),
                 Col("icb", "ICB"), Col("contract_type", "contract"), Col("rurality", "rurality")]
        return render(
            "group.html.j2", request, title=prof["info"].get("name", group_id), gid=group_id, prof=prof,
            conf=conf, pct=S.pct(c), periods=periods, grid=grid, spine=spine, trend=trend, chosen=chosen,
            indicators=[data_.indicators[i] for i in ind_ids], monthly=monthly,
            members_html=table_html(members, mcols, f"Member practices of {prof['info'].get('name')} (current first)",
                                    "members-table"),
            summary=summary,
        )

    @app.get("/groups/{group_id}/evaluation", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def group_evaluation(request: Request, group_id: GroupId, conf: ConfQ = "0.95") -> Response:
        need_group(group_id)
        c = conf_of(conf)
        data_ = d()
        tables = []
        for t in (S.evaluation_table(data_, n, group_id=group_id, conf=c) for n in GROUP_EVALUATION_TABLES):
            if not t.missing:
                cols = [Col(col, col.replace("_", " "), "num" if pd.api.types.is_float_dtype(dtype) else "text")
                        for col, dtype in t.frame.dtypes.items()]
                tables.append((t, table_html(t.frame, cols, f"{t.title} ({t.caption})", max_rows=80)))
            else:
                tables.append((t, ""))
        name = data_.group_name(group_id)
        return render("group_evaluation.html.j2", request, title=f"Evaluation tables: {name}", gid=group_id,
                      group_name=name, conf=conf, pct=S.pct(c), tables=tables)

    @app.get("/indicators", include_in_schema=False)
    def indicators_index() -> Response:
        return RedirectResponse("/#indicators", status_code=307)

    @app.get("/indicators/{indicator_id}", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def indicator(request: Request, indicator_id: IndicatorId, period: PeriodQ = None, conf: ConfQ = "0.95",
                  group: GroupQ = None, limits: Limits = "adjusted") -> Response:
        need_indicator(indicator_id)
        if group is not None:
            need_group(group)
        p = need_period(indicator_id, period)
        c = conf_of(conf)
        data_ = d()
        ind = data_.indicators[indicator_id]
        adjust = limits == "adjusted"
        res = S.member_funnel(data_, group, indicator_id, p, c, adjust) if group else S.groups_funnel(
            data_, indicator_id, p, c, adjust)
        spc = S.spc_chart(data_, group, indicator_id) if group and ind.is_monthly else None
        if group is None and ind.is_monthly:
            spc = S.spc_chart(data_, ENGLAND_ID, indicator_id)
        if group:
            cols = [Col("practice_code", "ODS code", link=practice_link), Col("name", "practice"),
                    Col("numerator", "numerator", "num"), Col("denominator", "denominator", "num"),
                    Col("value", "value", "num"), Col("lower_95", "95% lower limit", "num"),
                    Col("upper_95", "95% upper limit", "num"), Col("comparator", "compared with"),
                    Col("comparison", "comparison", "comparison")]
        else:
            cols = [Col("name", "group", link=group_link), Col("group_id", "ID"),
                    Col("numerator", "numerator", "num"), Col("denominator", "denominator", "num"),
                    Col("value", "value", "num"), Col("lower_95", "95% lower limit", "num"),
                    Col("upper_95", "95% upper limit", "num"), Col("comparator", "compared with"),
                    Col("comparison", "comparison", "comparison")]
        q = {"period": p, "conf": conf, "limits": limits, **({"group": group} if group else {})}
        outside_html = table_html(res.outside, cols, f"Outside the {S.pct(c)} limits (named)", "outside-table",
                                  empty="none outside the limits")
        all_html = table_html(res.table.frame, cols, res.table.title, "funnel-table", max_rows=300) \
            if not res.table.missing else ""
        spc_html = ""
        if spc is not None and not spc[1].missing:
            flagged = spc[1].frame[spc[1].frame["rules"] != ""]
            spc_html = table_html(flagged, [Col("period", "month"), Col("value", "value", "num"),
                                            Col("variation", "variation"), Col("rules", "rule that fired")],
                                  spc[1].caption, "spc-table", empty="no special-cause signals")
        return render(
            "indicator.html.j2", request, title=ind.title, ind=ind, period=p,
            periods=data_.fy_periods.get(indicator_id, []),
            conf=conf, pct=S.pct(c), group=group, group_name=data_.group_name(group) if group else None,
            limits=limits, res=res, outside_html=outside_html, all_html=all_html, spc=spc, spc_html=spc_html,
            qs=urlencode(q), named=data_.named_groups,
        )

    @app.get("/practices/{code}", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def practice(request: Request, code: PracticeCode, indicator: IndicatorQ = None) -> Response:
        c = need_practice(code)
        data_ = d()
        summ = S.practice_summary(data_, c)
        if indicator is not None and indicator not in data_.indicators:
            raise NotFound(f"no indicator {indicator}")
        latest = summ["latest"]
        ids = latest["indicator_id"].tolist() if not latest.empty else []
        chosen = indicator or (ids[0] if ids else None)
        trend = S.practice_trend(data_, c, chosen, summ["values"]) if chosen else None
        gcols = [Col("name", "group", link=group_link), Col("group_id", "ID"), Col("start_date", "from"),
                 Col("end_date", "to")]
        lcols = [Col("indicator", "indicator", link=lambda r: f"/indicators/{r['indicator_id']}?period="
                     f"{quote(str(r['period']), safe='')}"),
                 Col("period", "year"), Col("numerator", "numerator", "num"), Col("denominator", "denominator", "num"),
                 Col("value", "value", "num"), Col("england_value", "England", "num"), Col("unit", "unit"),
                 Col("suppression", "hidden because")]
        return render(
            "practice.html.j2", request, title=f"{summ['info'].get('name', c)} ({c})", code=c, info=summ["info"],
            groups_html=table_html(summ["groups"], gcols, "Groups this practice belongs or belonged to",
                                   "practice-groups", empty="no group memberships recorded"),
            latest_html=table_html(latest, lcols, "Latest year of each indicator (practice values; hidden values "
                                   f"are counts below {data_.threshold} or cells that would reveal one)",
                                   "practice-latest", empty="no indicator values"),
            trend=trend, chosen=chosen, indicators=[data_.indicators[i] for i in ids],
        )

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search(request: Request, q: Annotated[str, Query(pattern=SEARCH, max_length=100)],
               partial: Annotated[Literal["0", "1"], Query()] = "0") -> Response:
        res = d().search(q)
        tpl = "_search_results.html.j2" if partial == "1" else "search.html.j2"
        return render(tpl, request, title=f"Search: {q}", q=q, res=res)

    @app.get("/surveys", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def surveys(request: Request) -> Response:
        blocks = [(sid, [(name, table_html(frame, survey_columns(frame), f"{sid}: {name}", max_rows=80))
                         for name, frame in tables.items()]) for sid, tables in d().surveys()]
        return render("surveys.html.j2", request, title="Surveys", blocks=blocks)

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_index(request: Request) -> Response:
        routes = [(r.path, r.summary or r.name) for r in app.routes  # type: ignore[attr-defined]
                  if getattr(r, "path", "").startswith("/api/v1")]
        return render("api.html.j2", request, title="JSON API", routes=routes)

    @app.get("/palette.css", include_in_schema=False)
    def palette_css() -> Response:
        return Response(palette.css(), media_type="text/css", headers={"Cache-Control": "max-age=86400"})

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        import resource

        cache: PageCache | None = app.state.cache
        return {"status": "ok", "data_version": d().data_version, "groups": len(d().group_ids),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "cached_pages": 0 if cache is None else len(cache),
                "cached_bytes": 0 if cache is None else cache.bytes}

    # ------------------------------------------------------------------ downloads (CSV of every table shown)

    @app.get("/download/england.csv", include_in_schema=False)
    @cached
    def dl_england(request: Request, conf: ConfQ = "0.95") -> Response:
        return csv_response(S.england_overview(d(), conf_of(conf)).frame, "england.csv")

    @app.get("/download/groups.csv", include_in_schema=False)
    @cached
    def dl_groups(request: Request, conf: ConfQ = "0.95",
                  kind: Annotated[str | None, Query(pattern=KIND)] = None) -> Response:
        return csv_response(S.groups_table(d(), conf_of(conf), kind).frame, "groups.csv")

    @app.get("/download/groups/{group_id}/{table}.csv", include_in_schema=False)
    @cached
    def dl_group(request: Request, group_id: GroupId,
                 table: Literal["scorecard", "spine", "trend", "members", "size", "profiles", "trends", "convergence"],
                 conf: ConfQ = "0.95", indicator: IndicatorQ = None) -> Response:
        need_group(group_id)
        c = conf_of(conf)
        data_ = d()
        if table in GROUP_EVALUATION_TABLES:
            if not data_.bundle.has(table):
                raise NotFound(f"{table} (not computed)")
            frame = S.evaluation_table(data_, table, group_id=group_id, conf=c).frame
        elif table == "scorecard":
            frame = S.scorecard_table(data_, group_id, c)
        elif table == "spine":
            frame = S.spine_table(data_, group_id, c)
        elif table == "members":
            frame = S.group_profile(data_, group_id)["members"]
        elif table == "size":
            frame = S.group_size(data_, group_id)
        else:
            iid = indicator or next(iter(data_.indicators))
            need_indicator(iid)
            frame = S.trend_table(data_, group_id, iid, c)
        return csv_response(frame, f"{group_id}_{table}.csv")

    @app.get("/download/indicators/{indicator_id}/{table}.csv", include_in_schema=False)
    @cached
    def dl_indicator(request: Request, indicator_id: IndicatorId, table: Literal["funnel", "spc"],
                     period: PeriodQ = None, conf: ConfQ = "0.95", group: GroupQ = None,
                     limits: Limits = "adjusted") -> Response:
        need_indicator(indicator_id)
        if group is not None:
            need_group(group)
        p = need_period(indicator_id, period)
        c = conf_of(conf)
        data_ = d()
        if table == "spc":
            frame = S.spc_chart(data_, group or ENGLAND_ID, indicator_id)[1].frame
        else:
            res = S.member_funnel(data_, group, indicator_id, p, c, limits == "adjusted", draw=False) if group else \
                S.groups_funnel(data_, indicator_id, p, c, limits == "adjusted", draw=False)
            frame = res.table.frame
        return csv_response(frame, f"{indicator_id}_{table}.csv")

    @app.get("/download/practices/{code}/{table}.csv", include_in_schema=False)
    @cached
    def dl_practice(request: Request, code: PracticeCode, table: Literal["latest", "groups", "values"]) -> Response:
        c = need_practice(code)
        data_ = d()  # the groups and the values are read alone (the summary reads both and more)
        frame = data_.practice_groups(c) if table == "groups" else data_.practice_rows(c) if table == "values" else \
            S.practice_summary(data_, c)["latest"]
        return csv_response(frame, f"{c}_{table}.csv")

    @app.get("/download/surveys/{survey_id}/{table}.csv", include_in_schema=False)
    def dl_survey(request: Request, survey_id: Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,63}$")],
                  table: Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,63}$")]) -> Response:
        for sid, tables in d().surveys():
            if sid == survey_id and table in tables:
                return csv_response(tables[table], f"{survey_id}_{table}.csv")
        raise NotFound(f"no survey table {survey_id}/{table}")

    api_module.mount(app, d, NotFound)
    scheme_pages.mount(app, d, render, cached, NotFound)  # issue 16: /schemes pages
    return app
