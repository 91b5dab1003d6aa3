"""Dashboard pages for network incentive schemes: a page per scheme and per network in it, and CSV downloads.

``/schemes`` lists the scheme bundles found beside the results (:func:`gpscale.report.scheme_data.scheme_bundles`);
``/schemes/{id}`` shows every network's achievement against each target with its interval, points and
payment, and the "mostly chance" flags (and next year's forecast when the bundle has it);
``/schemes/{id}/networks/{group}`` shows one network: its targets, what each member contributes, and the
forecast. Everything is read from the disclosed bundle (hidden cells show as dashes with the reason);
charts are :mod:`gpscale.charts` SVG; templates are autoescaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from gpscale.charts import palette, svg
from gpscale.export import csv_text
from gpscale.report.html import Col, table_html
from gpscale.report.scheme_data import CHANCE_NOTE, SchemeResults, chance_flags, pounds, scheme_bundles

SchemeId = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{1,63}$", max_length=64)]
GroupId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", max_length=64)]
#: Tables of a scheme bundle offered as CSV downloads.
DOWNLOADS = ("scheme_scores", "scheme_totals", "scheme_contributions", "scheme_forecast", "scheme_forecast_totals",
             "scheme_design_distribution", "scheme_design_targets", "scheme_design_sweep")


def share_chart(rows: pd.DataFrame, label: str, value: str, title: str, note: str) -> str:
    """Horizontal bars of a 0-1 share per row (as %), nulls left out with a note."""
    shown = rows[rows[value].notna()]
    items = [svg.Bar(row=str(r[label]), start=0.0, end=100 * float(r[value]), colour=palette.GROUP,
                     tip=f"{r[label]}: {100 * float(r[value]):.0f}%") for _, r in shown.iterrows()]
    notes = [note] + ([f"{len(rows) - len(shown)} hidden or not computed"] if len(shown) < len(rows) else [])
    return svg.bars([str(x) for x in shown[label]], items, title, notes=notes, x_label="%")


def mount(app: FastAPI, results: Callable[[], Any], render: Callable[..., HTMLResponse],
          cached: Callable[[Callable[..., Response]], Callable[..., Response]], not_found: type[Exception]) -> None:
    """Add the scheme pages to ``app`` (``results()`` is the dashboard's :class:`ResultsData`)."""

    @cache
    def schemes() -> dict[str, SchemeResults]:
        return {str(b.manifest["scheme_id"]): SchemeResults(b) for b in scheme_bundles(results().bundle.folder)}

    def need(scheme_id: str) -> SchemeResults:
        s = schemes().get(scheme_id)
        if s is None:
            raise not_found(f"scheme {scheme_id}")
        return s

    def network_link(sid: str) -> Callable[[Mapping[str, Any]], str]:
        return lambda r: f"/schemes/{sid}/networks/{r['group_id']}"

    @app.get("/schemes", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def scheme_list(request: Request) -> Response:
        items = [{"id": k, "title": s.title, "period": s.period, "networks": s.bundle.rows("scheme_totals")}
                 for k, s in sorted(schemes().items())]
        return render("schemes.html.j2", request, title="Incentive schemes", schemes=items)

    @app.get("/schemes/{scheme_id}", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def scheme_page(request: Request, scheme_id: SchemeId) -> Response:
        s = need(scheme_id)
        link = network_link(scheme_id)
        nets = pounds(s.networks(), "payment_pence", "payment_available_pence", "expected_payment_pence")
        net_cols = [Col("group_name", "network", link=link), Col("group_kind", "kind"),
                    Col("n_members", "members", "int"), Col("targets_met", "targets met", "int"),
                    Col("payment_gbp", f"paid {s.period}"), Col("payment_available_gbp", "available"),
                    Col("expected_gbp", f"expected {s.forecast_period or ''}".strip()),
                    Col("suppression", "hidden because")]
        blocks = []
        fc_all = s.forecast()
        shares = []
        for t in s.targets().itertuples():
            sc = chance_flags(pounds(s.scores(target_id=t.target_id), "payment_pence"), "target_in_interval")
            if not fc_all.empty:
                f = fc_all[fc_all["target_id"] == t.target_id][["group_id", "p_met", "chance_decides"]]
                sc = sc.merge(f.rename(columns={"chance_decides": "chance_next"}), on="group_id", how="left")
                sc = chance_flags(sc, "chance_next", "chance_next")
            cols = [Col("group_name", "network", link=link), Col("achievement", "achievement", "num"),
                    Col("achievement_lower", "lower", "num"), Col("achievement_upper", "upper", "num"),
                    Col("met", "met"), Col("chance", f"{s.period}"), Col("points", "points", "num"),
                    Col("payment_gbp", "payment"), Col("p_met", "probability met next year", "num"),
                    Col("chance_next", "next year"), Col("suppression", "hidden because")]
            scored = sc[sc["status"] == "scored"]
            shares.append({"target_id": t.target_id,
                           "met": scored["met"].astype("Float64").mean() if len(scored) else None})
            blocks.append({"id": t.target_id, "target": t.target, "indicator": t.indicator_id,
                           "html": table_html(sc, cols, f"{t.target_id}: {t.target}", f"target-{t.target_id}",
                                              max_rows=300)})
        chart = share_chart(pd.DataFrame(shares), "target_id", "met", f"Networks meeting each target, {s.period}",
                            "share of networks scored whose published achievement meets the target")
        return render("scheme.html.j2", request, title=s.title, s=s, chart=chart, blocks=blocks,
                      networks=table_html(nets, net_cols, "Networks", "networks-table", max_rows=500),
                      chance_note=CHANCE_NOTE, downloads=[n for n in DOWNLOADS if s.has(n)])

    @app.get("/schemes/{scheme_id}/networks/{group_id}", response_class=HTMLResponse, include_in_schema=False)
    @cached
    def scheme_network(request: Request, scheme_id: SchemeId, group_id: GroupId) -> Response:
        s = need(scheme_id)
        net = s.network(group_id)
        if net is None:
            raise not_found(f"network {group_id} in scheme {scheme_id}")
        sc = chance_flags(pounds(s.scores(group_id), "payment_pence", "payment_available_pence"), "target_in_interval")
        target_cols = [Col("target_id", "target"), Col("target", "what"), Col("achievement", "achievement", "num"),
                       Col("achievement_lower", "lower", "num"), Col("achievement_upper", "upper", "num"),
                       Col("met", "met"), Col("chance", "chance"), Col("points", "points", "num"),
                       Col("payment_gbp", "payment"), Col("payment_available_gbp", "available"),
                       Col("n_counted", "members counted", "int"), Col("excluded", "left out"),
                       Col("suppression", "hidden because")]
        co = pounds(s.contributions(group_id), "payment_change_without_pence", "payment_change_at_standard_pence")
        member_cols = [Col("practice_code", "practice", link=lambda r: f"/practices/{r['practice_code']}"),
                       Col("target_id", "target"), Col("status", "status"),
                       Col("practice_value", "practice value", "num"), Col("practice_meets", "meets it"),
                       Col("achievement_without", "network without it", "num"),
                       Col("payment_change_without_gbp", "payment change without it"),
                       Col("achievement_at_standard", "network if it met it", "num"),
                       Col("payment_change_at_standard_gbp", "payment change if it met it"),
                       Col("decisive", "decides the outcome"), Col("suppression", "hidden because")]
        fc = chance_flags(pounds(s.forecast(group_id), "expected_payment_pence", "payment_lower_pence",
                            "payment_upper_pence"), "chance_decides")
        fc_cols = [Col("target_id", "target"), Col("forecast_value", "forecast value", "num"),
                   Col("forecast_value_lower", "lower", "num"), Col("forecast_value_upper", "upper", "num"),
                   Col("p_met", "probability met", "num"), Col("chance", "chance"),
                   Col("expected_gbp", "expected payment"), Col("payment_lower_gbp", "payment lower"),
                   Col("payment_upper_gbp", "payment upper"), Col("status", "status"),
                   Col("suppression", "hidden because")]
        chart = share_chart(fc, "target_id", "p_met", f"Probability of meeting each target, {s.forecast_period}",
                            "from the network's trend with overdispersion, by simulation") if not fc.empty else ""
        return render("scheme_network.html.j2", request, title=f"{net['group_name']}: {s.title}", s=s, net=net,
                      paid=pounds(pd.DataFrame([net]), "payment_pence", "payment_available_pence").iloc[0].to_dict(),
                      targets=table_html(sc, target_cols, "Targets", "targets-table"),
                      members=table_html(co, member_cols, "Member practices' contributions", "members-table",
                                         max_rows=500),
                      forecast=table_html(fc, fc_cols, f"Forecast of {s.forecast_period}", "forecast-table")
                      if not fc.empty else "", chart=chart, chance_note=CHANCE_NOTE)

    @app.get("/download/schemes/{scheme_id}/{table}.csv", include_in_schema=False)
    @cached
    def scheme_download(request: Request, scheme_id: SchemeId,
                        table: Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,63}$")]) -> Response:
        s = need(scheme_id)
        frame = s.table(table) if table in DOWNLOADS else None
        if frame is None:
            raise not_found(f"table {table} of scheme {scheme_id}")
        return Response(csv_text(frame), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{scheme_id}_{table}.csv"'})
