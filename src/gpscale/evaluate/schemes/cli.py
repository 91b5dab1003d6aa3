"""``gpscale scheme validate|score|forecast|design SCHEME.yaml``: network incentive schemes from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

scheme_app = typer.Typer(help="Network incentive schemes: validate, score, forecast and design a scheme.",
                         no_args_is_help=True)

console = Console()
err = Console(stderr=True)

SchemeFile = Annotated[Path, typer.Argument(help="The scheme file (YAML; see docs/schemes.md).")]
StorePath = Annotated[Path, typer.Option("--store", help="DuckDB store file.")]
IndicatorsDir = Annotated[Path | None, typer.Option("--indicators", help="Folder of your own indicator "
                                                                         "definitions (*.yaml).")]
Excel = Annotated[bool, typer.Option("--excel", help="Also write one Excel workbook of the tables.")]
Out = Annotated[Path | None, typer.Option("--out", "--bundle", help="Write a results bundle here (Parquet, CSV, "
                                          "manifest; disclosure control applied). Put it in schemes/<id>/ beside "
                                          "the evaluation's bundle and the dashboard shows it.")]
Draws = Annotated[int | None, typer.Option("--draws", min=500, help="Simulation draws (default the scheme's).")]
Period = Annotated[str | None, typer.Option("--period", help="Score this financial year instead of the scheme's "
                                                             "(FY2023/24); forecasts are of the year after it.")]


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _load(path: Path, indicators: Path | None, period: str | None = None) -> Any:
    """The validated scheme (for ``period`` if given), or a clear error naming file, line and field."""
    from pydantic import ValidationError

    from gpscale.evaluate.schemes.loading import SchemeError, load_scheme
    from gpscale.indicators.library import DefinitionError

    try:
        s = load_scheme(path, definitions_dir=indicators)
    except (SchemeError, DefinitionError) as exc:
        _fail(f"{path} is not a valid scheme:\n{exc}" if isinstance(exc, SchemeError) else str(exc))
    if period is None:
        return s
    try:
        return s.for_period(period)
    except ValidationError as exc:
        _fail(f"--period {period}: " + "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))


def _inputs(scheme: Any, store: Path, indicators: Path | None) -> Any:
    from gpscale.evaluate.schemes.inputs import inputs_from_store
    from gpscale.indicators.compute import ComputeError
    from gpscale.store import open_store

    if not store.exists():
        _fail(f"no store at {store}; run gpscale ingest first")
    with open_store(store, read_only=True) as st:
        try:
            return inputs_from_store(st, scheme, indicators)
        except ComputeError as exc:
            _fail(str(exc))


def _prepare(scheme_file: Path, store: Path, indicators: Path | None, period: str | None) -> tuple[Any, Any]:
    """The validated scheme and its inputs from the store (or a clear error)."""
    s = _load(scheme_file, indicators, period)
    return s, _inputs(s, store, indicators)


def _money(pence: Any) -> str:
    try:
        return f"£{int(pence) / 100:,.2f}"
    except (TypeError, ValueError):
        return "—"


def _run(scheme_file: Path, store: Path, indicators: Path | None, period: str | None, out: Path | None,
         excel: bool, compute: Callable[[Any, Any], tuple[Any, Any, Any]],
         show: Callable[[Any, Any, Any, Any], None]) -> None:
    """The one skeleton of score, forecast and design: prepare, compute, summarise, write the bundle.

    ``compute(scheme, inputs)`` returns (score, forecast or None, design or None); with ``out`` they are
    written as a disclosed results bundle (:func:`gpscale.evaluate.schemes.bundle.scheme_bundle`).
    """
    from gpscale.bundle import write_bundle
    from gpscale.evaluate.schemes.bundle import scheme_bundle, scheme_meta

    s, inputs = _prepare(scheme_file, store, indicators, period)
    score_, forecast_, aid = compute(s, inputs)
    show(s, score_, forecast_, aid)
    if out is not None:
        gated = scheme_bundle(score_, inputs, forecast_, aid)
        paths = write_bundle(gated, out, meta=scheme_meta(score_, inputs, forecast_), excel=excel)
        hidden = sum(sum(v.values()) for v in gated.summary["hidden_rows_by_table"].values())
        console.print(f"wrote a results bundle of {len(gated.tables)} tables ({len(paths)} files) to "
                      f"{escape(str(out))}; disclosure control hid {hidden:,} rows")


@scheme_app.command("validate")
def validate(scheme_file: SchemeFile, indicators: IndicatorsDir = None) -> None:
    """Check a scheme file: the YAML, every field, and its indicators (no store needed)."""
    s = _load(scheme_file, indicators)
    console.print(f"{escape(str(scheme_file))}: valid scheme [bold]{escape(s.id)}[/] v{s.version} "
                  f"({escape(s.title)}), period {s.period}, membership {s.view.label}, {len(s.indicators)} targets")
    table = Table("target", "indicator", "type", "reward")
    for e in s.indicators:
        r = e.reward
        reward = (f"{r.points} points" if r.points is not None else f"£{r.amount:,}" if r.amount is not None
                  else f"{r.contract_share * 100:g}% of the contract")
        table.add_row(escape(e.target_id), escape(e.indicator), e.target.type.value, escape(reward))
    console.print(table)


@scheme_app.command("score")
def score(
    scheme_file: SchemeFile,
    store: StorePath = Path("out/gpscale.duckdb"),
    out: Out = None,
    excel: Excel = False,
    indicators: IndicatorsDir = None,
    period: Period = None,
) -> None:
    """Score every network: achievement, interval, points and payment per target, and member contributions."""
    from gpscale.evaluate.schemes.scoring import score_scheme

    _run(scheme_file, store, indicators, period, out, excel, lambda s, i: (score_scheme(s, i), None, None),
         _show_score)


def _show_score(s: Any, r: Any, _f: Any, _d: Any) -> None:
    from gpscale.evaluate.schemes.scoring import target_summary

    t = r.totals
    scored = r.scores[r.scores["status"] == "scored"]
    console.print(f"[bold]{escape(s.title)}[/] ({escape(s.id)} v{s.version}), {r.period}, membership "
                  f"{s.view.label}: {len(t):,} networks, {len(s.indicators)} targets")
    table = Table("target", "networks scored", "met", "target inside interval", "paid", title="Targets")
    for row in target_summary(r).itertuples():
        table.add_row(escape(str(row.target_id)), f"{row.n_networks:,}", _share(row.share_met),
                      _share(row.share_target_in_interval), _money(row.payment_pence))
    console.print(table)
    console.print(f"total paid {_money(t['payment_pence'].sum())} of {_money(t['payment_available_pence'].sum())} "
                  f"available; median network {_money(t['payment_pence'].median())}")
    if len(scored) < len(r.scores):
        console.print(f"[yellow]{len(r.scores) - len(scored):,} network x target rows not fully scored[/] "
                      "(see the status column)")


@scheme_app.command("forecast")
def forecast(
    scheme_file: SchemeFile,
    store: StorePath = Path("out/gpscale.duckdb"),
    out: Out = None,
    excel: Excel = False,
    indicators: IndicatorsDir = None,
    draws: Draws = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Random seed (default the scheme's).")] = None,
    period: Period = None,
) -> None:
    """Forecast next year: probability of meeting each target, expected payment and its interval."""
    from gpscale.evaluate.schemes.forecast import forecast_scheme
    from gpscale.evaluate.schemes.scoring import score_scheme

    _run(scheme_file, store, indicators, period, out, excel,
         lambda s, i: (score_scheme(s, i), forecast_scheme(s, i, draws=draws, seed=seed), None), _show_forecast)


def _show_forecast(s: Any, _r: Any, f: Any, _d: Any) -> None:
    from gpscale.evaluate.schemes.forecast import target_summary

    fc = f.forecasts
    console.print(f"[bold]{escape(s.title)}[/]: forecast of {f.period} from data up to {f.origin}, "
                  f"{int(fc['draws'].iloc[0]):,} draws, seed {int(fc['seed'].iloc[0])}")
    table = Table("target", "networks forecast", "expected to meet", "chance decides", "expected payment",
                  title="Targets next year")
    for row in target_summary(f).itertuples():
        table.add_row(escape(str(row.target_id)), f"{row.n_forecast:,}", _share(row.expected_share_met),
                      _share(row.share_chance_decides), _money(row.expected_payment_pence))
    console.print(table)
    for row in target_summary(f).itertuples():
        if row.note:
            console.print(f"[yellow]{escape(str(row.target_id))}: {escape(row.note)}[/]")
    console.print(f"expected total {_money(f.totals['expected_payment_pence'].sum())} over {len(f.totals):,} "
                  "networks")


@scheme_app.command("design")
def design_command(
    scheme_file: SchemeFile,
    store: StorePath = Path("out/gpscale.duckdb"),
    out: Out = None,
    excel: Excel = False,
    indicators: IndicatorsDir = None,
    draws: Draws = None,
    period: Period = None,
) -> None:
    """Design aid: distribution of payments, share meeting each target, and a sweep of each target."""
    from gpscale.evaluate.schemes.design import design

    def compute(s: Any, i: Any) -> tuple[Any, Any, Any]:
        d = design(s, i, draws=draws)
        return d.score, d.forecast, d

    _run(scheme_file, store, indicators, period, out, excel, compute, _show_design)


def _show_design(_s: Any, _r: Any, _f: Any, d: Any) -> None:
    table = Table("basis", "period", "networks", "total", "median", "10th-90th centile", title="Payment per network")
    for r in d.distribution.itertuples():
        table.add_row(str(r.basis), str(r.period), f"{r.n_networks:,}", _money(r.total_pence),
                      _money(r.median_pence), f"{_money(r.p10_pence)} to {_money(r.p90_pence)}")
    console.print(table)
    tt = Table("target", "met now", "expected next year", "chance decides", title="Targets")
    for r in d.targets.itertuples():
        tt.add_row(escape(str(r.target_id)), _share(r.share_met), _share(r.expected_share_met),
                   _share(r.share_chance_decides))
    console.print(tt)


def _share(x: Any) -> str:
    return "—" if x is None or x != x else f"{x:.0%}"
