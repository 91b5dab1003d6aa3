"""Every command that takes --store refuses an unusable store with one ``error:`` line and exit code 2.

Unusable: an existing file that is not a DuckDB database (x.csv, x.parquet), a directory, a truncated or
damaged database, a DuckDB database that is not a gpscale store, and a store another process holds open
(a real second process holds the lock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from gpscale.cli import app
from gpscale.store.db import StoreError, StoreProblem, open_store
from gpscale.store.ingest import ingest
from tests.fixtures import bad_stores as B
from tests.fixtures import layouts as L

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def make_store(path: Path) -> Path:
    with open_store(path) as st:
        ingest(st, [L.write_prevalence(path.parent / "in", 2019)])
    return path


def truncated_store(d: Path) -> Path:
    return make_store(d / "t.duckdb")


BAD_STORES: dict[str, tuple[Callable[[Path], Path], StoreProblem]] = {
    "csv": (B.csv_file, StoreProblem.NOT_DUCKDB),
    "parquet": (B.parquet_file, StoreProblem.NOT_DUCKDB),
    "directory": (B.directory, StoreProblem.DIRECTORY),
    "truncated": (B.truncated(truncated_store), StoreProblem.DAMAGED),
    "garbage": (B.garbage, StoreProblem.DAMAGED),
    "empty": (B.empty_file, StoreProblem.NOT_DUCKDB),
    "not-gpscale": (B.other_duckdb, StoreProblem.NOT_GPSCALE),
}


def commands(store: Path, d: Path) -> dict[str, list[str]]:
    registry = d / "groups.yaml"
    registry.write_text("gpscale_group_registry: 1\ngroups: []\n")
    prevalence = L.write_prevalence(d / "files", 2018)
    epcn = L.write_epcn(d / "files")
    return {
        "ingest": ["ingest", "--store", str(store), str(prevalence)],
        "store summary": ["store", "summary", "--store", str(store)],
        "evaluate": ["evaluate", "--store", str(store), "--out", str(d / "out")],
        "compute": ["compute", "--store", str(store)],
        "groups import-pcn": ["groups", "import-pcn", "--store", str(store), str(epcn)],
        "groups validate": ["groups", "validate", str(registry), "--store", str(store)],
        "groups list": ["groups", "list", "--store", str(store)],
    }


def assert_one_clear_error(result, store: Path, command: str = "") -> None:
    out = f"{command}: {result.output}"
    assert result.exit_code == 2, out
    assert "Traceback" not in out and (result.exception is None or isinstance(result.exception, SystemExit)), out
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out
    assert str(store) in errors[0], out


@pytest.mark.parametrize("kind", sorted(BAD_STORES))
def test_open_store_names_the_problem(tmp_path: Path, kind: str) -> None:
    make, problem = BAD_STORES[kind]
    p = make(tmp_path)
    before = p.read_bytes() if p.is_file() else None
    for read_only in (False, True):
        with pytest.raises(StoreError) as ei:
            open_store(p, read_only=read_only)
        assert ei.value.problem == problem and str(p) in str(ei.value)
    assert (p.read_bytes() if p.is_file() else None) == before  # nothing written to the file refused


@pytest.mark.parametrize("kind", sorted(BAD_STORES))
def test_every_command_refuses_an_unusable_store(tmp_path: Path, kind: str) -> None:
    make, _ = BAD_STORES[kind]
    store = make(tmp_path)
    for name, args in commands(store, tmp_path).items():
        result = runner.invoke(app, args)
        assert_one_clear_error(result, store, name)


@pytest.fixture()
def locked_store(tmp_path: Path) -> Iterator[Path]:
    """A store a second process holds open (DuckDB's file lock), released when the test ends."""
    store = make_store(tmp_path / "locked.duckdb")
    with B.held_by_another_process(store):
        yield store


def test_every_command_refuses_a_store_locked_by_another_process(locked_store: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreError) as ei:
        open_store(locked_store, read_only=True)
    assert ei.value.problem == StoreProblem.LOCKED and "in use by process" in str(ei.value)
    for name, args in commands(locked_store, tmp_path).items():
        result = runner.invoke(app, args)
        assert_one_clear_error(result, locked_store, name)
        assert "in use" in result.output, name


def test_a_store_from_a_newer_gpscale_is_refused(tmp_path: Path) -> None:
    p = make_store(tmp_path / "new.duckdb")
    con = duckdb.connect(str(p))
    con.execute("INSERT INTO schema_version VALUES (999, 'from the future', now())")
    con.close()
    with pytest.raises(StoreError) as ei:
        open_store(p)
    assert ei.value.problem == StoreProblem.NEWER
    result = runner.invoke(app, ["store", "summary", "--store", str(p)])
    assert_one_clear_error(result, p)


def test_a_new_path_is_created_and_a_missing_store_is_refused_where_one_is_needed(tmp_path: Path) -> None:
    new = tmp_path / "sub" / "fresh.duckdb"
    result = runner.invoke(app, ["store", "summary", "--store", str(new)])
    assert_one_clear_error(result, new)
    assert not new.exists()
    result = runner.invoke(app, ["ingest", "--store", str(new), str(L.write_prevalence(tmp_path / "f", 2019))])
    assert result.exit_code == 0, result.output
    assert new.is_file()
