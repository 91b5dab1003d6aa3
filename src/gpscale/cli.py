"""The ``gpscale`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gpscale.evaluate.calibration_cli import calibrate_command
from gpscale.evaluate.cli import evaluate_command
from gpscale.evaluate.schemes.cli import scheme_app
from gpscale.fetch.cli import fetch_app
from gpscale.groups.cli import groups_app
from gpscale.indicators.cli import compute_command, indicators_app
from gpscale.report.cli import report_command
from gpscale.sources.base import SourceError
from gpscale.sources.rx_codes import RxCodeSet
from gpscale.store.db import Store
from gpscale.surveys.cli import survey_app
from gpscale.web.cli import serve_command

app = typer.Typer(
    name="gpscale",
    help="Evaluate large-scale general practice in England on NHS quality indicators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
store_app = typer.Typer(help="Inspect the store.", no_args_is_help=True)
app.add_typer(store_app, name="store")
app.add_typer(indicators_app, name="indicators")
app.add_typer(survey_app, name="survey")
app.command("compute")(compute_command)
app.add_typer(groups_app, name="groups")
app.command("evaluate")(evaluate_command)
app.add_typer(scheme_app, name="scheme")
app.command("calibrate")(calibrate_command)
app.command("report")(report_command)
app.command("serve")(serve_command)
app.add_typer(fetch_app, name="fetch")

console = Console()
err = Console(stderr=True)

StorePath = Annotated[Path, typer.Option("--store", help="DuckDB store file (created if absent).")]


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def fail(message: str, code: int = 2) -> None:
    """Print a clear error (no traceback) and exit non-zero."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write synthetic England into.")] = Path("out/synth"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives identical files.")] = 1,
    practices: Annotated[int, typer.Option("--practices", min=20, help="Practices open at the end.")] = 6500,
) -> None:
    """Generate synthetic England in the published NHS layouts, with its ground truth."""
    from gpscale.synth import generate

    with _progress() as progress:
        task = progress.add_task("synthetic England", total=11)

        def step(label: str, i: int, n: int) -> None:
            progress.update(task, completed=i, total=n, description=f"synth: {label}")

        result = generate(out, seed=seed, practices=practices, progress=step)
        progress.update(task, completed=progress.tasks[0].total)
    console.print(
        f"wrote {len(result.files)} files to {out}: {result.practices_ever} practices ever open, "
        f"{result.practices_open_at_end} open at the end, {result.pcns} PCNs, "
        f"{result.groups - result.pcns} named groups"
    )


def _rx_codes(indicators_dir: Path | None) -> RxCodeSet:
    """The BNF prefixes every installed prescribing definition reads (what ingest sums prescribing to)."""
    from gpscale.indicators.library import load_definitions
    from gpscale.indicators.rx_served import code_set

    try:
        return code_set(load_definitions(indicators_dir).values())
    except (ValueError, OSError) as exc:
        fail(f"--indicators: {exc}")
        raise


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Files or folders of published files; with --from-cache, catalogue entries (qof, qof/2019-20).")] = None,
    store: StorePath = Path("out/gpscale.duckdb"),
    from_cache: Annotated[bool, typer.Option("--from-cache", help="Ingest files from the `gpscale fetch` cache: "
                                             "the entries named, or every cached edition.")] = False,
    cache: Annotated[Path | None, typer.Option("--cache", help="Cache folder (with --from-cache).")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace a stored edition even where the comparison with it refuses (data lost, other "
        "period, different content); the ingest log keeps both editions' fingerprints.")] = False,
    period: Annotated[str | None, typer.Option(
        "--period", help="The period of files that carry none in their content or name: a financial year "
        "(FY2019/20) or a month (2019-09).")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse files in the folders named that no loader recognises (by default they are "
        "listed and skipped with a warning).")] = False,
    keep_rows: Annotated[bool, typer.Option(
        "--keep-rows", help="Keep every prescribing row (by default rows are summed per practice, month and the "
        "BNF codes the installed indicator definitions read).")] = False,
    indicators_dir: Annotated[Path | None, typer.Option(
        "--indicators", help="Extra definitions folder whose prescribing codes the sums must also serve.")] = None,
) -> None:
    """Detect each file's format and load it into the store, atomically (all files or none).

    Files in the folders named that no loader recognises (notes, codebooks, other data) are listed and
    skipped; a file of a recognised format that is faulty rejects the whole command.
    """
    from gpscale.sources.period_policy import parse_stated_period
    from gpscale.store.command import open_for_command
    from gpscale.store.ingest import ingest as run_ingest

    if from_cache:
        from gpscale.fetch.cli import ingest_paths_from_cache

        paths = ingest_paths_from_cache(cache, [str(p) for p in paths or []])
    elif not paths:
        fail("name the files or folders to ingest, or use --from-cache")
    assert paths is not None

    if period is not None:
        try:
            period = parse_stated_period(period)
        except ValueError as exc:
            fail(f"--period: {exc}")
    with open_for_command(store, must_exist=False) as st, _progress() as progress:
        task = progress.add_task("ingest", total=None)

        def step(path: Path, i: int, n: int) -> None:
            progress.update(task, completed=i, total=n, description=f"ingest {path.name}")

        try:
            report = run_ingest(st, paths, progress=step, replace=replace, period=period, strict=strict,
                                rx_codes=None if keep_rows else _rx_codes(indicators_dir))
        except SourceError as exc:
            progress.stop()
            fail(f"{exc}\nnothing was written: the store is as it was before this command.")
        progress.update(task, completed=len(report.files))
        membership = _membership_summary(st) if report.files else None
    table = Table("file", "format", "status", "rows", "loaded", "rejected", "nulls", title="ingest")
    for f in report.files:
        table.add_row(f.path.name, f.format, f.status, str(f.rows_in), str(f.rows_loaded), str(f.rows_rejected),
                      str(f.nulls_suppressed))
    if len(report.files) > 40:
        console.print(f"{len(report.files)} files; {sum(f.rows_loaded for f in report.files):,} rows loaded")
    else:
        console.print(table)
    for f in report.files:
        if f.message:
            console.print(f"[yellow]{escape(f.path.name)}[/]: {escape(f.message)}")
    if report.rejects:
        console.print(f"[yellow]{len(report.rejects)} rows quarantined[/] (see the rejects table); first 10:")
        for path, r in report.rejects[:10]:
            console.print(escape(f"  {path.name} {r.location()}: [{r.rule}] {r.detail}"))
    if report.skipped:
        err.print(f"[yellow]warning:[/] {len(report.skipped)} file(s) skipped, not a format gpscale loads "
                  "(--strict refuses them):")
        for s in report.skipped:
            err.print(escape(f"  {s.path}: {s.reason}"), soft_wrap=True)
    if membership:
        console.print(escape(membership), soft_wrap=True)


def _membership_summary(store: Store) -> str | None:
    """The PCN membership line of the ingest summary (placeholders, merged spells, source conflicts)."""
    from gpscale.groups.membership import membership_report

    has = store.con.execute(
        "SELECT (SELECT count(*) FROM membership) + (SELECT count(*) FROM practice_attribute WHERE attribute = "
        "'pcn_code')").fetchall()[0][0]
    return membership_report(store).summary() if has else None


@store_app.command("summary")
def store_summary(
    store: StorePath = Path("out/gpscale.duckdb"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per table, source and period: row counts and distinct practices."""
    from gpscale.store.command import open_for_command

    with open_for_command(store, read_only=True) as st:
        rows = st.summary()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
        return
    table = Table("table", "source", "file", "period", "rows", "practices", title=str(store))
    for r in rows:
        table.add_row(r["table"], r["source"], r["file"], str(r["period"] or ""), f"{r['rows']:,}",
                      "" if r["practices"] is None else f"{r['practices']:,}")
    console.print(table)


@store_app.command("export")
def store_export(
    lake: Annotated[Path, typer.Option("--lake", help="Folder for the Parquet lake (new or empty).")],
    store: StorePath = Path("out/gpscale.duckdb"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the lake already in that folder.")] = False,
) -> None:
    """Write the canonical tables as Parquet partitioned by source and period (hive layout), with the groups'
    membership spells, for Spark (docs/spark.md)."""
    from gpscale.groups.spark_pool import SPELLS, spell_table
    from gpscale.store.command import open_for_command
    from gpscale.store.lake import LakeError, export_lake

    with open_for_command(store, read_only=True) as st:
        try:
            counts = export_lake(st, lake, overwrite=overwrite, derived={SPELLS: spell_table(st)})
        except LakeError as exc:
            fail(str(exc))
    console.print(f"lake {lake}: " + ", ".join(f"{t} {n:,}" for t, n in counts.items() if n))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for everything the demo writes.")] = Path("out"),
    seed: Annotated[int, typer.Option("--seed")] = 1,
    practices: Annotated[int, typer.Option("--practices", min=20)] = 6500,
    csv: Annotated[bool, typer.Option("--csv", help="Also write a CSV copy of each results table.")] = False,
    excel: Annotated[bool, typer.Option("--excel", help="Also write results.xlsx (one sheet per table).")] = False,
) -> None:
    """Run the main job on synthetic England: generate, ingest, compute, evaluate, report."""
    import time

    from gpscale.pipeline import named_group_summary, run_demo, size_summary

    t0 = time.perf_counter()

    def step(msg: str) -> None:
        err.print(f"[bold cyan]{time.perf_counter() - t0:6.1f}s[/] {msg}")

    result = run_demo(out, seed=seed, practices=practices, step=step, csv=csv, excel=excel)
    summary = named_group_summary(result.evaluation)
    table = Table("group", "indicator", "period", "value (95% CI)", "England", "vs England",
                  title="Named groups, latest year (as-was membership, 95% intervals)")
    for r in summary.sort_values(["entity_id", "indicator_id"]).itertuples():
        table.add_row(r.entity_id, r.indicator_id, r.period, f"{r.value:.2f} ({r.lower:.2f}-{r.upper:.2f})",
                      f"{r.comparator_value:.2f}", r.comparison)
    console.print(table)
    size = size_summary(result.evaluation)
    if not size.empty:
        sized = Table("indicator", "period", "groups", "change per doubling of patients (95% CI)",
                      title="Is bigger better? (latest year; random-effects meta-regression)")
        for r in size.sort_values("indicator_id").itertuples():
            estimate = ("—" if r.per_doubling_natural != r.per_doubling_natural  # NaN: no estimate
                        else f"{r.per_doubling_natural:+.3g} ({r.natural_lower:+.3g} to {r.natural_upper:+.3g})")
            sized.add_row(r.indicator_id, r.period, str(r.n_groups), estimate)
        console.print(sized)
        for r in size.sort_values("indicator_id").itertuples():
            console.print(f"[bold]{escape(r.indicator_id)}[/]: {escape(r.conclusion)}", soft_wrap=True)
    _demo_surveys(out, step)
    console.print(f"report: [bold]{result.report}[/]; tables: {result.out / 'results'}; store: {result.store}")
    console.print(f"done in {time.perf_counter() - t0:.0f}s")


def _demo_surveys(out: Path, step: Callable[[str], None]) -> None:
    """Analyse the synthetic collaboration and staff surveys (Table-1 layout, satisfaction by role)."""
    from gpscale.surveys.cli import print_summary
    from gpscale.surveys.report import build_survey_report

    surveys = out / "synth" / "surveys"
    for kind in ("collaboration", "staff"):
        codebook, responses = surveys / f"{kind}_codebook.yaml", surveys / f"{kind}_responses.csv"
        if not codebook.exists():
            continue
        step(f"analysing the synthetic {kind} survey")
        print_summary(console, build_survey_report(codebook, responses, out / "surveys" / kind))


def main() -> None:  # pragma: no cover - console entry point
    app()
