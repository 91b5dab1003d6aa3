"""The dashboard's event-study pages: did scaling up change quality? Per event kind and per receiving group.

Mounted by :func:`gpscale.web.app.create_app`: ``/events`` (per event kind and indicator domain, the change
or why it cannot say, each indicator's study and the groups that received events), ``/events/groups/{id}``
(one receiving group, with its event-study charts) and CSV downloads of the three event tables
(``/download/events/{table}.csv``, ``?group=`` for one group). Everything is read through
:mod:`gpscale.report.events` from the disclosed bundle (no statistics here); templates are autoescaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from gpscale.export import csv_text
from gpscale.report import events as E
from gpscale.report.data import ResultsData
from gpscale.report.html import Col, table_html

Render = Callable[..., HTMLResponse]
GroupId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", max_length=64)]
GroupQ = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", max_length=64)]
#: The event tables offered as CSV (every column; the pages show a selection).
Download = Literal["event_domain", "event_summary", "event_study"]


def _group_link(rec: Mapping[str, Any]) -> str:
    return f"/events/groups/{quote(str(rec['entity_id']), safe='')}"


def add_events_pages(app: FastAPI, render: Render, not_found: Callable[[str], Exception]) -> None:
    """Add ``/events``, ``/events/groups/{group_id}`` and ``/download/events/{table}.csv`` to ``app``."""

    def data() -> ResultsData:
        return app.state.data

    def need_group(group_id: str) -> None:
        if group_id not in data().group_ids:
            raise not_found(f"no group with ID {group_id}")

    @app.get("/events", response_class=HTMLResponse, include_in_schema=False)
    def events(request: Request) -> Response:
        d = data()
        view = E.domain_view(d)
        studies = E.study_view(d)
        groups = E.domain_view(d, E.GROUP_ENTITY)
        receiving = groups.frame.drop_duplicates("entity_id") if not groups.missing else groups.frame
        gcols = [Col("entity_name", "receiving group", link=_group_link), Col("entity_id", "ID"),
                 Col("event_label", "event")]
        return render(
            "events.html.j2", request, title="Did scaling up change quality?", heading=E.TITLE, view_table=view,
            notes=[E.READ_NOTE], table_html="" if view.missing else table_html(
                view.frame, E.DOMAIN_COLUMNS, view.caption, "events-domains", max_rows=500),
            studies_html="" if studies.missing else table_html(
                studies.frame, E.STUDY_COLUMNS, studies.caption, "events-studies", max_rows=500),
            groups_html="" if groups.missing else table_html(
                receiving, gcols, "Receiving groups with event studies", "events-groups", max_rows=1000),
            charts=[], download="/download/events/{table}.csv")

    @app.get("/events/groups/{group_id}", response_class=HTMLResponse, include_in_schema=False)
    def group_events(request: Request, group_id: GroupId) -> Response:
        need_group(group_id)
        d = data()
        view = E.domain_view(d, E.GROUP_ENTITY, group_id)
        studies = E.study_view(d, E.GROUP_ENTITY, group_id)
        est = studies.frame[studies.frame["status"] == "estimated"] if not studies.missing else studies.frame
        charts = [E.event_chart(d, E.GROUP_ENTITY, group_id, str(r["event_kind"]), str(r["indicator_id"]))
                  for r in est.to_dict("records")]
        name = d.group_name(group_id)
        return render(
            "events.html.j2", request, title=f"{name}: did joining change quality?",
            heading=f"Did joining {name} change quality?", view_table=view, notes=[E.READ_NOTE, E.CHART_NOTE],
            table_html="" if view.missing else table_html(
                view.frame, E.DOMAIN_COLUMNS, view.caption, "events-domains", max_rows=500),
            studies_html="" if studies.missing else table_html(
                studies.frame, E.STUDY_COLUMNS, studies.caption, "events-studies", max_rows=500),
            groups_html="", charts=charts, group_id=group_id,
            download=f"/download/events/{{table}}.csv?group={quote(group_id, safe='')}")

    @app.get("/download/events/{table}.csv", include_in_schema=False)
    def events_download(request: Request, table: Download, group: GroupQ = None) -> Response:
        if group is not None:
            need_group(group)
        where, params = ("entity_type = ? AND entity_id = ?", [E.GROUP_ENTITY, group]) if group else ("", [])
        frame = data().table(table, where, params)
        if frame is None:
            raise not_found(f"table {table} (run gpscale evaluate --analysis events)")
        name = f"{group}_{table}.csv" if group else f"{table}.csv"
        return Response(csv_text(frame), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
