"""``gpscale calibrate``: how often random groups of practices are flagged by each comparison, per indicator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def calibrate_command(
    store: Annotated[Path, typer.Option("--store", help="DuckDB store file.")] = Path("out/gpscale.duckdb"),
    out: Annotated[Path, typer.Option("--out", help="Folder for calibration.parquet and calibration.csv.")] = Path(
        "out/calibration"),
    groups: Annotated[int, typer.Option("--groups", min=10, help="Number of placebo groups.")] = 400,
    practices: Annotated[int, typer.Option("--practices", min=1, help="Practices per placebo group (unless "
                                                                     "--size-from-groups).")] = 6,
    size_from_groups: Annotated[bool, typer.Option(
        "--size-from-groups", help="Copy the sizes (practices and patients) of the store's groups.")] = False,
    region: Annotated[bool, typer.Option("--region", help="Draw each placebo group within one region.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same groups.")] = 1,
    indicator: Annotated[list[str] | None, typer.Option("--indicator", help="Indicator id (repeatable; "
                                                                            "default every one with data).")] = None,
    analysis: Annotated[list[str] | None, typer.Option(
        "--analysis", help="scorecard | funnels | size | trends (repeatable; default all).")] = None,
    view: Annotated[str, typer.Option("--view", help="Membership view of the groups whose sizes are "
                                                     "copied.")] = "as-was",
) -> None:
    """Draw random groups of practices (no group effect by construction) and report how often each comparison
    flags them better or worse than England, per indicator and confidence level."""
    from gpscale.evaluate.calibration import ANALYSES, PlaceboDesign, calibrate
    from gpscale.store import open_store

    if not store.exists():
        _fail(f"no store at {store}; run gpscale ingest first")
    chosen = analysis or list(ANALYSES)
    bad = [a for a in chosen if a not in ANALYSES]
    if bad:
        _fail(f"unknown analysis {', '.join(bad)}; choose from {', '.join(ANALYSES)}")
    design = PlaceboDesign(groups=groups, practices=practices, size_from_groups=size_from_groups, region=region,
                           seed=seed)
    t0 = time.perf_counter()

    def step(msg: str) -> None:
        err.print(f"[cyan]{time.perf_counter() - t0:6.1f}s[/] {escape(msg)}")

    with open_store(store, read_only=True) as st:
        try:
            cal = calibrate(st, design, indicator_ids=indicator or None, analyses=chosen, view=view, progress=step)
        except ValueError as exc:
            _fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    cal.table.to_parquet(out / "calibration.parquet", index=False)
    cal.table.to_csv(out / "calibration.csv", index=False)
    _print_summary(cal.table)
    console.print(f"wrote calibration.parquet and calibration.csv ({len(cal.table):,} rows) to {out} in "
                  f"{time.perf_counter() - t0:.0f}s")


def _print_summary(table: pd.DataFrame) -> None:
    """Every analysis x indicator at 95%, all periods pooled: flagged each way against 2.5% nominal."""
    t = table[(table["period"] == "all") & (table["confidence"] == 0.95)]
    if t.empty:
        console.print("no placebo comparisons could be made (no indicator with data?)")
        return
    view = Table("analysis", "comparison", "indicator", "periods", "compared", "higher", "lower", "verdict",
                 title="Random groups flagged at 95% (nominal 2.5% each way, 5% in all)")
    for r in t.itertuples():
        view.add_row(str(r.analysis), str(r.comparison_type), str(r.indicator_id), f"{r.period_type} x{r.n_periods}",
                     f"{r.compared:,}", f"{r.higher_rate:.1%}", f"{r.lower_rate:.1%}", str(r.verdict))
    console.print(view)
