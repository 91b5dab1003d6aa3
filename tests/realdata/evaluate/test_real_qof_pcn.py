"""Real data: every PCN on total QOF achievement, every year available, and "is bigger better?" nationally.

Loads the published QOF practice achievement tables (2017/18, 2018/19, 2019/20, 2021/22), the three ODS
ePCN workbooks, QOF's MAPPING_NHS_GEOGRAPHIES files (both carry PCN columns), the ODS practice register,
NHS Payments to General Practice (contract type, rurality, list size) and the practice IMD file, then
evaluates ``qof_total`` for every PCN:

* under the as-was view (PCNs exist from July 2019, so 2019/20 and 2021/22), and
* under the cohort view at 1 December 2019 (the first ePCN snapshot's members applied to every year,
  so every PCN has all four years).

England's value each year must equal pooled points over pooled maxima across all practices computed
independently from the raw CSV. The size-versus-performance analysis over all PCNs is summarised in
``evaluate_realdata_qof_pcn.json`` and ``.md`` in ``figures_dir`` (``bench-results/`` under ``make bench``).

Skipped, with the reason, where ``../shared/data/real`` is absent (set GPSCALE_SHARED_DATA elsewhere).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gpscale.evaluate.run import evaluate
from gpscale.store import open_store
from gpscale.store.ingest import ingest
from tests.realdata.known_rows import QUARANTINED
from tests.shared_data import require_shared

pytestmark = pytest.mark.realdata


REAL = require_shared("real")

QOF_DIR = REAL / "qof_practice_overall_achievement"
COHORT = "cohort:2019-12-01"


def _files() -> list[Path]:
    return [
        *sorted(QOF_DIR.glob("QOF_*.csv")),
        *sorted((REAL / "ods_epcn").glob("ePCN_*.xlsx")),
        *sorted((REAL / "qof_organisation_reference").glob("MAPPING_NHS_GEOGRAPHIES_*.csv")),
        *sorted((REAL / "ods_epraccur").glob("epraccur_*.csv")),
        *sorted((REAL / "nhs_payments_to_general_practice").glob("*.csv")),
        REAL / "imd_deprivation" / "practice_imd_blackwellrd.csv",
    ]


def raw_england(path: Path) -> dict[str, Any]:
    """England's total QOF achievement from the raw CSV alone: Σ points / (year's maximum x practices)."""
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    col = next(c for c in df.columns if c.lower().startswith("achievement score"))
    maximum = float("".join(ch for ch in col if ch.isdigit()))
    code = next(c for c in df.columns if c.strip().lower() == "practice code")
    pts = pd.to_numeric(df[col], errors="coerce")
    ok = pts.notna()
    keep = ok & ~df[code].isin(QUARANTINED.get(path.name, set()))
    return {
        "practices": int(ok.sum()),
        "value_all_rows": float(100 * pts[ok].sum() / (maximum * ok.sum())),
        "value": float(100 * pts[keep].sum() / (maximum * keep.sum())),
        "maximum": maximum,
        "practices_loaded": int(keep.sum()),
    }


def _fy(path: Path) -> str:
    y = int(path.stem.split("_")[1][:4])
    return f"FY{y}/{(y + 1) % 100:02d}"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Any]:
    store_path = tmp_path_factory.mktemp("realqof") / "store.duckdb"
    with open_store(store_path) as st:
        ingest(st, _files())
        as_was = evaluate(st, ["qof_total"], analyses=["scorecard", "trends", "variation", "characteristics",
                                                       "size"])
        cohort = evaluate(st, ["qof_total"], view=COHORT, analyses=["scorecard", "size"])
        pcn_ids = set(st.df("SELECT group_id FROM practice_group WHERE kind = 'pcn'")["group_id"])
    return {"as_was": as_was, "cohort": cohort, "pcn_ids": pcn_ids}


def test_england_each_year_is_pooled_points_over_pooled_maxima_from_the_raw_file(results):
    card = results["as_was"].scorecard
    eng = card[(card["entity_type"] == "england") & (card["confidence"] == 0.95)].set_index("period")
    files = sorted(QOF_DIR.glob("QOF_*.csv"))
    assert sorted(eng.index) == sorted(_fy(f) for f in files)
    for f in files:
        raw = raw_england(f)
        row = eng.loc[_fy(f)]
        assert row["value"] == pytest.approx(raw["value"], abs=1e-9), f.name
        assert row["n_practices"] == raw["practices_loaded"]
        assert row["denominator"] == pytest.approx(raw["maximum"] * raw["practices_loaded"])
        # the quarantined row moves England's value by less than 0.001 percentage points
        assert abs(raw["value_all_rows"] - raw["value"]) < 1e-3


def test_every_pcn_is_evaluated_every_year_it_exists_and_under_the_cohort_every_year(results, figures_dir):
    pcn_ids = results["pcn_ids"]
    assert len(pcn_ids) > 1200
    for key, years in (("as_was", {"FY2019/20", "FY2021/22"}),
                       ("cohort", {"FY2017/18", "FY2018/19", "FY2019/20", "FY2021/22"})):
        card = results[key].scorecard
        g = card[(card["entity_type"] == "group") & card["entity_id"].isin(pcn_ids) & (card["confidence"] == 0.95)]
        assert set(g["period"]) == years, key
        per_year = g.groupby("period")["entity_id"].nunique()
        assert (per_year > 1150).all(), per_year
        assert g["comparison"].isin(["better", "similar", "worse", "not compared"]).all()
        assert set(g["membership_view"]) == {"as-was" if key == "as_was" else COHORT}
        assert g["p_value"].notna().mean() > 0.95
    # the size analysis runs over all PCNs (with any registry groups) in every year evaluated
    eff = results["cohort"].size_effect
    assert set(eff["period"]) == {"FY2017/18", "FY2018/19", "FY2019/20", "FY2021/22"}
    assert (eff["n_groups"] > 1100).all() and eff["conclusion"].str.len().gt(40).all()
    _write_summary(results, figures_dir)


def test_profiles_and_characteristics_use_published_context(results):
    ev = results["as_was"]
    prof = ev.profiles[ev.profiles["period"] == "FY2021/22"]
    assert prof["patients"].median() > 25_000 and prof["n_practices"].median() >= 4
    assert prof["pct_apms"].notna().mean() > 0.9 and prof["imd_score"].notna().mean() > 0.9
    ch = ev.characteristics
    assert {"log2_patients", "imd_score", "pct_rural"} <= set(ch["term"])
    assert ch["n_groups"].min() > 1000


def _write_summary(results: dict[str, Any], out: Path) -> None:
    eng = {}
    for f in sorted(QOF_DIR.glob("QOF_*.csv")):
        raw = raw_england(f)
        card = results["as_was"].scorecard
        row = card[(card["entity_type"] == "england") & (card["confidence"] == 0.95) & (card["period"] == _fy(f))]
        eng[_fy(f)] = {"pipeline": float(row["value"].iloc[0]), "raw_file": raw["value"],
                       "raw_file_all_rows": raw["value_all_rows"], "practices": raw["practices_loaded"],
                       "maximum_points": raw["maximum"]}
    summary: dict[str, Any] = {"england_qof_total_percent": eng, "size": {}, "scorecard": {}}
    for key in ("as_was", "cohort"):
        ev = results[key]
        eff = ev.size_effect
        summary["size"][ev.view.label] = [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in eff[["period", "n_groups", "patients_p5", "patients_median", "patients_p95", "value", "lower",
                          "upper", "per_doubling_natural", "natural_lower", "natural_upper", "nonlinearity_p",
                          "tau2", "thin_bands", "conclusion"]].to_dict("records")
        ]
        g = ev.scorecard[(ev.scorecard["entity_type"] == "group") & (ev.scorecard["confidence"] == 0.95)
                         & ev.scorecard["entity_id"].isin(results["pcn_ids"])]
        summary["scorecard"][ev.view.label] = {
            p: {**{str(k): int(v) for k, v in d["comparison"].value_counts().items()},
                **{f"{k}_fdr": int(v) for k, v in d["comparison_fdr"].value_counts().items()}}
            for p, d in g.groupby("period")
        }
    ch = results["as_was"].characteristics
    summary["characteristics_FY2021/22_univariable"] = ch[(ch["period"] == "FY2021/22")
                                                          & (ch["model"] == "univariable")][
        ["term", "value", "lower", "upper", "per_unit_natural", "direction", "n_groups"]].to_dict("records")
    (out / "evaluate_realdata_qof_pcn.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    lines = ["# Real data: PCNs on total QOF achievement", "",
             "| year | England (pipeline) | England (raw file) | practices | maximum |", "|---|---|---|---|---|"]
    for fy, e in eng.items():
        lines.append(f"| {fy} | {e['pipeline']:.4f}% | {e['raw_file']:.4f}% | {e['practices']} | "
                     f"{e['maximum_points']:g} |")
    for view, rows in summary["size"].items():
        lines += ["", f"## Is bigger better? ({view})", "",
                  "| year | PCNs | change per doubling of patients, % points (95% CI) | non-linearity p | conclusion |",
                  "|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['period']} | {r['n_groups']} | {r['per_doubling_natural']:+.3f} "
                         f"({r['natural_lower']:+.3f} to {r['natural_upper']:+.3f}) | "
                         f"{r['nonlinearity_p'] if r['nonlinearity_p'] is None else round(r['nonlinearity_p'], 3)} | "
                         f"{r['conclusion']} |")
    for view, years in summary["scorecard"].items():
        lines += ["", f"## PCNs against England ({view}, 95%)", ""]
        for p, counts in years.items():
            lines.append(f"- {p}: {json.dumps(counts)}")
    (out / "evaluate_realdata_qof_pcn.md").write_text("\n".join(lines) + "\n")
