"""``gpscale groups ...``: import PCN membership, validate a registry file, list the groups in a store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

groups_app = typer.Typer(help="Groups of practices: import PCNs, validate registry files, list groups.",
                         no_args_is_help=True)

console = Console()
err = Console(stderr=True)

#: Publications that carry PCN membership: the ePCN workbook and the files with PCN columns.
PCN_FORMATS = ("ods_epcn", "qof_achievement", "qof_geographies", "gp_reg_map", "nhs_payments")

StorePath = Annotated[Path, typer.Option("--store", help="DuckDB store file.")]


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@groups_app.command("import-pcn")
def import_pcn(
    files: Annotated[list[Path], typer.Argument(help="ePCN workbook(s), or QOF / geographies / registrations-map "
                                                     "/ payments files with PCN columns.")],
    store: StorePath = Path("out/gpscale.duckdb"),
) -> None:
    """Load PCN membership from published files (atomically, like ``gpscale ingest``)."""
    from gpscale.groups.membership import membership_report
    from gpscale.groups.registry import group_records
    from gpscale.sources.base import SourceError
    from gpscale.sources.registry import detect
    from gpscale.store.command import open_for_command
    from gpscale.store.ingest import expand_paths, ingest

    try:
        paths = expand_paths(files)
        for p in paths:
            fmt, _ = detect(p)
            if fmt.name not in PCN_FORMATS:
                _fail(f"{p.name}: [not-a-pcn-source] this is a {fmt.name} file; PCN membership comes from "
                      f"{', '.join(PCN_FORMATS)} files")
    except SourceError as exc:
        _fail(str(exc))
    with open_for_command(store, must_exist=False) as st:
        try:
            report = ingest(st, paths)
        except SourceError as exc:
            _fail(f"{exc}\nnothing was written: the store is as it was before this command.")
        groups = group_records(st)
        membership = membership_report(st)
        sp = membership.spells
    pcns = groups[groups["kind"] == "pcn"]
    pcn_spells = sp[sp["group_id"].isin(set(pcns["group_id"]))]
    for f in report.files:
        console.print(f"{escape(f.path.name)}: {f.format}, {f.status}, {f.rows_loaded:,} rows"
                      + (f" ({escape(f.message)})" if f.message else ""))
    by_source = pcn_spells.groupby("source")["practice_code"].size().to_dict()
    console.print(
        f"{len(pcns):,} PCNs in the store; {len(pcn_spells):,} PCN membership spells for "
        f"{pcn_spells['practice_code'].nunique():,} practices ("
        + ", ".join(f"{v:,} from {k}" for k, v in sorted(by_source.items())) + ")"
    )
    console.print(escape(membership.summary()))


@groups_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="A group registry file (YAML or CSV).")],
    store: Annotated[Path | None, typer.Option("--store", help="Check practice codes and parents against this "
                                                                 "store.")] = None,
) -> None:
    """Check a registry file against every rule; exit 1 if it would be rejected."""
    from gpscale.sources.base import SourceError
    from gpscale.sources.registry_file import read_registry, registry_problems

    if not file.exists():
        _fail(f"no such file: {file}")
    try:
        groups, spell_list = read_registry(file)
    except SourceError as exc:
        _fail(str(exc), 1)
    known_groups: set[str] | None = None
    known_practices: list[str] | None = None
    if store is not None:
        from gpscale.store.command import open_for_command

        with open_for_command(store, read_only=True) as st:
            known_groups = {r[0] for r in st.con.execute("SELECT group_id FROM group_record").fetchall()}
            known_practices = sorted(r[0] for r in st.con.execute(
                "SELECT practice_code FROM practice_record UNION SELECT practice_code FROM membership").fetchall())
    problems = registry_problems(groups, spell_list, known_groups, known_practices)
    errors = [p for p in problems if p.level == "error"]
    for p in problems:
        colour = "red" if p.level == "error" else "yellow"
        console.print(f"[{colour}]{p.level}[/]: " + escape(f"{file.name} ({p.where}): [{p.rule}] {p.detail}"))
    n_practices = len({s.practice_code for s in spell_list})
    console.print(f"{file.name}: {len(groups)} groups, {len(spell_list)} spells, {n_practices} practices; "
                  f"{len(errors)} errors, {len(problems) - len(errors)} warnings")
    if errors:
        raise typer.Exit(1)


@groups_app.command("list")
def list_groups(
    store: StorePath = Path("out/gpscale.duckdb"),
    kind: Annotated[str | None, typer.Option("--kind", help="Only groups of this kind (e.g. pcn).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every group in the store: kind, source, spells and practices ever."""
    from gpscale.groups.registry import group_table
    from gpscale.store.command import open_for_command

    with open_for_command(store, read_only=True) as st:
        table = group_table(st)
    if kind:
        table = table[table["kind"] == kind]
    if as_json:
        sys.stdout.write(table.to_json(orient="records", date_format="iso") + "\n")
        return
    t = Table("group", "name", "kind", "source", "practices ever", "spells", "first start", "last end",
              title=f"{len(table):,} groups in {store}")
    for r in table.itertuples():
        t.add_row(str(r.group_id), str(r.name), str(r.kind), str(r.source), str(r.practices_ever), str(r.spells),
                  "" if r.first_start is None or r.first_start != r.first_start else str(r.first_start)[:10],
                  "open" if r.last_end is None or r.last_end != r.last_end else str(r.last_end)[:10])
    console.print(t)



@groups_app.command("pool")
def pool(
    lake: Annotated[str, typer.Option("--lake", help="The Parquet lake (gpscale store export --lake; any path or "
                                                     "URI Spark reads).")],
    out: Annotated[str | None, typer.Option("--out", help="Folder or URI for the pooled values (Parquet; default "
                                                          "LAKE/pooled_values).")] = None,
    values: Annotated[str | None, typer.Option("--values", help="The practice values (default LAKE/practice_values, "
                                                                "where gpscale compute --lake writes them).")] = None,
    view: Annotated[str, typer.Option("--view", help="Membership view: as-was, cohort:YYYY-MM-DD or ever.")] = "as-was",
    indicators: Annotated[Path | None, typer.Option("--indicators", help="Folder of your own definitions (which "
                                                                         "are scores).")] = None,
) -> None:
    """Pool every group's practice values in Spark, reading the lake (England too; docs/spark.md)."""
    from gpscale.groups.membership import MembershipView
    from gpscale.groups.spark_pool import pool_lake, pooled_values_path
    from gpscale.store.lake import LakeError

    try:
        MembershipView.parse(view)
    except ValueError as exc:
        _fail(str(exc))
    dest = pooled_values_path(lake, out)
    try:
        with err.status(f"pooling groups in Spark from {lake}"):
            frame = pool_lake(lake, view=view, values=values, definitions_dir=indicators)
            frame.write.mode("overwrite").parquet(dest)
            written = frame.sparkSession.read.parquet(dest)
            n_rows, n_groups = written.count(), written.filter(written.entity_type == "group").select(
                "entity_id").distinct().count()
    except LakeError as exc:
        _fail(str(exc), 1)
    console.print(f"{n_rows:,} pooled rows ({n_groups:,} groups and England, {view} membership) written to "
                  + escape(dest))
