"""The `gpscale fetch` commands and `gpscale ingest --from-cache`: exit codes, one error line, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpscale.cli import app
from gpscale.fetch import catalogue as catalogue_module
from gpscale.store.db import open_store
from tests.unit.fetch.catalogues import PAYMENTS, PREVALENCE, local_catalogue
from tests.unit.fetch.server import ScriptedServer, serve

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def assert_one_error_line(code: int, err: str, fragment: str) -> None:
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[0].startswith("error: ") and fragment in " ".join(lines)
    assert "Traceback" not in err


def test_list(tmp_path: Path) -> None:
    code, out, _ = run("fetch", "list", "--json")
    assert code == 0
    assert {p["id"] for p in json.loads(out)["publications"]} >= {"qof", "gpps", "fingertips"}


def test_unknown_entry_is_one_error_line(tmp_path: Path) -> None:
    code, _, err = run("fetch", "get", "nosuch/2020", "--cache", str(tmp_path))
    assert_one_error_line(code, err, "no catalogue entry 'nosuch'")


def test_edition_to_fetch_by_hand_exits_1_with_the_steps(tmp_path: Path) -> None:
    code, out, _ = run("fetch", "get", "gpps/2019", "--cache", str(tmp_path))
    assert code == 1
    assert "by hand gpps/2019: Open https://www.gp-patient.co.uk/surveysandreports" in " ".join(out.split())


def test_get_from_the_local_server_then_status_and_verify(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue_module, "load_catalogue", lambda: local_catalogue(server))
    server.routes["/files/7A/nhspaymentsgp-23-24-prac-csv.csv"] = serve(PAYMENTS)
    cache = str(tmp_path / "c")
    code, out, _ = run("fetch", "get", "payments/2023-24", "--cache", cache)
    assert code == 0 and "fetched payments/2023-24" in out and "known" in out
    code, out, _ = run("fetch", "status", "--cache", cache, "--json")
    assert code == 0 and json.loads(out)[0]["state"] == "known"
    code, out, _ = run("fetch", "verify", "--cache", cache)
    assert code == 0 and "1 cached files verified" in out


def test_html_instead_of_csv_is_one_error_line(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue_module, "load_catalogue", lambda: local_catalogue(server))
    server.routes["/files/7A/nhspaymentsgp-23-24-prac-csv.csv"] = serve(b"<html><title>Moved</title></html>")
    code, _, err = run("fetch", "get", "payments/2023-24", "--cache", str(tmp_path))
    assert_one_error_line(code, err, "sent a web page")


def test_verify_failure_exits_2(tmp_path: Path) -> None:
    f = tmp_path / "nhspaymentsgp-23-24-prac-csv.csv"
    f.write_bytes(PAYMENTS)
    cache = tmp_path / "c"
    assert run("fetch", "add", str(f), "--entry", "nhs-payments", "--edition", "2023-24", "--cache", str(cache))[0] == 0
    stored = next((cache / "objects").rglob("*.csv"))
    stored.chmod(0o644)
    stored.write_bytes(b"tampered")
    code, _, err = run("fetch", "verify", "--cache", str(cache))
    assert_one_error_line(code, err, "1 of 1 cached files failed verification")


def test_ingest_from_the_cache(tmp_path: Path) -> None:
    cache, store = tmp_path / "c", tmp_path / "s.duckdb"
    f = tmp_path / "PREVALENCE_1920.csv"
    f.write_bytes(PREVALENCE.replace(b"A81004", b"A81005"))
    code, out, _ = run("fetch", "add", str(f), "--cache", str(cache))
    assert code == 0 and "added qof/unidentified" in out
    code, out, err = run("ingest", "--from-cache", "qof", "--cache", str(cache), "--store", str(store))
    assert code == 0, err
    with open_store(store, read_only=True) as st:
        rows = {r["source"]: r["rows"] for r in st.summary() if r["table"] != "ingest_log"}
    assert sum(rows.values()) >= 6


def test_ingest_from_an_empty_cache_is_one_error_line(tmp_path: Path) -> None:
    code, _, err = run("ingest", "--from-cache", "--cache", str(tmp_path), "--store", str(tmp_path / "s.duckdb"))
    assert_one_error_line(code, err, "the cache is empty")


def test_ingest_needs_paths_or_the_cache(tmp_path: Path) -> None:
    code, _, err = run("ingest", "--store", str(tmp_path / "s.duckdb"))
    assert_one_error_line(code, err, "or use --from-cache")
