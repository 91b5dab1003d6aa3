"""Command line for indicators: ``gpscale indicators list|show|validate`` and ``gpscale compute``.

Mount with::

    app.add_typer(indicators_app, name="indicators")
    app.command("compute")(compute_command)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from gpscale.indicators.library import DefinitionError, load_definitions, load_dir
from gpscale.indicators.model import IndicatorDefinition

indicators_app = typer.Typer(
    help="Indicator definitions: list them, show one, validate a folder of your own.",
    no_args_is_help=True,
)

IndicatorsDir = Annotated[
    Path | None,
    typer.Option("--indicators", help="Folder of your own definitions (*.yaml) to add or override defaults."),
]


def _load(indicators: Path | None) -> dict[str, IndicatorDefinition]:
    try:
        return load_definitions(indicators)
    except DefinitionError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@indicators_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object per indicator).")] = False,
    indicators: IndicatorsDir = None,
) -> None:
    """List indicators: id, domain, title, value type, polarity."""
    defs = _load(indicators)
    rows = [d.summary() for d in defs.values()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} indicators")
    for col in ("id", "domain", "title", "value_type", "polarity", "period_types"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(", ".join(v) if isinstance(v, list) else str(v) for k, v in r.items() if k != "version"))
    Console().print(table)


@indicators_app.command("show")
def show_command(indicator_id: str, indicators: IndicatorsDir = None) -> None:
    """Show one indicator's full definition (as YAML)."""
    defs = _load(indicators)
    if indicator_id not in defs:
        typer.echo(f"unknown indicator {indicator_id!r}; known: {', '.join(defs)}", err=True)
        raise typer.Exit(1)
    data = defs[indicator_id].model_dump(mode="json", by_alias=True, exclude_none=True)
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


@indicators_app.command("validate")
def validate_command(directory: Path) -> None:
    """Validate every definition in DIRECTORY; errors name the file and field."""
    try:
        defs = load_dir(directory)
    except DefinitionError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{len(defs)} definition(s) valid in {directory}: {', '.join(defs) or '(none)'}")


def compute_command(
    store: Annotated[Path, typer.Option("--store", help="The gpscale store (DuckDB file).")],
    indicator: Annotated[
        list[str] | None, typer.Option("--indicator", help="Indicator id (repeat for several; default all).")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) or spark.")] = "duckdb",
    indicators: IndicatorsDir = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the practice-period values (.parquet or .csv).")
    ] = None,
    star_pu_vintage: Annotated[
        str | None, typer.Option("--star-pu-vintage", help="Override the STAR-PU vintage (2013 or 2009).")
    ] = None,
) -> None:
    """Compute indicators for every practice and period in the store."""
    from gpscale.indicators.compute import ComputeError, compute_indicators
    from gpscale.store.command import check_for_command

    if not store.exists():
        typer.echo(f"no store at {store}", err=True)
        raise typer.Exit(1)
    check_for_command(store)
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        typer.echo(f"--out must end in .parquet or .csv, not {out.name}", err=True)
        raise typer.Exit(2)
    console = Console(stderr=True)
    try:
        with console.status(f"computing indicators on {engine}"):
            df = compute_indicators(
                store, indicator or None, engine=engine, definitions_dir=indicators,
                star_pu_vintage=star_pu_vintage,
            )
    except (ComputeError, DefinitionError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".parquet":
            df.to_parquet(out, index=False)
        else:
            df.to_csv(out, index=False)
    summary = (
        df.assign(has_value=df.value.notna())
        .groupby(["indicator_id", "period_type"], sort=False)
        .agg(rows=("value", "size"), with_value=("has_value", "sum"), periods=("period", "nunique"))
        .reset_index()
    )
    table = Table(title=f"{len(df):,} practice-period rows" + (f" written to {out}" if out else ""))
    for col in ("indicator", "period type", "periods", "rows", "with a value"):
        table.add_column(col, justify="left" if col in ("indicator", "period type") else "right")
    for r in summary.itertuples(index=False):
        table.add_row(r.indicator_id, r.period_type, f"{r.periods:,}", f"{r.rows:,}", f"{r.with_value:,}")
    Console().print(table)
