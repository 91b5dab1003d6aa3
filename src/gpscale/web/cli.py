"""``gpscale serve``: the dashboard on localhost, reading a results bundle in place."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_command(
    results: Annotated[Path, typer.Option("--results", help="Results bundle written by gpscale evaluate --out.")],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (localhost by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the dashboard: England overview, groups, indicators, practices, search, CSV downloads, JSON API."""
    import uvicorn
    from rich.console import Console
    from rich.markup import escape

    from gpscale.bundle import BundleError, open_bundle
    from gpscale.web.app import create_app

    err = Console(stderr=True)
    try:
        bundle = open_bundle(results)
    except BundleError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/] listening on {host}: the dashboard has no login; anyone who can reach "
                  "this address can read it")
    err.print(f"gpscale dashboard on http://{host}:{port}/ (data version {bundle.data_version}; Ctrl+C to stop)")
    uvicorn.run(create_app(bundle), host=host, port=port, log_level="warning", access_log=False)
