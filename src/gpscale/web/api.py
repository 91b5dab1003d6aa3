"""The read-only JSON API (``/api/v1``), described by OpenAPI at ``/api/openapi.json``.

Only GET routes exist (anything else is 405). Every parameter is validated by pattern or enumeration
before any lookup; unknown but well-formed IDs give 404 with a JSON ``detail``. Values have passed
disclosure control: suppressed values are ``null`` and rows say ``suppressed: true``.

Each route validates its answer against its response model and writes the JSON in the handler's own thread
(:func:`_route`): left to FastAPI, a synchronous route's answer is validated in a second trip through the
thread pool, so under load every API request queued twice behind page renders.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field, TypeAdapter

from gpscale.report import sections as S
from gpscale.report.data import ResultsData, definitions_summary

GROUP_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
PRACTICE_CODE = r"^[A-Za-z][A-Za-z0-9]{2,9}$"
INDICATOR_ID = r"^[a-z][a-z0-9_]{1,63}$"
PERIOD = r"^(FY\d{4}/\d{2}|\d{4}-\d{2})$"
SEARCH = r"^[\w\s&'.,()/\-]{1,100}$"
Conf = Annotated[Literal["0.95", "0.998"], Query(description="confidence level of intervals and comparisons")]


class IndicatorOut(BaseModel):
    id: str
    title: str
    domain: str
    unit: str
    polarity: str
    value_type: str
    period_types: list[str]


class IndicatorDetail(IndicatorOut):
    description: str
    why_it_matters: str
    periods: list[str]
    data_breaks: list[str]


class ResultRow(BaseModel):
    """One entity × indicator × period result (a scorecard row)."""

    indicator_id: str
    period: str
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    confidence: float
    method: str
    numerator: float | None = None
    denominator: float | None = None
    n_practices: int | None = None
    comparator_value: float | None = None
    comparison_type: str | None = Field(None, description="the comparison in `comparison` (evaluative)")
    comparison: str
    placebo_flagged_rate: float | None = Field(
        None, description="share of random groups of practices this comparison flags (calibration harness)")
    descriptive_comparison: str | None = Field(
        None, description="the descriptive comparison (patient-level sampling only, as Fingertips publishes)")
    descriptive_placebo_flagged_rate: float | None = Field(
        None, description="share of random groups of practices the descriptive comparison flags")
    membership_view: str
    suppressed: bool = False


class GroupSummary(BaseModel):
    group_id: str
    name: str
    kind: str | None = None


class GroupList(BaseModel):
    total: int
    offset: int
    limit: int
    groups: list[GroupSummary]


class GroupDetail(BaseModel):
    group_id: str
    name: str
    kind: str | None = None
    legal_form: str | None = None
    founded: str | None = None
    parent: str | None = None
    current_members: list[str]
    membership_view: str
    data_version: str
    latest: list[ResultRow] = Field(description="latest financial year of each indicator")


class FunnelRow(BaseModel):
    id: str = Field(description="group ID or practice ODS code")
    name: str
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None
    lower_95: float | None = None
    upper_95: float | None = None
    lower_998: float | None = None
    upper_998: float | None = None
    comparator: str = Field("England", description="what the unit is compared with (--comparator)")
    comparator_value: float | None = Field(None, description="the comparator's value: the funnel's centre")
    comparison: str


class FunnelOut(BaseModel):
    indicator_id: str
    period: str
    confidence: float
    units: Literal["groups", "member practices"]
    group_id: str | None = None
    england_value: float | None = None
    method: str
    membership_view: str
    hidden: int = Field(description="units hidden by disclosure control")
    rows: list[FunnelRow]


class PracticeValue(BaseModel):
    indicator_id: str
    period: str
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None
    suppressed: bool
    suppression: str


class PracticeOut(BaseModel):
    practice_code: str
    name: str | None = None
    postcode: str | None = None
    commissioner: str | None = None
    icb: str | None = None
    contract_type: str | None = None
    status: str | None = None
    groups: list[dict[str, str]]
    values: list[PracticeValue]


class SearchHit(BaseModel):
    id: str
    name: str


class SearchOut(BaseModel):
    q: str
    groups: list[SearchHit]
    practices: list[SearchHit]


class EnglandRow(BaseModel):
    indicator_id: str
    period: str
    england_value: float | None = None
    lower: float | None = None
    upper: float | None = None
    method: str
    groups_better: int
    groups_similar: int
    groups_worse: int


def _row(rec: dict[str, Any]) -> ResultRow:
    r = {k: S._clean(v) for k, v in rec.items()}
    r["indicator_id"], r["period"] = str(r["indicator_id"]), str(r["period"])
    r["method"], r["membership_view"] = str(r["method"]), str(r["membership_view"])
    for col in ("comparison", "descriptive_comparison"):
        r[col] = S.shown_label(rec.get(col), rec.get("suppressed"))
    if r.get("n_practices") is not None:
        r["n_practices"] = int(r["n_practices"])
    return ResultRow(**{k: v for k, v in r.items() if k in ResultRow.model_fields})


def _result_columns(data: ResultsData) -> list[str]:
    """The scorecard columns a :class:`ResultRow` shows (a group's latest rows read only these)."""
    return [c for c in data.bundle.columns("scorecard") if c in ResultRow.model_fields]


def _route(app: FastAPI, path: str, model: Any, summary: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``GET path`` answering with ``model`` (documented in the OpenAPI schema as the response); the
    handler's result is validated against ``model`` and written as JSON in the handler's thread."""
    adapter: TypeAdapter[Any] = TypeAdapter(model)

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def answer(*args: Any, **kwargs: Any) -> Response:
            body = adapter.dump_json(adapter.validate_python(fn(*args, **kwargs)))
            return Response(body, media_type="application/json")

        return app.get(path, response_model=model, summary=summary, tags=["api"])(answer)

    return register


def mount(app: FastAPI, d: Callable[[], ResultsData], not_found: type[Exception]) -> None:
    """Add the ``/api/v1`` routes to ``app``; ``d()`` returns the loaded results."""

    def need_group(gid: str) -> None:
        if gid not in d().group_ids:
            raise not_found(f"group {gid}")

    def need_indicator(iid: str) -> None:
        if iid not in d().indicators:
            raise not_found(f"indicator {iid}")

    @_route(app, "/api/v1/indicators", list[IndicatorOut], "Indicators with results")
    def api_indicators() -> list[dict[str, Any]]:
        return definitions_summary(d().indicators)

    @_route(app, "/api/v1/indicators/{indicator_id}", IndicatorDetail, "One indicator")
    def api_indicator(indicator_id: Annotated[str, PathParam(pattern=INDICATOR_ID)]) -> dict[str, Any]:
        need_indicator(indicator_id)
        i = d().indicators[indicator_id]
        return {**definitions_summary({i.id: i})[0], "description": i.description,
                "why_it_matters": i.why_it_matters, "periods": d().periods.get(i.id, []),
                "data_breaks": list(i.breaks)}

    @_route(app, "/api/v1/england", list[EnglandRow], "England and group counts, latest year")
    def api_england(conf: Conf = "0.95") -> list[dict[str, Any]]:
        t = S.england_overview(d(), float(conf)).frame
        return [{"indicator_id": r["indicator_id"], "period": r["period"], "england_value": r["england_value"],
                 "lower": r["lower"], "upper": r["upper"], "method": r["method"],
                 "groups_better": r["n_better"], "groups_similar": r["n_similar"], "groups_worse": r["n_worse"]}
                for r in S.records(t)]

    @_route(app, "/api/v1/groups", GroupList, "Groups (filter by kind or name)")
    def api_groups(kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
                   q: Annotated[str | None, Query(pattern=SEARCH, max_length=100)] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict[str, Any]:
        g = d().groups
        if kind:
            g = g[g["kind"].astype(str) == kind]
        if q:
            needle = q.lower()
            g = g[(g["name"].astype(str).str.lower().str.contains(needle, regex=False))
                  | (g["group_id"].str.lower().str.contains(needle, regex=False))]
        page = g.iloc[offset: offset + limit]
        return {"total": len(g), "offset": offset, "limit": limit,
                "groups": [{"group_id": r["group_id"], "name": str(r["name"]),
                            "kind": None if r["kind"] is None else str(r["kind"])}
                           for r in S.row_dicts(page)]}

    @_route(app, "/api/v1/groups/{group_id}", GroupDetail, "A group and its latest results")
    def api_group(group_id: Annotated[str, PathParam(pattern=GROUP_ID)], conf: Conf = "0.95") -> dict[str, Any]:
        need_group(group_id)
        data = d()
        info = S.group_info(data, group_id)
        rows = data.table("scorecard", "entity_id = ? AND confidence = ? AND period_type = 'fy'",
                          [group_id, float(conf)], columns=_result_columns(data))
        by_key = {(str(r["indicator_id"]), str(r["period"])): r for r in S.row_dicts(rows)} if rows is not None else {}
        latest = [_row(by_key[(i, str(data.latest_fy(i)))]) for i in data.indicators
                  if (i, str(data.latest_fy(i))) in by_key]
        members = data.group_members(group_id)
        current = members.loc[members["end_date"] == "", "practice_code"].tolist() if "end_date" in members else []
        founded = (_s(info.get("founded")) or "")[:10] or None
        return {"group_id": group_id, "name": str(info.get("name")), "kind": _s(info.get("kind")),
                "legal_form": _s(info.get("legal_form")), "founded": founded, "parent": _s(info.get("parent")),
                "current_members": current, "membership_view": data.view, "data_version": data.data_version,
                "latest": latest}

    @_route(app, "/api/v1/groups/{group_id}/results", list[ResultRow], "A group's results (scorecard rows)")
    def api_group_results(group_id: Annotated[str, PathParam(pattern=GROUP_ID)], conf: Conf = "0.95",
                          indicator: Annotated[str | None, Query(pattern=INDICATOR_ID)] = None,
                          period_type: Annotated[Literal["fy", "month"], Query()] = "fy") -> list[ResultRow]:
        need_group(group_id)
        if indicator is not None:
            need_indicator(indicator)
        rows = d().group_rows(group_id)
        rows = rows[(rows["confidence"] == float(conf)) & (rows["period_type"] == period_type)]
        if indicator:
            rows = rows[rows["indicator_id"] == indicator]
        return [_row(r) for r in S.row_dicts(rows.sort_values(["indicator_id", "period"]))]

    @_route(app, "/api/v1/indicators/{indicator_id}/funnel", FunnelOut,
            "Funnel of all groups, or of one group's member practices")
    def api_funnel(indicator_id: Annotated[str, PathParam(pattern=INDICATOR_ID)],
                   period: Annotated[str | None, Query(pattern=PERIOD)] = None, conf: Conf = "0.95",
                   group: Annotated[str | None, Query(pattern=GROUP_ID)] = None,
                   limits: Annotated[Literal["adjusted", "phe"], Query()] = "adjusted") -> dict[str, Any]:
        need_indicator(indicator_id)
        data = d()
        if group is not None:
            need_group(group)
        p = period or data.latest_fy(indicator_id)
        if p is None or p not in data.periods.get(indicator_id, []):
            raise not_found(f"period {period} for {indicator_id}")
        c = float(conf)
        res = S.member_funnel(data, group, indicator_id, p, c, limits == "adjusted", draw=False) if group else \
            S.groups_funnel(data, indicator_id, p, c, limits == "adjusted", draw=False)
        f = res.table.frame
        idc = "practice_code" if group else "group_id"
        numbers = ("numerator", "denominator", "value", "lower_95", "upper_95", "lower_998", "upper_998",
                   "comparator_value")
        shown = [c for c in (idc, "name", *numbers, "comparator", "comparison") if c in f.columns]
        rows = [] if res.table.missing else [  # only the answered columns made JSON-ready (not every column)
            {"id": r[idc], "name": str(r["name"]), **{k: r.get(k) for k in numbers},
             "comparator": str(r["comparator"]), "comparison": str(r["comparison"])} for r in S.records(f[shown])]
        return {"indicator_id": indicator_id, "period": p, "confidence": c,
                "units": "member practices" if group else "groups", "group_id": group,
                "england_value": data.england_value(indicator_id, p, c), "method": res.method or res.chart.caption,
                "membership_view": data.view, "hidden": res.hidden, "rows": rows}

    @_route(app, "/api/v1/practices/{code}", PracticeOut, "A practice and its values")
    def api_practice(code: Annotated[str, PathParam(pattern=PRACTICE_CODE)]) -> dict[str, Any]:
        c = code.upper()
        if c not in d().practice_codes:
            raise not_found(f"practice {code}")
        summ = S.practice_summary(d(), c)
        info = summ["info"]
        vals = summ["values"]
        shown = ("indicator_id", "period", "numerator", "denominator", "value", "suppressed", "suppression")
        values = [] if vals.empty else [  # each row built once from the cleaned columns (no frame, no second dict)
            {"indicator_id": i, "period": p, "numerator": n, "denominator": dn, "value": v, "suppressed": bool(h),
             "suppression": str(why)}
            for i, p, n, dn, v, h, why in zip(*([S._clean(x) for x in vals[c].tolist()] for c in shown), strict=True)]
        return {"practice_code": c, **{k: _s(info.get(k)) for k in ("name", "postcode", "commissioner", "icb",
                                                                     "contract_type", "status")},
                "groups": [{k: str(v) for k, v in r.items()} for r in S.row_dicts(summ["groups"])],
                "values": values}

    @_route(app, "/api/v1/search", SearchOut, "Search groups and practices by name or code")
    def api_search(q: Annotated[str, Query(pattern=SEARCH, max_length=100)],
                   limit: Annotated[int, Query(ge=1, le=100)] = 25) -> dict[str, Any]:
        return {"q": q, **d().search(q, limit)}


def _s(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v)
    return None if s in ("NaT", "nan", "None") else s
