"""The dashboard's calibration page: how often random groups of practices are flagged, from the bundle.

Mounted by :func:`gpscale.web.app.create_app` (``/calibration``); renders the bundle's ``calibration``
table through :func:`gpscale.report.calibration.calibration_view` (no statistics here), linked from the
England overview.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from gpscale.report import sections as S
from gpscale.report.calibration import COLUMNS, calibration_view, placebo_sentence, size_sentence
from gpscale.report.data import ResultsData
from gpscale.report.html import table_html

Render = Callable[..., HTMLResponse]


def add_calibration_page(app: FastAPI, render: Render) -> None:
    """Add ``GET /calibration?conf=0.95|0.998`` to ``app`` (``render`` is the app's page renderer)."""

    @app.get("/calibration", response_class=HTMLResponse, include_in_schema=False)
    def calibration(request: Request, conf: Annotated[str, Query(pattern=r"^(0\.95|0\.998)$")] = "0.95") -> Response:
        data: ResultsData = app.state.data
        c = float(conf)
        view = calibration_view(data, c)
        ctx: dict[str, Any] = {
            "conf": conf, "pct": S.pct(c), "view_table": view, "sentence": placebo_sentence(data, c),
            "size_sentence": size_sentence(data, c),
            "table_html": "" if view.missing else table_html(view.frame, COLUMNS, view.caption, "calibration-table"),
        }
        return render("calibration.html.j2", request, title="Placebo calibration", **ctx)
