"""``gpscale serve``: the dashboard on localhost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_command(
    store: Annotated[Path, typer.Option("--store", help="DuckDB store (read once for names and membership).")],
    results: Annotated[Path, typer.Option("--results", help="Results folder written by gpscale evaluate --out.")],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (localhost by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    indicators_dir: Annotated[Path | None, typer.Option("--indicators", help="Extra definitions folder.")] = None,
    warm: Annotated[bool, typer.Option("--warm/--no-warm", help="Pre-render group and indicator pages.")] = True,
) -> None:
    """Serve the dashboard: England overview, groups, indicators, practices, search, CSV downloads, JSON API."""
    import uvicorn
    from rich.console import Console

    from gpscale.report.data import ResultsData
    from gpscale.store.command import check_for_command
    from gpscale.web.app import create_app

    err = Console(stderr=True)
    check_for_command(store)
    if not results.is_dir():
        err.print(f"[bold red]error:[/] no results folder at {results}; run gpscale evaluate --out {results}")
        raise typer.Exit(2)
    with err.status("loading results and applying disclosure control"):
        try:
            data = ResultsData(results, store, indicators_dir)
        except (FileNotFoundError, ValueError) as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from exc
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/] listening on {host}: the dashboard has no login; anyone who can reach "
                  "this address can read it")
    err.print(f"gpscale dashboard on http://{host}:{port}/ (data version {data.data_version}; Ctrl+C to stop)")
    uvicorn.run(create_app(data, warm=warm), host=host, port=port, log_level="warning", access_log=False)
