"""Opening the store for a command: any problem with ``--store`` is one ``error:`` line and exit code 2.

Every command that takes ``--store`` opens it through :func:`open_for_command` (or checks it with
:func:`check_for_command` where a library call opens it later), so a directory, a file that is not a
DuckDB database, a damaged store or one locked by another process ends the same way everywhere: the
path, what is wrong and what to do, never a traceback. What counts as a usable store is decided in
:func:`gpscale.store.db.open_store`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from gpscale.store.db import Store, StoreError, open_store

#: Exit code of a command refused because of its ``--store``.
STORE_EXIT_CODE = 2


def open_for_command(path: Path | str, read_only: bool = False, must_exist: bool = True) -> Store:
    """Open the store, or print one ``error:`` line and exit with :data:`STORE_EXIT_CODE`."""
    try:
        return open_store(path, read_only=read_only, must_exist=must_exist)
    except StoreError as exc:
        fail_on_store(exc)
        raise  # unreachable: fail_on_store exits


def check_for_command(path: Path | str) -> None:
    """Check that an existing store can be opened (read-only) before a library call opens it itself."""
    with open_for_command(path, read_only=True):
        pass


def fail_on_store(exc: StoreError) -> None:
    """Print the store error as one line on stderr and exit with :data:`STORE_EXIT_CODE`."""
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(STORE_EXIT_CODE)
