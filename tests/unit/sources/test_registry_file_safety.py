"""Group registry files: safe YAML, empty ids and names, group ids unique across registry files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from tests.unit.store.test_ingest_atomic import content_hash

HEAD = "gpscale_group_registry: 1\ngroups:\n"


def group(gid: str, name: str, *codes: str) -> str:
    members = "".join(f"      - {{practice: {c}, start: 2015-04-01}}\n" for c in codes)
    return f"  - id: {gid}\n    name: {name}\n    kind: federation\n    members:\n{members}"


def write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.write_text(text)
    return p


@pytest.fixture()
def store():
    s = open_store(":memory:")
    yield s
    s.close()


def refused(store, path: Path, rule: str) -> SourceError:
    before = content_hash(store.con)
    with pytest.raises(SourceError) as ei:
        ingest(store, [path])
    assert ei.value.rule == rule, str(ei.value)
    assert path.name in str(ei.value) and ei.value.where
    assert content_hash(store.con) == before
    return ei.value


def test_yaml_aliases_are_refused_before_they_expand(tmp_path: Path, store) -> None:
    lines = ['gpscale_group_registry: 1', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        p, c = chr(96 + i), chr(97 + i)
        lines.append(f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]")
    lines.append("groups: [{id: X, name: *i, kind: custom, members: []}]")
    e = refused(store, write(tmp_path, "laughs.yaml", "\n".join(lines) + "\n"), "malformed-registry")
    assert "aliases" in str(e) and e.where.startswith("line 3")


def test_oversized_and_deeply_nested_registries_are_refused(tmp_path: Path, store) -> None:
    refused(store, write(tmp_path, "big.yaml", HEAD.replace("groups:\n", "# " + "x" * 9_000_000 + "\ngroups: []\n")),
            "malformed-registry")
    refused(store, write(tmp_path, "deep.yaml", HEAD + "[" * 50_000 + "]" * 50_000), "malformed-registry")


@pytest.mark.parametrize(
    ("body", "rule", "where"),
    [
        (group("''", "Blank", "A81001"), "empty-id-or-name", "group 1"),
        (group("null", "Nothing", "A81001"), "empty-id-or-name", "group 1"),
        (group("G1", "''", "A81001"), "empty-id-or-name", "group G1"),
        (group("G1", "One", "''"), "empty-id-or-name", "group G1, member 1"),
        (group("G1", "One", "A81001") + group("G1", "Two", "A81002"), "duplicate-group-id", "group G1"),
    ],
)
def test_empty_and_repeated_ids_are_refused(tmp_path: Path, store, body: str, rule: str, where: str) -> None:
    e = refused(store, write(tmp_path, "g.yaml", HEAD + body), rule)
    assert e.where.startswith(where)


def test_csv_registry_giving_a_group_two_names_is_refused(tmp_path: Path, store) -> None:
    p = write(tmp_path, "g.csv", "group_id,group_name,kind,practice_code,start_date,end_date\n"
                                 "G1,One,federation,A81001,2015-04-01,\nG1,Uno,federation,A81002,2015-04-01,\n")
    assert refused(store, p, "duplicate-group-id").where == "line 3"


def test_a_registry_saved_under_a_new_name_is_its_next_edition(tmp_path: Path, store) -> None:
    ingest(store, [write(tmp_path, "federations.yaml", HEAD + group("F1", "One", "A81001", "A81002")
                         + group("F2", "Two", "A81004"))])
    edited = write(tmp_path, "federations_final_v2.yaml", HEAD + group("F1", "One", "A81001", "A81002", "B82007")
                   + group("F2", "Two", "A81004"))
    rep = ingest(store, [edited])
    assert rep.files[0].status == "replaced-older"
    rows = store.con.execute("""SELECT g.group_id, count(*) FROM group_record g JOIN ingest_log l USING (ingest_id)
                                WHERE l.status = 'loaded' GROUP BY ALL ORDER BY 1""").fetchall()
    assert rows == [("F1", 1), ("F2", 1)]
    # dropping a group under yet another name loses data: refused unless forced
    trimmed = write(tmp_path, "federations_trimmed.yaml", HEAD + group("F1", "One", "A81001", "A81002", "B82007"))
    refused(store, trimmed, v.REPLACEMENT_LOSES_DATA)
    assert ingest(store, [trimmed], replace=True).files[0].status == "replaced-older"


def test_a_file_holding_groups_of_two_registries_is_refused(tmp_path: Path, store) -> None:
    ingest(store, [write(tmp_path, "a.yaml", HEAD + group("A1", "A", "A81001")),
                   write(tmp_path, "b.yaml", HEAD + group("B1", "B", "A81002"))])
    e = refused(store, write(tmp_path, "c.yaml", HEAD + group("A1", "A", "A81001") + group("B1", "B", "A81002")),
                "group-in-two-registries")
    assert "A1 in a.yaml" in str(e) and "B1 in b.yaml" in str(e)
