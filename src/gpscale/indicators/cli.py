"""Command line for indicators: ``gpscale indicators list|show|validate`` and ``gpscale compute``.

Mount with::

    app.add_typer(indicators_app, name="indicators")
    app.command("compute")(compute_command)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
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
    store: Annotated[Path | None, typer.Option("--store", help="The gpscale store (DuckDB file).")] = None,
    indicator: Annotated[
        list[str] | None, typer.Option("--indicator", help="Indicator id (repeat for several; default all).")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) or spark.")] = "duckdb",
    lake: Annotated[
        str | None,
        typer.Option("--lake", help="Read this Parquet lake (gpscale store export --lake; any path or URI Spark "
                                    "reads) instead of a store; needs --engine spark. See docs/spark.md."),
    ] = None,
    indicators: IndicatorsDir = None,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Write the practice-period values (.parquet or .csv; with --lake, a folder "
                                   "or URI, default LAKE/practice_values)."),
    ] = None,
    star_pu_vintage: Annotated[
        str | None, typer.Option("--star-pu-vintage", help="Override the STAR-PU vintage (2013 or 2009).")
    ] = None,
) -> None:
    """Compute indicators for every practice and period in the store (or, in Spark, in a Parquet lake)."""
    from gpscale.indicators.compute import ComputeError, compute_indicators
    from gpscale.store.command import check_for_command

    if lake is not None:
        _compute_lake(lake, engine, store, indicator, indicators, out, star_pu_vintage)
        return
    if store is None:
        typer.echo("name the store (--store FILE) or, with --engine spark, a lake (--lake DIR)", err=True)
        raise typer.Exit(2)
    if not store.exists():
        typer.echo(f"no store at {store}", err=True)
        raise typer.Exit(1)
    check_for_command(store)
    out_path = Path(out) if out is not None else None
    if out_path is not None and out_path.suffix.lower() not in (".parquet", ".csv"):
        typer.echo(f"--out must end in .parquet or .csv, not {out_path.name}", err=True)
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
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        if out_path.suffix.lower() == ".parquet":
            df.to_parquet(out_path, index=False)
        else:
            df.to_csv(out_path, index=False)
    summary = (
        df.assign(has_value=df.value.notna())
        .groupby(["indicator_id", "period_type"], sort=False)
        .agg(rows=("value", "size"), with_value=("has_value", "sum"), periods=("period", "nunique"))
        .reset_index()
    )
    _print_summary(summary, f"{len(df):,} practice-period rows" + (f" written to {out}" if out else ""))


def _print_summary(summary: pd.DataFrame, title: str) -> None:
    """Rows, periods and values per indicator and period type."""
    table = Table(title=title)
    for col in ("indicator", "period type", "periods", "rows", "with a value"):
        table.add_column(col, justify="left" if col in ("indicator", "period type") else "right")
    for r in summary.itertuples(index=False):
        table.add_row(r.indicator_id, r.period_type, f"{r.periods:,}", f"{r.rows:,}", f"{r.with_value:,}")
    Console().print(table)


def _compute_lake(
    lake: str, engine: str, store: Path | None, indicator: list[str] | None, indicators: Path | None,
    out: str | None, star_pu_vintage: str | None,
) -> None:
    """``compute --engine spark --lake DIR``: Spark computes from the lake and writes the values (Parquet,
    partitioned by indicator); the driver collects only the summary counts."""
    from gpscale.indicators.compute import ComputeError
    from gpscale.indicators.lake_source import lake_indicators, practice_values_path, write_practice_values
    from gpscale.store.lake import LakeError

    if engine != "spark" or store is not None:
        typer.echo("--lake reads the lake in Spark: use it with --engine spark and without --store", err=True)
        raise typer.Exit(2)
    dest = practice_values_path(lake, out)
    console = Console(stderr=True)
    try:
        with console.status(f"computing indicators in Spark from {lake}"):
            result = lake_indicators(lake, indicator or None, definitions_dir=indicators,
                                     star_pu_vintage=star_pu_vintage)
            write_practice_values(result.frame, dest)
            summary = _lake_summary(result.frame.sparkSession, dest, indicator or None)
    except (ComputeError, DefinitionError, LakeError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    _print_summary(summary, f"{int(summary.rows.sum()):,} practice-period rows written to {dest}")


def _lake_summary(session: Any, path: str, only: list[str] | None) -> pd.DataFrame:
    """Per indicator (``only`` these, if given) and period type in the written values: periods, rows, rows
    with a value (small)."""
    from pyspark.sql import functions as F

    from gpscale.indicators.lake_source import read_practice_values

    pv = read_practice_values(session, path)
    if only is not None:
        pv = pv.filter(pv.indicator_id.isin(only))
    rows = pv.groupBy("indicator_id", "period_type").agg(
        F.countDistinct("period").alias("periods"), F.count(F.lit(1)).alias("rows"),
        F.count("value").alias("with_value"),
    ).orderBy("indicator_id", "period_type").collect()
    return pd.DataFrame([tuple(r) for r in rows], columns=["indicator_id", "period_type", "periods", "rows",
                                                           "with_value"])
