"""Scale-up events, the ODS successor file, and what the event studies say when the data cannot tell.

The successor-file fixture is built from the published layout (ODS data downloads, "Successor
Organisations", ``succ.csv`` / ``succarc.csv``): headerless, five quoted fields (organisation code,
successor organisation code, reason, effective date CCYYMMDD, indicator), covering every organisation
type ODS records succession for.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.events import (
    EventKind,
    EventStudyOptions,
    StudyStatus,
    Verdict,
    event_tables,
    scale_up_events,
    store_successions,
    undated_spells,
)
from gpscale.indicators.library import load_definitions
from gpscale.periods import fy_label
from gpscale.sources.base import SourceError
from gpscale.sources.registry import detect
from gpscale.store import open_store
from gpscale.store.ingest import ingest

GROUPS = pd.DataFrame({
    "group_id": ["FED1", "U00001", "U00002", "SP1"],
    "name": ["A federation", "PCN one", "PCN two", "A super-partnership"],
    "kind": ["federation", "pcn", "pcn", "super_partnership"],
})


def _spells(*rows: tuple[str, str, date | None, date | None]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["group_id", "practice_code", "start_date", "end_date"])
    for c in ("start_date", "end_date"):
        df[c] = pd.to_datetime(df[c])
    return df


def test_events_from_spells_first_spell_per_group_with_kind_and_financial_year():
    s = _spells(
        ("FED1", "A81001", date(2014, 4, 1), date(2016, 3, 31)),
        ("FED1", "A81001", date(2018, 1, 1), None),  # rejoining is not a new event
        ("U00001", "A81001", date(2019, 7, 1), date(2021, 3, 31)),
        ("U00002", "A81001", date(2021, 4, 1), None),  # moving PCN is not scaling up
        ("SP1", "A81002", date(2016, 2, 1), None),
        ("SP1", "A81003", None, None),  # undated: no event
    )
    ev = scale_up_events(s, GROUPS)
    got = {(r.practice_code, r.kind, r.group_id, r.event_fy, r.first_of_kind) for r in ev.itertuples()}
    assert ("A81001", "joined_federation", "FED1", "FY2014/15", True) in got
    assert ("A81001", "joined_pcn", "U00001", "FY2019/20", True) in got
    assert ("A81001", "joined_pcn", "U00002", "FY2021/22", False) in got
    assert ("A81002", "joined_super_partnership", "SP1", "FY2015/16", True) in got
    assert len(ev) == 4
    assert undated_spells(s) == 1
    assert set(ev["source"]) == {"membership spells"}


def test_group_of_unknown_kind_gives_a_joined_other_group_event():
    ev = scale_up_events(_spells(("X9", "A81001", date(2015, 4, 1), None)), GROUPS)
    assert ev["kind"].tolist() == [EventKind.JOINED_OTHER_GROUP.value]


SUCC = (
    '"A81002","A81001","","20150401",""\n'   # practice A81002 closed into A81001
    '"RXA","RXB","","20120401",""\n'          # trusts: not practices, not loaded
    '"B82010","B82005","","",""\n'            # blank date: dated from the practice register
    '"5A1","5QK","","20060701",""\n'          # commissioners: not loaded
)

EPRACCUR_ROW = ('"{code}","SOME SURGERY","Y56","Q71","1 HIGH ST","","","","","N1 1AA","19740401","{close}",'
                '"C","B","00C","","","","","","","","","","","4",""\n')


def test_successor_file_is_detected_and_loaded_with_merger_events(tmp_path: Path):
    f = tmp_path / "succ.csv"
    f.write_text(SUCC)
    _, det = detect(f)
    assert det.format == "ods_successor" and det.variant == "current"
    reg = tmp_path / "epraccur_2020-01.csv"
    reg.write_text(EPRACCUR_ROW.format(code="B82010", close="20170930"))
    with open_store(":memory:") as st:
        ingest(st, [f, reg])
        msg = st.df("SELECT message FROM ingest_log WHERE format = 'ods_successor'")["message"].iloc[0]
        assert msg.startswith("2 practice successions loaded; 2 rows about other organisation types")
        succ = store_successions(st)
    assert succ[["predecessor", "successor"]].values.tolist() == [["A81002", "A81001"], ["B82010", "B82005"]]
    assert succ["effective_date"].tolist() == [pd.Timestamp(2015, 4, 1), pd.Timestamp(2017, 10, 1)]
    ev = scale_up_events(pd.DataFrame(columns=["group_id", "practice_code", "start_date", "end_date"]), None, succ)
    assert ev[["practice_code", "kind", "group_id", "predecessor", "event_fy"]].values.tolist() == [
        ["A81001", "merger", "A81001", "A81002", "FY2015/16"],
        ["B82005", "merger", "B82005", "B82010", "FY2017/18"],
    ]


def test_successor_file_with_a_bad_code_quarantines_the_row_and_a_bad_date_too(tmp_path: Path):
    f = tmp_path / "succarc.csv"
    f.write_text(SUCC + '"A8!003","A81001","","20160401",""\n' + '"A81004","A81001","","20161399",""\n')
    with open_store(":memory:") as st:
        ingest(st, [f])
        rejects = st.df("SELECT rule, detail FROM rejects")
    assert sorted(rejects["rule"]) == ["impossible-date", "invalid-ods-code"]


def test_successor_file_with_the_wrong_number_of_columns_is_not_claimed(tmp_path: Path):
    f = tmp_path / "succ.csv"
    f.write_text('"A81002","A81001","20150401"\n')
    with pytest.raises(SourceError):
        detect(f)


def _frames(pcn_share: float, n: int = 120, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Practice values of one proportion indicator, 2009-2022, and spells: PCNs in 2019 for a share."""
    rng = np.random.default_rng(seed)
    codes = [f"A{81000 + i}" for i in range(n)]
    rows = []
    for fy in range(2009, 2023):
        den = rng.integers(200, 400, n).astype(float)
        num = rng.binomial(den.astype(int), 0.3).astype(float)
        rows.append(pd.DataFrame({"indicator_id": "rx_broad_spectrum", "practice_code": codes, "period": fy_label(fy),
                                  "period_type": "fy", "numerator": num, "denominator": den, "value": num / den,
                                  "definition_version": 1}))
    pv = pd.concat(rows, ignore_index=True)
    joined = [c for c in codes if rng.random() < pcn_share]
    spells = _spells(*((f"U{10000 + k % 10:05d}", c, date(2019, 7, 1), None) for k, c in enumerate(joined)))
    return pv, spells


def test_pcn_formation_for_nearly_every_practice_is_reported_as_simultaneous_not_estimated():
    pv, spells = _frames(pcn_share=0.97)
    defs = {"rx_broad_spectrum": load_definitions()["rx_broad_spectrum"]}
    groups = pd.DataFrame({"group_id": spells["group_id"].unique(), "name": "a PCN", "kind": "pcn"})
    out = event_tables(pv, spells, groups, defs, None, options=EventStudyOptions(n_boot=199))
    kind_rows = out["event_summary"][out["event_summary"]["entity_type"] == "event_kind"]
    row = kind_rows.iloc[0]
    assert row["status"] == StudyStatus.SIMULTANEOUS.value and row["verdict"] == Verdict.CANNOT_TELL.value
    assert pd.isna(row["estimate"])
    assert "no not-yet-treated practices" in row["conclusion"] and "FY2019/20" in row["conclusion"]
    assert out["event_study"].empty
    # every PCN gets its own row saying the same
    per_pcn = out["event_summary"][out["event_summary"]["entity_type"] == "group"]
    assert len(per_pcn) == 10 and set(per_pcn["status"]) == {StudyStatus.SIMULTANEOUS.value}


def test_a_staggered_group_kind_is_estimated_with_chart_ready_rows_and_too_few_events_say_so():
    pv, _ = _frames(pcn_share=0.0)
    codes = sorted(pv["practice_code"].unique())
    spells = _spells(*((f"FED{k % 12}", c, date(2012 + k % 6, 4, 1), None) for k, c in enumerate(codes[:60])),
                     ("SP1", codes[100], date(2015, 4, 1), None))
    groups = pd.DataFrame({"group_id": [*(f"FED{k}" for k in range(12)), "SP1"], "name": "g",
                           "kind": [*["federation"] * 12, "super_partnership"]})
    defs = {"rx_broad_spectrum": load_definitions()["rx_broad_spectrum"]}
    out = event_tables(pv, spells, groups, defs, None, options=EventStudyOptions(n_boot=199), data_version="dv1")
    summ = out["event_summary"].set_index(["entity_type", "entity_id"])
    fed = summ.loc[("event_kind", "joined_federation")]
    assert fed["status"] == "estimated" and fed["cluster"] == "receiving group" and fed["n_groups"] == 12
    assert fed["verdict"] in {"no change detected", "improved", "worsened", "cannot tell"}
    assert np.isfinite(fed["pretrend_p"]) and fed["lower"] < fed["estimate"] < fed["upper"]
    assert summ.loc[("event_kind", "joined_super_partnership")]["status"] == StudyStatus.TOO_FEW_EVENTS.value
    grp = summ.loc[("group", "FED0")]
    assert grp["cluster"] == "practice" and grp["status"] in {"estimated", "too few events"}
    rows = out["event_study"]
    kind_rows = rows[(rows["entity_type"] == "event_kind") & (rows["entity_id"] == "joined_federation")]
    ref = kind_rows[kind_rows["reference"].astype(bool)]
    assert ref["event_time"].tolist() == [-1] and ref["estimate"].tolist() == [0.0]
    assert kind_rows["event_time"].min() <= -2 and kind_rows["event_time"].max() >= 2
    assert set(rows["data_version"]) == {"dv1"} and set(rows["scale"]) == {"log odds ratio"}
