"""Rows another loaded file already holds are never counted twice; identical copies are named, not loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.store.db import open_store
from gpscale.store.editions import MIN_SAME_ROW_SHARE, Comparison, Fingerprint, drop_repeated, overlaps
from gpscale.store.ingest import ingest
from tests.fixtures import layouts as L


def _two_files(store, second: list[tuple[str, float | None, float | None]]) -> None:
    """Ingest 1 holds three QOF rows; ingest 2 (just written, another file) holds ``second``."""
    con = store.con
    for i, name in ((1, "one.csv"), (2, "two.csv")):
        con.execute("INSERT INTO ingest_log VALUES (?, ?, ?, 'x', '', ?, ?, 1, 1, 1, 0, 0, [], 'loaded', '', NULL, "
                    "now())", [i, name, name, f"pub{i}", f"sha{i}"])
    rows = [(1, "A81001", 10.0, 100.0), (1, "A81002", 20.0, 200.0), (1, "A81004", 30.0, 300.0)]
    rows += [(2, code, num, den) for code, num, den in second]
    for iid, code, num, den in rows:
        con.execute("INSERT INTO measure_value (source, measure_id, practice_code, period, period_type, numerator, "
                    "denominator, ingest_id) VALUES ('qof', 'AST001', ?, 'FY2019/20', 'fy', ?, ?, ?)",
                    [code, num, den, iid])


def test_repeats_that_agree_are_kept_once_and_disagreements_found() -> None:
    store = open_store(":memory:")
    _two_files(store, [("A81001", 10.0, 100.0), ("A81002", 20.0, None), ("B82007", 5.0, 50.0)])
    found = overlaps(store.con, 2, [1], {1: "one.csv"})
    assert [(o.table, o.rows, o.differing) for o in found] == [("measure_value", 2, 0)]
    assert drop_repeated(store.con, "measure_value", 2, [1]) == 2  # the repeat and the less complete one
    left = store.con.execute("SELECT practice_code FROM measure_value WHERE ingest_id = 2").fetchall()
    assert left == [("B82007",)]


def test_repeats_with_other_figures_are_found() -> None:
    store = open_store(":memory:")
    _two_files(store, [("A81001", 11.0, 100.0), ("A81002", 20.0, 200.0)])
    (found,) = overlaps(store.con, 2, [1], {1: "one.csv"})
    assert (found.rows, found.differing, found.other_file) == (2, 1, "one.csv")
    assert found.example["practice_code"] == "A81001"


def test_a_byte_identical_copy_named_for_another_year_is_refused(tmp_path: Path) -> None:
    store = open_store(":memory:")
    p = L.write_prevalence(tmp_path / "a", 2019)
    ingest(store, [p])
    copy = tmp_path / "PREVALENCE_1819.csv"
    copy.write_bytes(p.read_bytes())
    with pytest.raises(SourceError) as ei:
        ingest(store, [copy])
    assert ei.value.rule == v.SAME_FILE_OTHER_EDITION and "FY2018/19" in str(ei.value)


def test_comparison_limits() -> None:
    old = Fingerprint(1000, 100, ("FY2019/20",), {"measure_value.numerator": 5000.0})
    fine = Comparison("a.csv", 1, old, Fingerprint(1000, 100, ("FY2019/20",), {"measure_value.numerator": 4990.0}),
                      lost_practices=1, same_rows=990)
    assert fine.problems() == []
    bad = Comparison("a.csv", 1, old, Fingerprint(900, 90, ("FY2020/21",), {"measure_value.numerator": 4000.0}),
                     lost_practices=10, same_rows=int(1000 * MIN_SAME_ROW_SHARE) - 1)
    rules = [r for r, _ in bad.problems()]
    assert rules.count(v.REPLACEMENT_LOSES_DATA) == 3
    assert v.REPLACEMENT_PERIOD_DIFFERS in rules and v.REPLACEMENT_CONTENT_DIFFERS in rules
    assert Fingerprint.from_json(old.to_json()) == old
