"""Real data: the two example schemes in docs/schemes/ on the published QOF achievement and ePCN files.

A store is built from the four QOF practice achievement tables and the three ODS ePCN workbooks (QOF
achievement is the only gpscale indicator these files give; the examples' other targets are reported as
not scored, with the reason). Checks:

* every PCN with QOF data is scored on the QOF targets of FY2021/22;
* each PCN's achievement equals pooled points over pooled maxima (635 a practice) computed from the raw CSV
  alone, grouping practices by the file's own PCN column, for all but the few PCNs whose membership differs
  between the ePCN spells (as-was, 1 October 2021) and the file's year-end PCN column;
* money adds up (totals are sums of target payments) and the IIF-style list-size adjustment uses the mean
  PCN list;
* the forecast refuses to trend QOF across its 2021/22 data break (maximum points rose to 635).

A summary (money, share meeting each target) is written to ``$TMPDIR/gpscale-test-reports/
scheme_real_qof.md`` and quoted in docs/schemes.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.schemes import forecast_scheme, inputs_from_store, load_scheme, score_scheme
from gpscale.store import open_store
from gpscale.store.ingest import ingest
from tests.realdata.known_rows import QUARANTINED
from tests.shared_data import require_shared

REAL = require_shared("real")

pytestmark = pytest.mark.realdata

DOCS = Path(__file__).resolve().parents[3] / "docs" / "schemes"
QOF = REAL / "qof_practice_overall_achievement"
REPORT = Path(tempfile.gettempdir()) / "gpscale-test-reports" / "scheme_real_qof.md"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    store = tmp_path_factory.mktemp("real-schemes") / "store.duckdb"
    out = {}
    with open_store(store) as st:
        ingest(st, [*sorted(QOF.glob("QOF_*.csv")), *sorted((REAL / "ods_epcn").glob("ePCN_*.xlsx"))])
        for name in ("network_standards", "iif_thresholds"):
            scheme = load_scheme(DOCS / f"{name}.yaml")
            inputs = inputs_from_store(st, scheme)
            out[name] = (scheme, score_scheme(scheme, inputs), forecast_scheme(scheme, inputs, draws=500))
    _report(out)
    return out


def _raw_points() -> pd.Series:
    """Points (635 maximum) per practice in the raw FY2021/22 CSV, less the row the loader quarantines."""
    df = pd.read_csv(QOF / "QOF_2021-22.csv", encoding="utf-8-sig", dtype=str)
    df = df[~df["Practice code"].isin(QUARANTINED["QOF_2021-22.csv"])]
    pts = pd.to_numeric(df["Achievement score (635 max)"], errors="coerce")
    return pd.Series(pts.to_numpy(), index=df["Practice code"]).dropna()


def _raw_pcn_column() -> pd.Series:
    df = pd.read_csv(QOF / "QOF_2021-22.csv", encoding="utf-8-sig", dtype=str)
    return df.set_index("Practice code")["PCN ODS code"]


def test_every_pcn_is_scored_on_qof_and_other_targets_say_why_not(results):
    _s, scored, _f = results["network_standards"]
    s = scored.scores
    q = s[s["indicator_id"] == "qof_total"]
    assert q["group_id"].nunique() > 1200 and (q["status"] == "scored").mean() > 0.99
    others = s[s["indicator_id"] != "qof_total"]
    assert (others["status"] == "not scored: no counted member practice has data").all()
    assert (others["payment_pence"] == 0).all()


def test_pcn_achievement_is_pooled_points_over_pooled_maxima_from_the_raw_file(results):
    _s, scored, _f = results["iif_thresholds"]  # no exception rules: every member with data counts
    q = scored.scores[(scored.scores["target_id"] == "qof_total") & (scored.scores["status"] == "scored")]
    got = q.set_index("group_id")["achievement"]
    c = scored.contributions
    counted = c[(c["target_id"] == "qof_total") & (c["status"] == "counted")]
    # the counted members' points from the raw CSV alone: sum of points / (635 x practices)
    pts = counted.assign(pts=counted["practice_code"].map(_raw_points()))
    assert pts["pts"].notna().all()
    g = pts.groupby("group_id")["pts"]
    expected = 100 * g.sum() / (635 * g.size())
    assert len(expected) == len(got) > 1200
    assert np.allclose(got[expected.index], expected, atol=1e-9)
    # and the membership agrees with the file's own year-end PCN column for most PCNs (practices moving on
    # 1 April 2022 are in their old PCN as-was, in the new one in the QOF file)
    in_file = counted["practice_code"].map(_raw_pcn_column()) == counted["group_id"]
    same = in_file.groupby(counted["group_id"]).all()
    assert same.mean() > 0.85


def test_money_adds_up_and_the_list_size_adjustment_uses_the_mean_pcn(results):
    scheme, scored, _f = results["iif_thresholds"]
    s, t = scored.scores, scored.totals
    assert t["payment_pence"].sum() == s["payment_pence"].sum()
    assert (t.set_index("group_id")["payment_pence"] == s.groupby("group_id")["payment_pence"].sum()).all()
    # 40 points x £198.00 x list / mean list: the value available over all PCNs with a known list is
    # 40 x 198 x (number of such PCNs), to within a penny's rounding per PCN
    avail = s[(s["target_id"] == "qof_total") & s["payment_available_pence"].notna()]["payment_available_pence"]
    assert abs(avail.sum() - 40 * 19_800 * len(avail)) <= len(avail)
    assert scheme.point_value.list_size_reference == "mean"


def test_qof_is_not_forecast_across_its_data_break(results):
    _s, _scored, f = results["network_standards"]
    q = f.forecasts[f.forecasts["indicator_id"] == "qof_total"]
    assert q["status"].str.startswith("not forecast: 1 year(s) of qof_total since its last data break").all()


def _report(out) -> None:
    lines = ["# Example schemes on real QOF 2021/22 and ePCN membership", ""]
    for scheme, scored, _f in out.values():
        s, t = scored.scores, scored.totals
        lines += [f"## {scheme.title}", "", "| target | PCNs scored | met | target inside interval | paid |",
                  "|---|---|---|---|---|"]
        for tid, d in s.groupby("target_id", sort=False):
            ok = d[d["status"] == "scored"]
            lines.append(f"| {tid} | {len(ok)} | {ok['met'].mean():.1%} | {ok['target_in_interval'].mean():.1%} | "
                         f"£{d['payment_pence'].sum() / 100:,.2f} |" if len(ok) else f"| {tid} | 0 | - | - | - |")
        pay = t["payment_pence"].dropna().astype(float) / 100
        lines += ["", f"{len(t)} PCNs; total paid £{pay.sum():,.2f}; median PCN £{pay.median():,.2f} "
                      f"(10th-90th centile £{pay.quantile(0.1):,.2f} to £{pay.quantile(0.9):,.2f}).", ""]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
