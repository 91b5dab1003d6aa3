"""``gpscale report``: a group's board pack or the national report, as self-contained HTML (and PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_command(
    results: Annotated[Path, typer.Option("--results", help="Results folder written by gpscale evaluate --out.")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write (the PDF goes next to it).")],
    group: Annotated[str | None, typer.Option("--group", help="Group ID: write this group's board pack.")] = None,
    national: Annotated[bool, typer.Option("--national", help="Write the national report.")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write a PDF (needs WeasyPrint).")] = False,
    store: Annotated[Path | None, typer.Option("--store", help="Store for names and membership (recommended).")] = None,
    confidence: Annotated[str, typer.Option("--confidence", help="0.95 or 0.998")] = "0.95",
    indicators_dir: Annotated[Path | None, typer.Option("--indicators", help="Extra definitions folder.")] = None,
) -> None:
    """Write a group's board pack (--group ID) or the national report (--national)."""
    from rich.console import Console

    from gpscale.report.board import write_group_report, write_national_report
    from gpscale.report.data import ResultsData

    err = Console(stderr=True)

    def fail(msg: str) -> None:
        err.print(f"[bold red]error:[/] {msg}")
        raise typer.Exit(2)

    if (group is None) == (not national):
        fail("give exactly one of --group ID or --national")
    if confidence not in ("0.95", "0.998"):
        fail("--confidence must be 0.95 or 0.998")
    if store is not None:
        from gpscale.store.command import check_for_command

        check_for_command(store)
    try:
        with err.status("loading results"):
            data = ResultsData(results, store, indicators_dir)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    conf = float(confidence)
    try:
        with err.status("writing the report"):
            if national:
                paths = write_national_report(data, out, conf, pdf)
            else:
                assert group is not None
                if group not in data.group_ids:
                    fail(f"no group {group!r} in {results} (try gpscale serve and search, or the groups table)")
                paths = write_group_report(data, group, out, conf, pdf)
    except RuntimeError as exc:
        fail(str(exc))
    Console().print("wrote " + ", ".join(str(p) for p in paths))
