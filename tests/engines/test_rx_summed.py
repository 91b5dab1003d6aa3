"""Prescribing summed at ingest gives the same indicators as every row (issue 17).

The oracle is the row-by-row store: the same generated EPD files are ingested twice, once keeping every row
(``rx_codes=None``, what ``--keep-rows`` does) and once summed to the installed definitions' BNF prefixes,
and every prescribing indicator is computed from both. Files include codes in many BNF sections, several
presentations per substance, fractional ADQs, one unparseable line and one negative row (so both the
one-query path and the row-by-row fallback are used).
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from gpscale.indicators.compute import ComputeError, compute_indicators
from gpscale.indicators.library import default_definitions_dir, load_definitions
from gpscale.indicators.rx_served import code_set, needed_prefixes
from gpscale.sources.base import SourceError
from gpscale.sources.rx_codes import RxCodeSet
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from tests.fixtures.indicator_store import synthetic_store

RX_IDS = [i for i, d in load_definitions().items() if needed_prefixes(d)]
EPD_HEADER = ("YEAR_MONTH,PRACTICE_NAME,PRACTICE_CODE,BNF_CODE,BNF_DESCRIPTION,QUANTITY,ITEMS,TOTAL_QUANTITY,"
              "ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED")


def _write_epd_files(folder: Path) -> list[Path]:
    """One EPD file per month of a synthetic store's prescribing, widened to many codes and presentations."""
    src = open_store(":memory:")
    synthetic_store(src, n_practices=20, first_fy=2011, n_fys=2)
    con = src.con
    # a second presentation of each code, codes in sections no indicator reads, fractional ADQs and costs
    con.execute("""
        CREATE TEMP TABLE rx AS
        SELECT practice_code, period, bnf_code, items, adq_usage * 1.137 AS adq_usage FROM prescribing
        UNION ALL SELECT practice_code, period, substr(bnf_code, 1, 9) || 'ZZAAAA', items + 1, adq_usage * 0.731
            FROM prescribing WHERE hash(practice_code, period, bnf_code) % 3 = 0
        UNION ALL SELECT practice_code, period, code, 1 + hash(practice_code, period, code) % 40, 0.37
            FROM (SELECT DISTINCT practice_code, period FROM prescribing),
                 (VALUES ('0212000B0AAAAAA'), ('0601022B0AAABAB'), ('0403030Q0AAAAAA'), ('04')) c(code)
    """)
    rows = con.execute(
        "SELECT period, practice_code, bnf_code, items, adq_usage FROM rx ORDER BY period, practice_code, bnf_code"
    ).fetchall()
    src.close()
    folder.mkdir()
    by_month: dict[str, list[str]] = {}
    for period, code, bnf, items, adq in rows:
        nic = round(0.37 * items + 0.011 * len(bnf), 2)
        by_month.setdefault(period, []).append(
            f"{period.replace('-', '')},SURGERY {code},{code},{bnf},Drug {bnf},7,{items:g},{7 * items:g},{adq!r},"
            f"{nic},{round(nic * 0.93, 5)},N"
        )
    paths = []
    for k, (period, lines) in enumerate(sorted(by_month.items())):
        if k == 3:
            lines.insert(5, "not,a,row")  # unparseable: quarantined with its line number
        if k == 7:
            lines.insert(2, lines[2].replace(",7,", ",7,-", 1))  # a negative quantity row
        p = folder / f"EPD_{period.replace('-', '')}.csv"
        p.write_text(EPD_HEADER + "\n" + "\n".join(lines) + "\n")
        paths.append(p)
    return paths


def _store(path: Path, files: list[Path], codes: RxCodeSet | None):
    s = open_store(path)
    synthetic_store(s, n_practices=20, first_fy=2011, n_fys=2)
    s.con.execute("DELETE FROM prescribing")  # prescribing comes from the files
    ingest(s, files, rx_codes=codes)
    return s


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rx-summed")
    files = _write_epd_files(tmp / "epd")
    raw = _store(tmp / "raw.duckdb", files, None)
    summed = _store(tmp / "summed.duckdb", files, code_set(load_definitions().values()))
    yield raw, summed
    raw.close()
    summed.close()


def test_every_prescribing_indicator_identical_from_sums(stores):
    raw, summed = stores
    a = compute_indicators(raw, RX_IDS)
    b = compute_indicators(summed, RX_IDS)
    assert set(a.indicator_id) == set(RX_IDS) and a.value.notna().sum() > 1000
    keys = ["indicator_id", "practice_code", "period", "period_type", "definition_version"]
    pd.testing.assert_frame_equal(a[keys], b[keys])
    for c in ("numerator", "denominator", "value"):
        x, y = a[c].to_numpy(), b[c].to_numpy()
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        # item counts are whole numbers (exact in any order); ADQ sums may differ in the last bits
        assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-12, atol=0), c
    items = a.indicator_id != "rx_hypnotics_adq"
    assert a.loc[items, "numerator"].equals(b.loc[items, "numerator"])


def test_sums_are_far_fewer_rows_and_reconcile(stores):
    raw, summed = stores
    q = "SELECT count(*), sum(items), sum(adq_usage), sum(nic), sum(actual_cost) FROM prescribing"
    (n_raw, *t_raw), (n_sum, *t_sum) = raw.con.execute(q).fetchone(), summed.con.execute(q).fetchone()
    # one row per practice, month and key, each key a prefix of the code set or ''
    codes = code_set(load_definitions().values())
    keys = summed.con.execute(
        "SELECT count(DISTINCT (practice_code, period, bnf_code)), list(DISTINCT bnf_code) FROM prescribing"
    ).fetchone()
    assert keys[0] == n_sum < n_raw / 1.5 and set(keys[1]) <= {"", *codes.prefixes}
    assert np.allclose(t_raw, t_sum, rtol=1e-12)
    # every file's rows_in and rejects are the same either way; the record says which rows each month stands for
    log = "SELECT file_name, rows_in, rows_rejected FROM ingest_log ORDER BY file_name"
    assert raw.con.execute(log).fetchall() == summed.con.execute(log).fetchall()
    rej = "SELECT row_number, rule, detail FROM rejects ORDER BY 1, 2"
    got = summed.con.execute(rej).fetchall()
    assert got == raw.con.execute(rej).fetchall() and len(got) == 2
    served = summed.con.execute(
        "SELECT sum(rows_summed), count(*), min(code_fingerprint) FROM prescribing_aggregate"
    ).fetchone()
    assert served == (n_raw, 24, code_set(load_definitions().values()).fingerprint)


def _definition(folder: Path, source_id: str, new_id: str, version: int, include: list[str]) -> Path:
    text = (default_definitions_dir() / f"{source_id}.yaml").read_text()
    text = text.replace(f"id: {source_id}", f"id: {new_id}").replace("version: 1\n", f"version: {version}\n", 1)
    text = text.replace('bnf_include: ["100101"]\n  bnf_exclude:', f"bnf_include: {include}\n  bnf_exclude:", 1)
    folder.mkdir(exist_ok=True)
    (folder / f"{new_id}.yaml").write_text(text)
    return folder


def test_a_definition_needing_dropped_codes_is_refused(stores, tmp_path):
    raw, summed = stores
    extra = _definition(tmp_path / "defs", "rx_nsaid_not_first_line", "rx_statins_share", 1, ["0212"])
    with pytest.raises(ComputeError) as err:
        compute_indicators(summed, ["rx_statins_share"], definitions_dir=extra)
    msg = str(err.value)
    assert "rx_statins_share" in msg and "0212" in msg and "--keep-rows" in msg and "24 month(s)" in msg
    # the rows store answers it, and the shipped definitions are still served
    assert compute_indicators(raw, ["rx_statins_share"], definitions_dir=extra).numerator.sum() > 0
    compute_indicators(summed, RX_IDS, definitions_dir=extra)


def test_a_changed_definition_is_refused_and_a_reingest_serves_it(stores, tmp_path):
    _, summed = stores
    extra = _definition(tmp_path / "defs", "rx_nsaid_not_first_line", "rx_nsaid_not_first_line", 2, ["1001"])
    with pytest.raises(ComputeError, match=r"rx_nsaid_not_first_line \(version 2\) needs BNF prefixes 1001"):
        compute_indicators(summed, ["rx_nsaid_not_first_line"], definitions_dir=extra)


def test_key_keeps_every_prefix_rule():
    """For random prefix sets and codes: the key is the longest prefix, and startswith(p) is unchanged."""
    rng = random.Random(17)
    alphabet = "0123"
    con = duckdb.connect()
    for _ in range(30):
        prefixes = {"".join(rng.choice(alphabet) for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(1, 12))}
        codes = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))) for _ in range(300)]
        cs = RxCodeSet.of(prefixes)
        con.execute("CREATE OR REPLACE TABLE c AS SELECT unnest(?) AS code", [codes])
        keys = dict(con.execute(f"SELECT code, {cs.key_sql('code')} FROM c").fetchall())
        for code in codes:
            longest = max((p for p in prefixes if code.startswith(p)), key=len, default="")
            assert keys[code] == longest
            assert all(code.startswith(p) == keys[code].startswith(p) for p in prefixes)


def test_exact_copies_are_refused_when_summing(tmp_path):
    path = tmp_path / "EPD_201909.csv"
    row = "201909,SURGERY,A81001,0501013B0AAABAB,Amoxicillin,7,3,21,1.5,2.1,2.0,N"
    path.write_text(EPD_HEADER + "\n" + row + "\n" + row.replace("A81001", "A81002") + "\n" + row + "\n")
    s = open_store(tmp_path / "s.duckdb")
    with pytest.raises(SourceError, match="exact copies"):
        ingest(s, [path], rx_codes=code_set(load_definitions().values()))
    assert s.con.execute("SELECT count(*) FROM prescribing").fetchone() == (0,)
    s.close()
