"""The group registry file: YAML and CSV layouts, and each validation rule with its message."""

from __future__ import annotations

import pytest

from gpscale.sources.base import SourceError
from gpscale.sources.registry import detect
from gpscale.sources.registry_file import GroupRegistryFile
from gpscale.store import open_store
from gpscale.store.ingest import ingest

GOOD = """gpscale_group_registry: 1
groups:
  - id: FED-X
    name: X Federation
    kind: federation
    founded: 2015-04-01
    contracts: [GMS, PMS]
    members:
      - {practice: A81001, start: 2015-04-01, end: null}
      - {practice: A81002, start: 2015-04-01, end: 2018-03-31}
      - {practice: A81002, start: 2019-04-01, end: null}
"""


def write(tmp_path, text, name="registry.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_yaml_registry_loads_groups_and_spells(tmp_path):
    path = write(tmp_path, GOOD)
    fmt, det = detect(path)
    assert fmt.name == GroupRegistryFile.name and det.variant == "yaml v1"
    with open_store(tmp_path / "s.duckdb") as st:
        ingest(st, [path])
        assert st.df("SELECT name, kind, contracts FROM practice_group").to_dict("records") == [
            {"name": "X Federation", "kind": "federation", "contracts": "GMS/PMS"}
        ]
        assert st.con.execute("SELECT count(*) FROM membership").fetchone() == (3,)


def test_csv_registry(tmp_path):
    path = write(
        tmp_path,
        "group_id,group_name,kind,practice_code,start_date,end_date\n"
        "NET-1,Net One,network,A81001,2012-04-01,\nNET-1,Net One,network,A81004,2013-01-01,2016-12-31\n",
        "groups.csv",
    )
    with open_store(":memory:") as st:
        ingest(st, [path])
        assert st.con.execute("SELECT count(*) FROM membership WHERE end_date IS NULL").fetchone() == (1,)


@pytest.mark.parametrize(
    ("edit", "rule", "where"),
    [
        (lambda t: t.replace("kind: federation", "kind: club"), "unknown-group-kind", "group FED-X"),
        (lambda t: t.replace("end: 2018-03-31", "end: 2014-03-31"), "end-before-start", "member 2"),
        (lambda t: t.replace("start: 2019-04-01", "start: 2017-04-01"), "overlapping-spells", "member 3"),
        (lambda t: t.replace("A81001", "A8100"), "invalid-ods-code", "member 1"),
        (lambda t: t.replace("founded: 2015-04-01", "founded: 2015-02-30"), "impossible-date", "group FED-X"),
        (lambda t: t.split("    members:")[0], "empty-group", "group FED-X"),
    ],
)
def test_each_rule_rejects_the_file_naming_where_and_why(tmp_path, edit, rule, where):
    path = write(tmp_path, edit(GOOD))
    with open_store(":memory:") as st:
        with pytest.raises(SourceError) as exc:
            ingest(st, [path])
        assert exc.value.rule == rule
        assert where in str(exc.value) and path.name in str(exc.value)
        assert st.con.execute("SELECT count(*) FROM group_record").fetchone() == (0,)


def test_unknown_practices_are_reported_with_the_nearest_known_code(tmp_path):
    epraccur = tmp_path / "epraccur.csv"
    row = ['"A81009"', '"SURGERY"'] + ['""'] * 8 + ['"19740401"', '""', '"A"'] + ['""'] * 12 + ['"4"', '""']
    epraccur.write_text(",".join(row) + "\n")
    path = write(tmp_path, GOOD)
    with open_store(":memory:") as st:
        report = ingest(st, [epraccur, path])
    msg = report.files[-1].message
    assert "A81001 (nearest known: A81009)" in msg
