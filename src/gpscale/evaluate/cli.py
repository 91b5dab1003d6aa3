"""``gpscale evaluate``: every group x indicator x period against England, trends, variation, characteristics
and the national "is bigger better?" analysis, written as tidy tables."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    import pandas as pd

console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def evaluate_command(
    store: Annotated[Path, typer.Option("--store", help="DuckDB store file.")] = Path("out/gpscale.duckdb"),
    out: Annotated[Path, typer.Option("--out", help="Folder for the results bundle (disclosed tables + manifest).")
                   ] = Path("out/results"),
    groups: Annotated[Path | None, typer.Option("--groups", help="A group registry file (YAML or CSV) to "
                                                                 "evaluate alongside the store's groups.")] = None,
    indicator: Annotated[list[str] | None, typer.Option("--indicator", help="Indicator id (repeatable; "
                                                                            "default every one with data).")] = None,
    view: Annotated[str, typer.Option("--view", help="as-was | cohort:YYYY-MM-DD | ever")] = "as-was",
    indicators_dir: Annotated[Path | None, typer.Option("--indicators", help="Extra definitions folder.")] = None,
    analysis: Annotated[list[str] | None, typer.Option(
        "--analysis", help="scorecard | trends | variation | characteristics | size | events (repeatable; "
                           "default all)."
    )] = None,
    excel: Annotated[bool, typer.Option("--excel", help="Also write results.xlsx (one sheet per table).")] = False,
    n_boot: Annotated[int, typer.Option("--n-boot", min=99, help="Bootstrap resamples for convergence.")] = 499,
    comparator: Annotated[str, typer.Option("--comparator", help="What each group is compared with in the "
                                                                 "scorecard, trends and funnels: england | region | "
                                                                 "icb | peers:K (K nearest groups).")
                          ] = "england",
    calibration_groups: Annotated[int, typer.Option(
        "--calibration-groups", min=50, help="Placebo groups per period for the calibration (random groups of "
                                             "practices sized like the real groups).")] = 400,
    calibration_seed: Annotated[int, typer.Option("--calibration-seed", help="Seed of the placebo groups.")] = 14,
    no_calibration: Annotated[bool, typer.Option(
        "--no-calibration", help="Skip the calibration (how often random groups would be flagged).")] = False,
) -> None:
    """Every group in the store (PCNs and registry groups) against England: the five analyses, as tables."""
    from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
    from gpscale.evaluate.calibration import PlaceboDesign
    from gpscale.evaluate.comparator import Comparator
    from gpscale.evaluate.run import ANALYSES, evaluate
    from gpscale.store.command import check_for_command, open_for_command

    check_for_command(store)
    chosen = analysis or list(ANALYSES)
    bad = [a for a in chosen if a not in ANALYSES]
    if bad:
        _fail(f"unknown analysis {', '.join(bad)}; choose from {', '.join(ANALYSES)}")
    try:
        Comparator.parse(comparator)
    except ValueError as exc:
        _fail(str(exc))
    if groups is not None and not groups.exists():
        _fail(f"no such groups file: {groups}")
    t0 = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=True) as progress:
        task = progress.add_task("evaluate", total=None)

        def step(msg: str) -> None:
            progress.update(task, description=msg)
            err.print(f"[cyan]{time.perf_counter() - t0:6.1f}s[/] {escape(msg)}")

        with open_for_command(store, read_only=True) as st:
            try:
                design = None if no_calibration else PlaceboDesign(groups=calibration_groups, seed=calibration_seed)
                ev = evaluate(st, indicator or None, view, indicators_dir, groups_file=groups, analyses=chosen,
                              comparator=comparator, n_boot=n_boot, progress=step, calibration=design)
            except ValueError as exc:
                _fail(str(exc))
        step("disclosure control: hiding small counts and what could reveal them")
        bundle = make_bundle(ev)
        step("writing the results bundle")
        paths = write_bundle(bundle, out, meta=bundle_meta(ev), excel=excel)
    n_groups = ev.members["group_id"].nunique()
    console.print(
        f"{n_groups:,} groups × {len(ev.definitions)} indicators, view {ev.view.label}, data version "
        f"{ev.data_version}; analyses: {', '.join(ev.analyses)}"
    )
    for name, df in bundle.tables.items():
        if len(df):
            console.print(f"  {name}: {len(df):,} rows")
    for rule, n in bundle.summary["hidden_cells_by_rule"].items():
        console.print(f"  hidden ({escape(rule)}): {n:,} cells")
    console.print(f"wrote {len(paths)} files to {out} in {time.perf_counter() - t0:.0f}s")
    summary = ev.extra.get("event_summary")
    if summary is not None and not summary.empty:  # issue 15: what the event studies found, per event kind
        kinds = summary[summary["entity_type"] == "event_kind"]
        console.print("[bold]Did scaling up change quality?[/] (event studies, per event kind)")
        for (kind, verdict), n in kinds.groupby(["event_kind", "verdict"]).size().items():
            console.print(f"  {escape(str(kind))}: {escape(str(verdict))} for {n} indicator(s)")
    if ev.calibration is not None:  # issue 14: how often random groups of practices are flagged
        console.print(f"[bold]Calibration[/] ({escape(ev.calibration['design'])}; {ev.calibration['seconds']}s): "
                      "random groups flagged at 95%, every year pooled, evaluative / descriptive")
        for line in calibration_lines(ev.extra.get("calibration")):
            console.print(f"  {escape(line)}")
    if not ev.size_effect.empty:
        latest = ev.size_effect.sort_values("period").groupby("indicator_id").tail(1)
        console.print("[bold]Is bigger better?[/] (latest year of each indicator)")
        for r in latest.itertuples():
            console.print(f"  {r.indicator_id} {r.period} ({r.n_groups} groups): {escape(str(r.conclusion))}")


def calibration_lines(table: pd.DataFrame | None) -> list[str]:
    """The scorecard's placebo rates per indicator at 95% (financial years pooled), one line each."""
    if table is None or table.empty:
        return []
    t = table[(table["analysis"] == "scorecard") & (table["period"] == "all") & (table["period_type"] == "fy")
              & (table["confidence"] == 0.95)]
    rates = t.pivot_table(index="indicator_id", columns="comparison_type", values="flagged_rate", aggfunc="first")
    return [f"{ind}: {r.get('evaluative', float('nan')):.1%} / {r.get('descriptive', float('nan')):.1%}"
            for ind, r in rates.iterrows()]
