"""``gpscale groups import-pcn | validate | list``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gpscale.cli import app
from gpscale.sources.registry_file import read_registry, registry_problems
from tests.synthetic_england import small_england

runner = CliRunner()


def text(result):
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())

GOOD = """gpscale_group_registry: 1
groups:
  - id: FED-X
    name: X Federation
    kind: federation
    members:
      - {practice: A81001, start: 2015-04-01, end: null}
      - {practice: A81002, start: 2015-04-01, end: 2018-03-31}
"""


@pytest.fixture(scope="module")
def pcn_store(tmp_path_factory):
    synth = small_england()
    store = tmp_path_factory.mktemp("groups") / "s.duckdb"
    r = runner.invoke(app, ["groups", "import-pcn", "--store", str(store), str(synth.out / "nhs" / "ePCN.xlsx")])
    assert r.exit_code == 0, r.output
    assert "PCNs in the store" in text(r) and "from ods_epcn" in text(r)
    assert "PCN membership:" in text(r) and "source conflicts decided" in text(r)
    return store


def test_import_pcn_refuses_a_file_without_pcn_membership(tmp_path):
    synth = small_england()
    r = runner.invoke(app, ["groups", "import-pcn", "--store", str(tmp_path / "s.duckdb"),
                            str(synth.out / "nhs" / "epraccur.csv")])
    assert r.exit_code == 2 and "not-a-pcn-source" in text(r)


def test_list_shows_the_imported_pcns(pcn_store):
    r = runner.invoke(app, ["groups", "list", "--store", str(pcn_store), "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows and {x["kind"] for x in rows} == {"pcn"} and all(x["practices_ever"] > 0 for x in rows)
    r = runner.invoke(app, ["groups", "list", "--store", str(pcn_store), "--kind", "pcn"])
    assert r.exit_code == 0 and "groups in" in text(r)


def test_validate_a_good_file_and_warn_about_unknown_practices_with_the_nearest_code(tmp_path, pcn_store):
    path = tmp_path / "reg.yaml"
    path.write_text(GOOD)
    r = runner.invoke(app, ["groups", "validate", str(path)])
    assert r.exit_code == 0, r.output
    assert "1 groups, 2 spells, 2 practices; 0 errors, 0 warnings" in text(r)
    from gpscale.store import open_store

    with open_store(pcn_store, read_only=True) as st:
        known = st.con.execute("SELECT min(practice_code) FROM membership").fetchone()[0]
    typo = known[:-1] + ("0" if known[-1] != "0" else "1")
    path.write_text(GOOD.replace("A81001", typo))
    r = runner.invoke(app, ["groups", "validate", str(path), "--store", str(pcn_store)])
    assert r.exit_code == 0, r.output
    assert "unknown-practice-code" in text(r) and f"practice {typo} is not in the store; nearest known code: {known}" \
        in text(r)


def test_validate_reports_every_error_and_exits_1(tmp_path):
    path = tmp_path / "reg.yaml"
    path.write_text(GOOD.replace("kind: federation", "kind: club").replace("end: 2018-03-31", "end: 2014-01-01"))
    r = runner.invoke(app, ["groups", "validate", str(path)])
    assert r.exit_code == 1
    assert "unknown-group-kind" in text(r) and "end-before-start" in text(r) and "2 errors" in text(r)


def test_registry_problems_collect_everything(tmp_path):
    path = tmp_path / "reg.yaml"
    path.write_text(GOOD + "      - {practice: A81002, start: 2017-04-01, end: null}\n")
    groups, spells = read_registry(path)
    problems = registry_problems(groups, spells, set(), ["A81009", "B82001"])
    rules = [p.rule for p in problems]
    assert rules.count("overlapping-spells") == 1 and rules.count("unknown-practice-code") == 2
    warning = next(p for p in problems if p.rule == "unknown-practice-code")
    assert warning.level == "warning" and "A81009" in warning.detail
