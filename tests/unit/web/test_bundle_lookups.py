"""A page's lookups (one group's, practice's or indicator's rows) read with Arrow return exactly what DuckDB's SQL
returns over the same files: same rows, order, columns and dtypes, for every key in the tiny world, with the
tables written in many small row groups so that most row groups are skipped and keys straddle group edges."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gpscale import export
from gpscale.bundle import Bundle, open_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
from tests.unit.web.world import evaluation

SMALL_GROUPS = 64  # rows per row group here: the world's tables span many groups


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    ev = evaluation()
    out = tmp_path_factory.mktemp("bundle") / "results"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(export, "ROW_GROUP", SMALL_GROUPS)
        write_bundle(make_bundle(ev), out, meta=bundle_meta(ev), csv=False)
    return open_bundle(out)


def _sql(bundle: Bundle, name: str, where: str, params: Sequence[Any], order: str) -> pd.DataFrame:
    """The oracle: DuckDB over the same Parquet file (``Bundle.query`` never takes the Arrow path)."""
    return bundle.query(f'SELECT * FROM "{name}"' + (f" WHERE {where}" if where else "")
                        + (f" ORDER BY {order}" if order else ""), params)


def _same(bundle: Bundle, name: str, where: str, params: Sequence[Any], order: str = "") -> int:
    """The rows match SQL's; with ``order``, they come in that order (rows tied on it may come in any order)."""
    got = bundle.table(name, where, params, order=order)
    want = _sql(bundle, name, where, params, order)
    assert got is not None
    if order:
        keys = [c.strip() for c in order.split(",")]
        pd.testing.assert_frame_equal(got[keys], want[keys])
        got, want = (f.sort_values(list(f.columns), kind="stable").reset_index(drop=True) for f in (got, want))
    pd.testing.assert_frame_equal(got, want, check_dtype=True)
    return len(got)


def _keys(bundle: Bundle, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in bundle.query(sql).itertuples(index=False, name=None)]


def test_tables_are_written_in_many_small_row_groups(bundle: Bundle) -> None:
    meta = pq.ParquetFile(Path(bundle.folder) / "scorecard.parquet").metadata
    assert meta.num_row_groups > 10
    assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= SMALL_GROUPS


def test_every_entitys_scorecard_and_every_practices_values_match_sql(bundle: Bundle) -> None:
    entities = _keys(bundle, "SELECT DISTINCT entity_id FROM scorecard")
    practices = _keys(bundle, "SELECT DISTINCT practice_code FROM practice_values")
    assert len(entities) >= 6 and len(practices) == 40
    assert sum(_same(bundle, "scorecard", "entity_id = ?", k, "indicator_id, period") for k in entities) == \
        bundle.rows("scorecard")
    assert sum(_same(bundle, "practice_values", "practice_code = ?", k, "indicator_id, period")
               for k in practices) == bundle.rows("practice_values")
    for k in practices:
        _same(bundle, "spells", "practice_code = ?", k, "")


def test_funnels_trends_spc_and_summaries_match_sql(bundle: Bundle) -> None:
    cells = _keys(bundle, "SELECT DISTINCT group_id, indicator_id, period FROM funnels")
    assert sum(_same(bundle, "funnels", "group_id = ? AND indicator_id = ? AND period = ?", k) for k in cells) == \
        bundle.rows("funnels")
    for k in _keys(bundle, "SELECT DISTINCT indicator_id, period FROM group_funnels"):
        _same(bundle, "group_funnels", "indicator_id = ? AND period = ?", k)
    for (e,) in _keys(bundle, "SELECT DISTINCT entity_id FROM trends"):
        for conf in (0.95, 0.998):
            _same(bundle, "trends", "entity_id = ? AND confidence = ? AND statistic = 'trend' AND latest_segment",
                  [e, conf])
            _same(bundle, "trends", "entity_id = ? AND NOT latest_segment", [e])
    for k in _keys(bundle, "SELECT DISTINCT entity_id, indicator_id FROM spc"):
        _same(bundle, "spc", "entity_id = ? AND indicator_id = ?", k, "period")
    for name in ("summary", "indicator_summary", "group_distribution"):
        _same(bundle, name, "confidence = ?", [0.95])
    _same(bundle, "groups", "", [])


def test_a_key_with_no_rows_gives_an_empty_frame_like_sql(bundle: Bundle) -> None:
    assert _same(bundle, "scorecard", "entity_id = ?", ["NO-SUCH"], "indicator_id, period") == 0
    assert _same(bundle, "spells", "group_id = ?", ["NO-SUCH"]) == 0


def test_a_value_arrow_cannot_compare_with_the_column_is_left_to_duckdb(bundle: Bundle) -> None:
    assert _same(bundle, "scorecard", "confidence = ?", ["0.95"]) > 0  # DuckDB casts the text to a number


def test_other_filters_go_to_duckdb(bundle: Bundle) -> None:
    cases: list[tuple[str, list[Any]]] = [
        ("value > ?", [1.0]), ("no_such_column = ?", [1]), ("entity_id = ?", []), ("entity_id = ?", ["a", "b"]),
        ("entity_id = ? AND value IS NULL", ["U00001"]), ("(entity_id = ? OR value > 1)", ["U00001"]),
        ("entity_id = ? OR entity_type = 'england' AND confidence = ?", ["U00001", 0.95])]
    for where, params in cases:
        assert bundle._parse("scorecard", where, params) is None, where


def test_a_parenthesised_or_of_equalities_matches_sql(bundle: Bundle) -> None:
    """The group page's evaluation tables: the group's rows and England's."""
    for (e,) in _keys(bundle, "SELECT DISTINCT entity_id FROM trends"):
        assert bundle._parse("trends", "(entity_id = ? OR entity_type = 'england')", [e]) is not None
        _same(bundle, "trends", "(entity_id = ? OR entity_type = 'england')", [e])
        _same(bundle, "convergence", "(entity_id = ? OR entity_type = 'england') AND indicator_id = ?",
              [e, "qof_total"])
    for (g,) in _keys(bundle, "SELECT DISTINCT group_id FROM profiles"):
        _same(bundle, "profiles", "(group_id = ?)", [g])


def _rows_holding(bundle: Bundle, name: str, where: str, params: Sequence[Any]) -> set[int]:
    """The oracle for row-group choice: the row groups that hold a matching row (read one by one with DuckDB's
    answer as the set of rows wanted)."""
    want = _sql(bundle, name, where, params, "")
    pf = pq.ParquetFile(Path(bundle.folder) / f"{name}.parquet")
    key = next(c for c in ("entity_id", "group_id", "practice_code", "indicator_id") if c in want.columns)
    wanted = set(want[key].astype(str))
    return {i for i in range(pf.metadata.num_row_groups)
            if wanted & set(pf.read_row_group(i, columns=[key]).column(0).to_pylist())}


def test_a_lookup_reads_only_the_row_groups_whose_key_range_holds_the_key(bundle: Bundle) -> None:
    """Row groups are chosen from the kept min/max statistics: every row group holding a matching row is read (no
    row lost), and for a key the table is sorted by, few others are (the point of choosing them)."""
    total = pq.ParquetFile(Path(bundle.folder) / "scorecard.parquet").metadata.num_row_groups
    for (e,) in _keys(bundle, "SELECT DISTINCT entity_id FROM scorecard"):
        parsed = bundle._parse("scorecard", "entity_id = ?", [e])
        assert parsed is not None
        chosen = bundle._row_groups("scorecard", parsed[1])
        assert chosen is not None
        assert _rows_holding(bundle, "scorecard", "entity_id = ?", [e]) <= set(chosen)
        assert len(chosen) <= max(3, total // 4), (e, chosen)
    e = _keys(bundle, "SELECT DISTINCT entity_id FROM trends WHERE entity_type = 'group'")[0][0]
    parsed = bundle._parse("trends", "(entity_id = ? OR entity_type = 'england')", [e])
    assert parsed is not None
    chosen = bundle._row_groups("trends", parsed[1])
    assert chosen is not None and _rows_holding(bundle, "trends", "(entity_id = ? OR entity_type = 'england')",
                                                [e]) <= set(chosen)


def test_a_key_no_row_group_can_hold_reads_nothing_and_truth_value_terms_choose_no_row_groups(bundle: Bundle) -> None:
    parsed = bundle._parse("scorecard", "entity_id = ?", ["~no such entity~"])
    assert parsed is not None and bundle._row_groups("scorecard", parsed[1]) == []
    flagged = bundle._parse("trends", "latest_segment", [])
    assert flagged is not None and flagged[1] == [] and bundle._row_groups("trends", flagged[1]) is None
    _same(bundle, "trends", "latest_segment AND confidence = ?", [0.95])


def test_arrow_lookups_hold_the_rows_sql_returns(bundle: Bundle) -> None:
    """``Bundle.arrow`` (a page shaping rows without pandas): SQL's rows in the file's order with the Arrow read's
    types, whether Arrow reads the filter or DuckDB answers it."""
    for (g,) in _keys(bundle, "SELECT DISTINCT group_id FROM spells"):
        got = bundle.arrow("spells", "group_id = ?", [g])
        assert got is not None
        pd.testing.assert_frame_equal(got.to_pandas(), _sql(bundle, "spells", "group_id = ?", [g], ""))
    duck = bundle.arrow("spells", "group_id IS NOT NULL", [], columns=["practice_code", "start_date"])
    read = bundle.arrow("spells", "", [], columns=["practice_code", "start_date"])
    assert duck is not None and read is not None and duck.schema == read.schema
    pd.testing.assert_frame_equal(duck.to_pandas(), _sql(bundle, "spells", "group_id IS NOT NULL", [], "")[
        ["practice_code", "start_date"]])
    assert bundle.arrow("no_such_table") is None


def test_a_finished_threads_readers_are_closed(bundle: Bundle) -> None:
    """Each thread keeps its open readers; a thread that ends (the server's pool retires idle ones) takes its readers,
    and their file handles, with it."""
    import gc
    import os
    import threading

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    key = _keys(bundle, "SELECT DISTINCT group_id FROM spells")[0][0]
    bundle.table("spells", "group_id = ?", [key])
    before, readers = fds(), len(bundle._threads)
    for _ in range(40):
        worker = threading.Thread(target=lambda: bundle.table("spells", "group_id = ?", [key]))
        worker.start()
        worker.join()
    gc.collect()
    assert fds() <= before + 1 and len(bundle._threads) <= readers + 1


def test_release_threads_closes_every_threads_readers_in_the_calling_thread(bundle: Bundle) -> None:
    """A server stopping closes its worker threads' readers and cursors itself (a worker that frees Arrow readers
    while the interpreter exits aborts the process); a thread still alive opens new ones when it next reads."""
    import threading

    key = _keys(bundle, "SELECT DISTINCT group_id FROM spells")[0][0]
    want = _sql(bundle, "spells", "group_id = ?", [key], "")
    read, released, got = threading.Event(), threading.Event(), []
    opened: list[Any] = []

    def worker() -> None:
        bundle.table("spells", "group_id = ?", [key])
        opened.append(bundle._file("spells"))
        read.set()
        released.wait(10)
        got.append(bundle.table("spells", "group_id = ?", [key]))

    thread = threading.Thread(target=worker)
    thread.start()
    assert read.wait(10)
    assert not opened[0].closed
    bundle.release_threads()
    assert opened[0].closed
    released.set()
    thread.join(10)
    pd.testing.assert_frame_equal(got[0], want)
