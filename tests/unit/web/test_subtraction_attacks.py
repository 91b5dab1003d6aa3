"""Subtraction attacks on every output: no hidden count can be worked out from everything published.

One world holds the four scenarios (each test checks its own):

(a) ``FILE-1``, a group given only as the evaluation's extra spells (``gpscale evaluate --groups FILE``),
    with a member holding counts under 5: the old dashboard did not know its members and showed the
    group's 24 and one member's 23, so the hidden 1 was a subtraction away;
(b) ``U00001``, whose member P00003 leaves mid-year (as-was membership: the months before and after differ);
(c) ``U00004``, with one member (P00040) whose monthly counts are all under 5;
(d) ``FED-TEST``'s member P00013... in ``U00002``: a survey value resting on a weighted numerator of 4.844
    out of a weighted base of 14.

For every indicator and period, the attacker (:mod:`tests.unit.web.attack`) collects every count published
by the bundle's Parquet and CSV files, the Excel workbook, the dashboard's CSV downloads and its JSON API,
then solves: no hidden practice or group count may lie in the span of the published ones. Published
numbers must also equal the evaluation's (no output shows a number of its own). The HTML outputs (board
pack, national report, pages) are built from the same disclosed frames; they are checked for the hidden
member being shown as hidden.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gpscale.bundle import open_bundle, write_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle
from gpscale.report.board import write_group_report, write_national_report
from tests.unit.web import world as W
from tests.unit.web.attack import ENGLAND, Cell, Published, csv_frame, hidden_cells, recoverable, truth_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from gpscale.web.app import create_app

FILE_GROUP = "FILE-1"
FILE_MEMBERS = ("P00005", "P00015", "P00025")
SURVEY_MEMBER, SURVEY_YEAR = "P00013", "FY2023/24"
SCENARIOS = {"a": FILE_GROUP, "b": "U00001", "c": "U00004", "d": "U00002"}


def _tweak(pv: pd.DataFrame) -> pd.DataFrame:
    out = pv.copy()
    # (a) one FILE-1 member with counts of 1 in its latest year (the others are ordinary)
    hit = (out["practice_code"] == FILE_MEMBERS[0]) & (out["indicator_id"] == "rx_broad_spectrum") & (
        out["period_type"] == "month") & out["period"].str.startswith("2023")
    out.loc[hit, "numerator"] = 1.0
    # (d) a survey value on a weighted numerator of 4.844 out of 14
    svy = (out["practice_code"] == SURVEY_MEMBER) & (out["indicator_id"] == "gpps_overall_good") & (
        out["period"] == SURVEY_YEAR)
    out.loc[svy, ["numerator", "denominator", "effective_n"]] = [4.844, 14.0, 12.0]
    fy = out["period_type"] == "fy"
    months = out[(out["indicator_id"] == "rx_broad_spectrum") & (out["period_type"] == "month")].copy()
    months["fy"] = [W._fy(m) for m in months["period"]]
    sums = months.groupby(["practice_code", "fy"])[["numerator", "denominator"]].sum()
    for (code, year), r in sums.iterrows():
        k = fy & (out["indicator_id"] == "rx_broad_spectrum") & (out["practice_code"] == code) & (out["period"] == year)
        out.loc[k, ["numerator", "denominator"]] = [r["numerator"], r["denominator"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["value"] = out["numerator"] / out["denominator"] * 100.0
    return out


@functools.cache
def _world() -> tuple[Any, Path]:
    spells = pd.concat([W._spells(), pd.DataFrame({
        "group_id": FILE_GROUP, "practice_code": list(FILE_MEMBERS), "start_date": pd.Timestamp("2015-04-01"),
        "end_date": pd.NaT, "source": "registry file extra.yaml"})], ignore_index=True)
    groups = pd.concat([W._groups(), pd.DataFrame({"group_id": [FILE_GROUP], "name": ["File-only Network"],
                                                   "kind": ["network"]})], ignore_index=True)
    ev = W.evaluation(("scorecard", "trends", "variation"), spells=spells, groups=groups, tweak=_tweak)
    out = Path(tempfile.mkdtemp(prefix="gpscale-attack-")) / "results"
    write_bundle(make_bundle(ev), out, meta=bundle_meta(ev), excel=True)
    return ev, out


@functools.cache
def _published() -> Published:
    """Every count every output publishes."""
    ev, folder = _world()
    bundle = open_bundle(folder)
    pub = Published()
    defs = bundle.table("definitions").to_dict("records")
    mult = {str(r["indicator_id"]): float(r["multiplier"]) for r in defs}
    survey = {str(r["indicator_id"]) for r in defs if r["value_type"] == "weighted_proportion"}

    def funnel_sizes(frame: pd.DataFrame) -> pd.DataFrame:
        """A survey share is placed in its funnel by Kish's effective sample size, published as "denominator"."""
        s = frame["indicator_id"].astype(str).isin(survey)
        out = frame.assign(effective_n=frame["denominator"].where(s))
        return out.assign(denominator=frame["denominator"].where(~s))
    # the bundle's files: Parquet, CSV, Excel
    for where, read in (("parquet", lambda n: pd.read_parquet(folder / f"{n}.parquet")),
                        ("csv", lambda n: csv_frame((folder / f"{n}.csv").read_text())),
                        ("excel", lambda n: pd.read_excel(folder / "results.xlsx", sheet_name=n,
                                                          dtype={"practice_code": str, "period": str}))):
        pub.add_frame(where, read("practice_values"), "practice_code", "P")
        pub.add_frame(where, read("scorecard"), "entity_id", "G")
        pub.add_frame(where, funnel_sizes(read("group_funnels")), "group_id", "G")
        funnels = funnel_sizes(read("funnels"))
        pub.add_frame(where, funnels.drop(columns=["numerator"], errors="ignore"), "practice_code", "P")
        for r in funnels.to_dict("records"):  # value and denominator published together give the numerator
            if pd.notna(r["value"]) and pd.notna(r["denominator"]) and r["indicator_id"] not in survey:
                pub.add(where, f"P:{r['practice_code']}", str(r["indicator_id"]), str(r["period"]), "numerator",
                        r["value"] * r["denominator"] / mult[str(r["indicator_id"])])
    # the dashboard: CSV downloads and the JSON API for every group, practice, indicator and year
    client = TestClient(create_app(bundle, cache_pages=False))
    ids = sorted(set(ev.members["group_id"]))
    indicators = list(ev.definitions)
    years = sorted(ev.scorecard.loc[ev.scorecard["period_type"] == "fy", "period"].unique())
    for g in ids:
        pub.add_frame("csv:group scorecard", csv_frame(client.get(f"/download/groups/{g}/scorecard.csv").text),
                      "group_id", "G")
        for pt in ("fy", "month"):
            rows = client.get(f"/api/v1/groups/{g}/results?period_type={pt}").json()
            pub.add_frame("api:group results", pd.DataFrame(rows).assign(group_id=g), "group_id", "G")
        for i in indicators:
            for y in years:
                r = client.get(f"/download/indicators/{i}/funnel.csv?group={g}&period={y}")
                if r.status_code == 200:
                    pub.add_frame("csv:member funnel", funnel_sizes(csv_frame(r.text).assign(indicator_id=i)),
                                  "practice_code", "P", i, y)
                j = client.get(f"/api/v1/indicators/{i}/funnel?group={g}&period={y}")
                if j.status_code == 200 and j.json()["rows"]:
                    pub.add_frame("api:member funnel", funnel_sizes(pd.DataFrame(j.json()["rows"]).assign(
                        indicator_id=i)), "id", "P", i, y)
    for i in indicators:
        for y in years:
            r = client.get(f"/download/indicators/{i}/funnel.csv?period={y}")
            if r.status_code == 200:
                pub.add_frame("csv:group funnel", funnel_sizes(csv_frame(r.text).assign(indicator_id=i)), "group_id",
                              "G", i, y)
            j = client.get(f"/api/v1/indicators/{i}/funnel?period={y}")
            if j.status_code == 200 and j.json()["rows"]:
                pub.add_frame("api:group funnel", funnel_sizes(pd.DataFrame(j.json()["rows"]).assign(indicator_id=i)),
                              "id", "G", i, y)
    for code in sorted(set(ev.practice_values["practice_code"])):
        pub.add_frame("csv:practice", csv_frame(client.get(f"/download/practices/{code}/values.csv").text),
                      "practice_code", "P")
        pub.add_frame("api:practice", pd.DataFrame(client.get(f"/api/v1/practices/{code}").json()["values"]).assign(
            practice_code=code), "practice_code", "P")
    return pub


def _raw() -> tuple[dict[Cell, float], dict[tuple[str, str], list[str]]]:
    return truth_of(_world()[0])


def _hidden_cells(scenario_group: str) -> list[Cell]:
    ev, folder = _world()
    return hidden_cells(open_bundle(folder), ev.members, scenario_group)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_no_hidden_count_is_recoverable_from_all_outputs_together(scenario):
    group = SCENARIOS[scenario]
    ev, _ = _world()
    truth, pooled = _raw()
    hidden = _hidden_cells(group)
    assert hidden, f"scenario {scenario}: the fixture must make the gate hide something in {group}"
    # the hidden cells the scenario is about are among them
    if scenario == "a":
        assert any(u == f"P:{FILE_MEMBERS[0]}" and i == "rx_broad_spectrum" for u, i, _, _ in hidden)
    if scenario == "c":
        assert any(u == "P:P00040" and p.startswith("20") for u, _, p, _ in hidden)
    if scenario == "d":
        assert (f"P:{SURVEY_MEMBER}", "gpps_overall_good", SURVEY_YEAR, "numerator") in hidden
    pub = _published()
    found = recoverable(pub, ev.members, pooled, [h for h in hidden if truth.get(h, 0) > 0])
    assert not found, f"scenario {scenario}: recoverable by subtraction: {found[:5]}"


@pytest.mark.slow
def test_every_published_count_is_the_evaluations_own():
    truth, _ = _raw()
    pub = _published()
    wrong = []
    for (ind, per, col), cells in pub.cells.items():
        for unit, value in cells.items():
            true = truth.get((unit, ind, per, col))
            if true is None or abs(true - value) > 1e-6 * max(1.0, abs(true)):
                wrong.append((unit, ind, per, col, value, true, sorted(pub.sources[(ind, per, col, unit)])))
    assert not wrong, wrong[:5]
    assert len(pub.cells) > 50


@pytest.mark.slow
def test_reports_and_pages_show_the_hidden_member_as_hidden(tmp_path):
    _, folder = _world()
    bundle = open_bundle(folder)
    client = TestClient(create_app(bundle, cache_pages=False))
    # the file-only group is known to every output, with the membership the evaluation used
    page = client.get(f"/groups/{FILE_GROUP}").text
    assert "File-only Network" in page and all(code in page for code in FILE_MEMBERS)
    api = client.get(f"/api/v1/groups/{FILE_GROUP}").json()
    assert sorted(api["current_members"]) == sorted(FILE_MEMBERS)
    values = client.get(f"/api/v1/practices/{FILE_MEMBERS[0]}").json()["values"]
    small = [v for v in values if v["indicator_id"] == "rx_broad_spectrum" and v["period"].startswith("2023")]
    assert small and all(v["numerator"] is None and v["suppressed"] for v in small)
    pack = write_group_report(bundle, FILE_GROUP, tmp_path / "f.html")[0].read_text()
    national = write_national_report(bundle, tmp_path / "n.html")[0].read_text()
    assert "File-only Network" in pack and "4.844" not in pack + national
    survey = client.get(f"/indicators/gpps_overall_good?group=U00002&period={SURVEY_YEAR}").text
    assert "hidden by disclosure control" in survey and "4.844" not in survey


def test_england_is_pooled_over_every_practice():
    _, pooled = _raw()
    ev, _ = _world()
    e = ev.scorecard[(ev.scorecard["entity_id"] == ENGLAND)].drop_duplicates(["indicator_id", "period"])
    assert all(len(pooled.get((r["indicator_id"], r["period"]), [])) == r["n_practices"] for r in e.to_dict("records"))
