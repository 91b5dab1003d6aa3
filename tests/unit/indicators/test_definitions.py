"""Definitions: the 16 defaults load, the CLI lists them, and bad YAML fails naming file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from gpscale.indicators.cli import compute_command, indicators_app
from gpscale.indicators.library import (
    DEFAULT_IDS,
    DefinitionError,
    default_definitions_dir,
    load_definition_file,
    load_definitions,
    load_dir,
)
from gpscale.indicators.model import ValueType

runner = CliRunner()


def app() -> typer.Typer:
    a = typer.Typer()
    a.add_typer(indicators_app, name="indicators")
    a.command("compute")(compute_command)
    return a


def test_sixteen_defaults_in_four_domains():
    defs = load_definitions()
    assert list(defs) == list(DEFAULT_IDS)
    assert {d.domain for d in defs.values()} == {"prescribing", "hospital", "qof", "satisfaction"}
    assert {d.value_type for d in defs.values()} == set(ValueType)
    for d in defs.values():
        assert d.review.change_log and d.review.checked_by and d.source_publication
        assert d.version == d.review.change_log[-1].version
    # prescribing indicators are monthly and roll up to financial years; the rest are yearly
    assert all(d.period_types == ["month", "fy"] for d in defs.values() if d.domain == "prescribing")
    assert all(d.period_types == ["fy"] for d in defs.values() if d.domain != "prescribing")
    assert defs["qof_organisational"].periods.last == "FY2012/13"


def test_list_json():
    result = runner.invoke(app(), ["indicators", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == list(DEFAULT_IDS)
    assert {r["domain"] for r in rows} == {"prescribing", "hospital", "qof", "satisfaction"}
    assert set(rows[0]) >= {"id", "domain", "title", "value_type", "polarity"}


def test_list_table_and_show():
    assert runner.invoke(app(), ["indicators", "list"]).exit_code == 0
    result = runner.invoke(app(), ["indicators", "show", "qof_total"])
    assert result.exit_code == 0
    shown = yaml.safe_load(result.output)
    assert shown["id"] == "qof_total" and shown["data_breaks"][0]["period"] == "FY2006/07"
    bad = runner.invoke(app(), ["indicators", "show", "nope"])
    assert bad.exit_code == 1 and "unknown indicator 'nope'" in bad.output


def test_validate_shipped_folder():
    result = runner.invoke(app(), ["indicators", "validate", str(default_definitions_dir())])
    assert result.exit_code == 0 and "16 definition(s) valid" in result.output


def _copy(tmp_path: Path, indicator: str, **changes: object) -> Path:
    data = yaml.safe_load((default_definitions_dir() / f"{indicator}.yaml").read_text())
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(leaf)
        else:
            node[leaf] = value
    path = tmp_path / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"numerator__bnf_include": ["05.1"]}, "numerator.bnf_include: Value error, BNF prefix '05.1'"),
        ({"polarity": "up"}, "polarity: Input should be 'high_is_good', 'low_is_good' or 'no_judgement'"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"review": None}, "review: Field required"),
        ({"standardisation__vintage": None}, "standardisation: method star_pu needs scheme and vintage"),
        ({"denominator": {"source": "prescribing", "bnf_include": ["0501"]}},
         "value_type rate: numerator must be prescribing and denominator registrations"),
        ({"data_breaks": [{"period": "FY2019", "reason": "a break"}]}, "data_breaks.0.period"),
        ({"data_breaks": [{"period": "2019-04", "reason": "x"}]}, "data_breaks.0.reason"),
    ],
)
def test_errors_name_file_and_field(tmp_path, changes, message):
    path = _copy(tmp_path, "rx_antibacterial_items", **changes)
    with pytest.raises(DefinitionError) as exc:
        load_definition_file(path)
    text = str(exc.value)
    assert text.startswith(str(path) + ": ")
    assert message.replace("Value error, ", "") in text, text


def test_id_must_match_file_name_and_yaml_must_parse(tmp_path):
    path = _copy(tmp_path, "qof_total")
    path.rename(tmp_path / "other.yaml")
    with pytest.raises(DefinitionError, match=r"other.yaml: id: 'qof_total' must match the file name"):
        load_dir(tmp_path)
    (tmp_path / "other.yaml").write_text("id: [unclosed\n")
    with pytest.raises(DefinitionError, match=r"other\.yaml: not valid YAML"):
        load_dir(tmp_path)


def test_validate_command_reports_every_bad_file(tmp_path):
    _copy(tmp_path, "qof_total", multiplier=-1)
    _copy(tmp_path, "gpps_recommend", value_type="score")
    result = runner.invoke(app(), ["indicators", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "qof_total.yaml: multiplier: Input should be greater than 0" in result.output
    assert "gpps_recommend.yaml: (top level): value_type score: fields must be points over max_points" in result.output


def test_user_folder_adds_and_overrides(tmp_path):
    _copy(tmp_path, "rx_broad_spectrum", title="Broad-spectrum antibiotics (our local version)")
    new = yaml.safe_load((default_definitions_dir() / "rx_nsaid_not_first_line.yaml").read_text())
    new["id"], new["domain"] = "rx_diclofenac_share", "local_prescribing"
    new["numerator"] = {"source": "prescribing", "bnf_include": ["1001010C0"]}
    (tmp_path / "rx_diclofenac_share.yaml").write_text(yaml.safe_dump(new))
    defs = load_definitions(tmp_path)
    assert len(defs) == 17 and list(defs)[-1] == "rx_diclofenac_share"
    assert defs["rx_broad_spectrum"].title.endswith("(our local version)")
    result = runner.invoke(app(), ["indicators", "list", "--json", "--indicators", str(tmp_path)])
    assert [r["id"] for r in json.loads(result.output)][-1] == "rx_diclofenac_share"


def test_compute_command(tmp_path):
    from gpscale.store.db import open_store
    from tests.fixtures.indicator_store import synthetic_store

    db = tmp_path / "store.duckdb"
    with open_store(db) as s:
        synthetic_store(s, n_practices=5, first_fy=2016, n_fys=1)
    out = tmp_path / "values.csv"
    result = runner.invoke(app(), ["compute", "--store", str(db), "--indicator", "qof_total",
                                   "--indicator", "rx_broad_spectrum", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    df = pd.read_csv(out)
    assert set(df.indicator_id) == {"qof_total", "rx_broad_spectrum"}
    assert "rx_broad_spectrum" in result.output
    bad = runner.invoke(app(), ["compute", "--store", str(db), "--indicator", "nope"])
    assert bad.exit_code == 1 and "unknown indicator 'nope'" in bad.output
    assert runner.invoke(app(), ["compute", "--store", str(tmp_path / "none.duckdb")]).exit_code == 1

