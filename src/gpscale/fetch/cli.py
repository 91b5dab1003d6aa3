"""``gpscale fetch ...``: get published files into the cache, add files downloaded by hand, check the cache.

Exit codes: 0 done; 1 some targets must be downloaded by hand (the steps are printed); 2 an error (one
``error:`` line, never a traceback; the manifest is as it was).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from gpscale.fetch.errors import FetchError
from gpscale.fetch.fingertips import AreaKind

if TYPE_CHECKING:
    from gpscale.fetch.download import Progress as ProgressHook
    from gpscale.fetch.fetcher import Fetcher, Outcome

fetch_app = typer.Typer(
    help="Get the published NHS files into a local cache (see docs/real-data.md).", no_args_is_help=True
)

console = Console()
err = Console(stderr=True)

CachePath = Annotated[
    Path | None,
    typer.Option("--cache", help="Cache folder (default: $GPSCALE_CACHE, else the user cache folder, "
                 "e.g. ~/.cache/gpscale)."),
]


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn every foreseeable failure into one error line and exit 2."""
    try:
        yield
    except FetchError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))


def _fetcher(cache: Path | None, progress: Progress | None = None) -> Fetcher:
    from gpscale.fetch.cache import Cache
    from gpscale.fetch.catalogue import load_catalogue
    from gpscale.fetch.download import Downloader
    from gpscale.fetch.fetcher import Fetcher

    tasks: dict[str, TaskID] = {}

    def factory(label: str) -> ProgressHook | None:
        if progress is None:
            return None

        def update(done: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        return update

    return Fetcher(load_catalogue(), Cache(cache), Downloader(), progress=factory)


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


@fetch_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The catalogue: every publication gpscale knows, how it is obtained, and the editions it recognises."""
    from gpscale.fetch.catalogue import load_catalogue

    with _errors():
        cat = load_catalogue()
    if as_json:
        sys.stdout.write(json.dumps(cat.model_dump(mode="json"), indent=1) + "\n")
        return
    table = Table("id", "publication", "how", "editions known", "size", title="gpscale fetch catalogue")
    for e in cat.publications:
        table.add_row(e.id, e.title, e.scriptable, e.editions_text, e.typical_size)
    console.print(table)
    console.print("Licence of every entry: Open Government Licence v3.0. Details: `gpscale fetch list --json`.")


@fetch_app.command("get")
def get_command(
    targets: Annotated[list[str], typer.Argument(help="ENTRY or ENTRY/EDITION, e.g. qof/2019-20, epd-snomed/202501, "
                                                      "gp-reg-quin-age/2026-07, ods-epraccur, fingertips/93930.")],
    cache: CachePath = None,
    area: Annotated[AreaKind | None, typer.Option("--area", help="Fingertips: the level of the rows "
                                                  "(practice, pcn, sub-icb, icb); default practice.")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Download again even if the edition is cached.")] = False,
    locked: Annotated[bool, typer.Option("--locked", help="Refuse a file whose SHA-256 differs from the one the "
                                         "manifest records for the same edition (reproduce a run).")] = False,
) -> None:
    """Download editions into the cache (resumable), or say how to get them by hand."""
    from gpscale.fetch.catalogue import Target
    from gpscale.fetch.fetcher import OutcomeKind

    if area is AreaKind.ENGLAND:
        _fail("--area: ask for practice, pcn, sub-icb or icb (England rows come with them)")
    by_hand = []
    with _errors(), _progress() as progress:
        fetcher = _fetcher(cache, progress)
        try:
            with fetcher.cache.locked():
                for text in targets:
                    outcome = fetcher.get(Target.parse(text), refresh=refresh, locked=locked, area=area)
                    if outcome.kind is OutcomeKind.BY_HAND:
                        by_hand.append(outcome)
                        continue
                    _print_outcome(outcome, fetcher.cache.root)
        finally:
            fetcher.downloader.close()
    for outcome in by_hand:
        console.print(f"[yellow]by hand[/] {escape(outcome.messages[0])}", soft_wrap=True)
    if by_hand:
        raise typer.Exit(1)


@fetch_app.command("add")
def add_command(
    files: Annotated[list[Path], typer.Argument(help="Files you downloaded yourself (zip, CSV or xlsx).")],
    cache: CachePath = None,
    entry: Annotated[str | None, typer.Option("--entry", help="The catalogue entry, if it cannot be told from "
                                              "the file (see `gpscale fetch list`).")] = None,
    edition: Annotated[str | None, typer.Option("--edition", help="The edition, e.g. 2019-20 or 2026-07.")] = None,
) -> None:
    """Register files downloaded by hand: identify them (checksum, then content), check them, copy them in."""
    with _errors():
        fetcher = _fetcher(cache)
        with fetcher.cache.locked():
            for f in files:
                _print_outcome(fetcher.add(f, entry_id=entry, edition_id=edition), fetcher.cache.root)


@fetch_app.command("status")
def status_command(
    cache: CachePath = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also list catalogued editions not fetched yet.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What the cache holds, per publication and edition, and how each file compares with the catalogue."""
    with _errors():
        fetcher = _fetcher(cache)
        rows = fetcher.status(include_missing=show_all)
    if as_json:
        sys.stdout.write(json.dumps([r.__dict__ for r in rows], indent=1) + "\n")
        return
    table = Table("entry", "edition", "state", "file", title=f"cache {fetcher.cache.root}")
    for r in rows:
        table.add_row(r.entry, r.edition, r.state, r.detail)
    console.print(table if rows else f"the cache at {fetcher.cache.root} is empty")


@fetch_app.command("verify")
def verify_command(cache: CachePath = None) -> None:
    """Re-hash every cached file against the manifest; exit 2 if any is missing or changed."""
    with _errors():
        fetcher = _fetcher(cache)
        rows = fetcher.verify()
    bad = [r for r in rows if r.problem]
    for r in bad:
        console.print(escape(f"  {r.record.entry}/{r.record.edition} {r.record.name}: {r.problem}"), soft_wrap=True)
    if bad:
        _fail(f"{len(bad)} of {len(rows)} cached files failed verification; fetch them again with "
              "`gpscale fetch get --refresh`")
    console.print(f"{len(rows)} cached files verified against {fetcher.cache.manifest_path}")


def ingest_paths_from_cache(cache: Path | None, targets: list[str]) -> list[Path]:
    """The cached data files for `gpscale ingest --from-cache [ENTRY[/EDITION]...]` (every edition if none)."""
    from gpscale.fetch.catalogue import Target

    with _errors():
        return _fetcher(cache).ingest_paths([Target.parse(t) for t in targets])
    raise AssertionError("unreachable: _errors exits on failure")


def _print_outcome(outcome: Outcome, root: Path) -> None:
    top = outcome.records[0] if outcome.records else None
    where = f" → {root / top.object}" if top else ""
    size = f" ({top.size:,} B, {top.edition_status.value})" if top else ""
    console.print(f"[green]{outcome.kind.value}[/] {escape(outcome.target)}{size}{escape(where)}", soft_wrap=True)
    members = outcome.records[1:]
    if members:
        console.print(f"  {len(members)} members: " + escape(", ".join(r.name for r in members)), soft_wrap=True)
    for m in outcome.messages:
        console.print(f"  [yellow]{escape(m)}[/]", soft_wrap=True)
