"""Writers for each published NHS layout synthetic England produces.

Each writer takes the :class:`~gpscale.synth.world.World` and a folder and writes files byte for byte
in the layout of the real publication (see ``docs/formats/synthetic-layouts.md``), so that the demo
goes through the same format detection and loaders as real data. Writers draw their noise from the
world's generator in a fixed order; the caller fixes that order, so a seed fixes every byte.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from scipy.special import expit

from gpscale.domain.qof import qof_max_points_of_year
from gpscale.synth.world import FYS, QUIN_BANDS, World, open_mask

# ---------------------------------------------------------------- shared helpers


#: zlib level of the large files written gzip-compressed (``*.csv.gz``: prescribing months, hospital
#: activity, registrations). Level 1 compresses these repetitive files 7-9 times at a quarter of the CPU time
#: of the default level 6, which would make them a further quarter smaller.
GZIP_LEVEL = 1


def _csv(df: pd.DataFrame, path: Path, header: bool = True, quote_all: bool = False) -> Path:
    """Write ``df`` as CSV; gzip-compressed when ``path`` ends in ``.gz`` (see :func:`_gzip`)."""
    import csv

    options = {"index": False, "header": header, "lineterminator": "\n",
               "quoting": csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL}
    if path.suffix == ".gz":
        return _gzip(df.to_csv(**options).encode("utf-8"), path)
    df.to_csv(path, **options)
    return path


def _gzip(data: bytes, path: Path) -> Path:
    """Write ``data`` gzip-compressed, byte for byte the same for the same data (no time or name in the header)."""
    path.write_bytes(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
    return path


def _ymd(d: object) -> str:
    return "" if d is None or (isinstance(d, float) and np.isnan(d)) else d.strftime("%Y%m%d")  # type: ignore[attr-defined]


def _open_at(world: World, d: date) -> np.ndarray:
    return open_mask(world.practices, d, d)


def qof_max_points(fy: int) -> int:
    """The published maximum QOF points of the financial year starting in ``fy``."""
    m = qof_max_points_of_year(fy)
    if m is None:
        raise ValueError(f"no published QOF maximum for FY{fy}; extend gpscale.domain.qof")
    return m


#: Each era's domains with their approximate share of the year's maximum (the last takes the remainder).
_QOF_DOMAIN_SHARES: tuple[tuple[int, dict[str, float]], ...] = (
    (2012, {"Clinical": 0.661, "Organisational": 0.167, "Patient experience": 0.1, "Additional services": 0.072}),
    (2013, {"Clinical": 0.728, "Public health": 0.272}),
    (2020, {"Clinical": 0.778, "Public health": 0.222}),
    (9999, {"Clinical": 0.638, "Public health": 0.252, "Quality improvement": 0.11}),
)


def qof_domain_max(fy: int) -> dict[str, int]:
    """Approximate domain maxima of the year; they add up to the year's published maximum."""
    total = qof_max_points(fy)
    shares = next(s for last, s in _QOF_DOMAIN_SHARES if fy <= last)
    names = list(shares)
    out = {name: round(total * shares[name]) for name in names[:-1]}
    out[names[-1]] = total - sum(out.values())
    return out


# ---------------------------------------------------------------- ODS


def write_epraccur(world: World, out: Path) -> Path:
    """ODS epraccur: headerless, 27 quoted columns, one row per practice ever open."""
    p = world.practices
    closed = p["close_date"].notna()
    rows = pd.DataFrame(
        {
            0: p["practice_code"], 1: p["name"], 2: p["region"], 3: p["icb"],
            4: "THE SURGERY", 5: "HIGH STREET", 6: "", 7: "", 8: "", 9: p["postcode"],
            10: [_ymd(d) for d in p["open_date"]], 11: [_ymd(d) for d in p["close_date"]],
            12: np.where(closed, "C", "A"), 13: "B", 14: p["commissioner"], 15: "20200401",
            16: [_ymd(d) for d in p["close_date"]], 17: "01632 960000", 18: "", 19: "", 20: "",
            21: "0", 22: "", 23: p["commissioner"], 24: "", 25: "4", 26: "",
        }
    )
    return _csv(rows, out / "epraccur.csv", header=False, quote_all=True)


def write_epcn(world: World, out: Path) -> Path:
    """ODS ePCN workbook: PCN details and core partners with relationship start and end dates."""
    from openpyxl import Workbook

    g = world.groups[world.groups["kind"] == "pcn"]
    m = world.membership[world.membership["group_id"].isin(g["group_id"])]
    prac = world.practices.set_index("practice_code")
    wb = Workbook()
    ws = wb.active
    ws.title = "PCNDetails"
    ws.append(["PCN Code", "PCN Name", "Current Clinical \nCommissioning \nGroup Code",
               "Clinical\nCommissioning\nGroup Name", "Open Date", "Close Date", "Address Line 1",
               "Address Line 2", "Address Line 3", "Address Line 4", "Address Line 5", "Postcode"])
    for r in g.itertuples():
        ccg = str(r.name).split(" ")[0]
        ws.append([r.group_id, str(r.name).upper(), ccg, f"NHS {ccg} CCG", "20190701", "",
                   "THE HEALTH CENTRE", "", "", "", "", ""])
    ws2 = wb.create_sheet("PCN Core Partner Details")
    ws2.append(["Partner\nOrganisation\nCode", "Partner\nName", "Practice\nParent\nCCG Code",
                "Practice\nParent\nCCG Name", "PCN Code", "PCN Name", "PCN Parent\nCCG Code",
                "PCN Parent\nCCG Name", "Practice to PCN\nRelationship\nStart Date",
                "Practice to PCN\nRelationship\nEnd Date", "Practice CCG and PCN\nCCG Match "])
    names = g.set_index("group_id")["name"]
    for s in m.sort_values(["group_id", "practice_code", "start_date"]).itertuples():
        ccg = prac.at[s.practice_code, "commissioner"]
        pcn_ccg = str(names[s.group_id]).split(" ")[0]
        ws2.append([s.practice_code, prac.at[s.practice_code, "name"], ccg, f"NHS {ccg} CCG", s.group_id,
                    str(names[s.group_id]).upper(), pcn_ccg, f"NHS {pcn_ccg} CCG", _ymd(s.start_date),
                    _ymd(s.end_date), ccg == pcn_ccg])
    path = out / "ePCN.xlsx"
    buf = io.BytesIO()
    wb.save(buf)
    _write_deterministic_zip(buf.getvalue(), path)
    return path


def _write_deterministic_zip(data: bytes, path: Path) -> None:
    """Rewrite an xlsx with fixed timestamps so equal content gives equal bytes."""
    import re

    src = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", b"2024-04-01T00:00:00Z", content)
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 4, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, content)


# ---------------------------------------------------------------- QOF


def _qof_header(fy: int, m: int) -> list[str]:
    if fy <= 2017:
        return ["Region code", "Region geography code", "Region name", "Sub-region code",
                "Sub-region geography code", "Sub-region name", "STP code", "STP name", "CCG code",
                "CCG geography code", "CCG name", "Practice code", "Practice name", "All ages",
                f"Achievement score (max. {m})", f"QOF points total/{m} available (per cent)",
                "Max. QOF points available (total points for indicators where register exists)",
                "Points achieved/max. QOF points available (per cent)"]
    if fy == 2018:
        return ["Region code", "Region ONS code", "Region name", "Regional local office code",
                "Regional local office ONS code", "Regional local office name", "STP ONS code", "STP name",
                "CCG code", "CCG ONS code", "CCG name", "Practice code", "Practice name", "List size",
                f"Achievement score ({m} max)", f"QOF points total/{m} available (%)",
                "Total points for indicators where register exists.(Max QOF points available)",
                "Points achieved/ max.QOF points available (%)"]
    lead = (["CCG ODS code (practice parent)", "CCG ONS code (practice parent)", "CCG name (practice parent)"]
            if fy <= 2020 else ["Sub ICB Loc ODS code", "Sub ICB Loc ONS code", "Sub ICB Loc name"])
    pct = f"QOF points total/{m} available (%)" if fy <= 2020 else f"QOF points total / {m} available (%)"
    return [*lead, "PCN ODS code", "PCN name", "Practice code", "Practice name", "List size",
            f"Achievement score ({m} max)", pct,
            "Total points for indicators where register exists. (Max QOF points available)",
            "Points achieved/ max. QOF points available (%)"]


def pcn_at(world: World, d: date) -> pd.Series:
    """PCN code of each practice on date ``d`` (empty where none)."""
    m = world.membership
    pcn_ids = set(world.groups.loc[world.groups["kind"] == "pcn", "group_id"])
    live = m[m["group_id"].isin(pcn_ids) & (m["start_date"] <= d)
             & m["end_date"].map(lambda e: e is None or pd.isna(e) or e >= d)]
    return live.drop_duplicates("practice_code").set_index("practice_code")["group_id"]


def write_qof(world: World, out: Path) -> list[Path]:
    """QOF overall achievement tables (header wording of each year) and domain achievement tables."""
    paths = []
    pcn_names = world.groups.set_index("group_id")["name"].str.upper().to_dict()
    p = world.practices
    for t, fy in enumerate(FYS):
        year_end = date(fy + 1, 3, 31)
        idx = np.flatnonzero(_open_at(world, year_end))
        m = qof_max_points(fy)
        eta = world.latent["qof"][idx, t]
        dom_rows = []
        total = np.zeros(len(idx))
        for k, (dom, dmax) in enumerate(qof_domain_max(fy).items()):
            noise = world.rng.normal(0, 0.25, len(idx))
            pts = np.round(dmax * expit(eta + 0.3 * (k > 0) + noise), 2)
            total += pts
            dom_rows.append(pd.DataFrame({"Practice code": p["practice_code"].to_numpy()[idx], "Domain": dom,
                                          "Points achieved": pts, "Maximum points": dmax}))
        total = np.round(total, 2)
        pct = np.round(100 * total / m, 2)
        pcn = pcn_at(world, year_end)
        codes = p["practice_code"].to_numpy()[idx]
        base = {
            "ccg": p["commissioner"].to_numpy()[idx],
            "name": p["name"].to_numpy()[idx],
            "list": world.list_size[idx, t],
        }
        header = _qof_header(fy, m)
        if fy <= 2018:
            cols = [p["region"].to_numpy()[idx], "E40000000", p["region_name"].to_numpy()[idx],
                    p["icb"].to_numpy()[idx], "E39000000", "SUB-REGION", "E54000000", "STP",
                    base["ccg"], "E38000000", [f"NHS {c} CCG" for c in base["ccg"]], codes, base["name"],
                    base["list"], total, pct, m, pct]
        else:
            cols = [base["ccg"], "E38000000", [f"NHS {c} CCG" for c in base["ccg"]],
                    [pcn.get(c, "") for c in codes], [pcn_names.get(pcn.get(c, ""), "") for c in codes],
                    codes, base["name"], base["list"], total, pct, m, pct]
        df = pd.DataFrame(dict(zip(header, cols, strict=True)))
        label = f"{fy}-{(fy + 1) % 100:02d}"
        paths.append(_csv(df, out / f"QOF_{label}.csv"))
        paths.append(_csv(pd.concat(dom_rows, ignore_index=True), out / f"QOF_DOMAINS_{label}.csv"))
    return paths


PREVALENCE_GROUPS = {"AF": 0.02, "AST": 0.06, "CHD": 0.03, "DM": 0.07, "HYP": 0.14, "DEP": 0.11}


def write_prevalence(world: World, out: Path) -> list[Path]:
    """QOF raw PREVALENCE files from 2016/17 (column names drift as in the real files)."""
    paths = []
    codes = world.practices["practice_code"].to_numpy()
    for t, fy in enumerate(FYS):
        if fy < 2016:
            continue
        idx = np.flatnonzero(_open_at(world, date(fy + 1, 3, 31)))
        frames = []
        for grp, prev in PREVALENCE_GROUPS.items():
            lst = world.list_size[idx, t]
            reg = world.rng.binomial(lst, prev * np.exp(world.rng.normal(0, 0.2, len(idx))).clip(0, 3))
            frames.append(pd.DataFrame({"PRACTICE_CODE": codes[idx], "G": grp, "REGISTER": reg,
                                        "PATIENT_LIST_TYPE": "TOTAL", "L": lst}))
        df = pd.concat(frames).sort_values(["PRACTICE_CODE", "G"], kind="stable")
        gcol = "INDICATOR_GROUP_CODE" if fy <= 2018 else "GROUP_CODE"
        lcol = "PATIENT_LIST_SIZE" if fy <= 2019 else "PRACTICE_LIST_SIZE"
        df = df.rename(columns={"G": gcol, "L": lcol})
        paths.append(_csv(df, out / f"PREVALENCE_{fy % 100:02d}{(fy + 1) % 100:02d}.csv"))
    return paths


# ---------------------------------------------------------------- GP Patient Survey

#: Synthetic GPPS question numbers, their latent measure and the last financial year asked.
GPPS_QUESTIONS = {
    "Q3": ("gpps_phone_easy", 9999),
    "Q9": ("gpps_continuity", 9999),
    "Q28": ("gpps_overall_good", 9999),
    "Q60": ("gpps_recommend", 2016),
    "Q74": ("gpps_opening_hours", 2017),
}


#: The code published for a suppressed cell (any negative value means suppressed in the real files).
GPPS_SUPPRESSED = -97
#: Title lines before the header in the 2010 and 2011 files.
GPPS_PREAMBLE = (
    "GP Patient Survey",
    "Practice level results (weighted)",
    "Ipsos MORI on behalf of the Department of Health",
    "Results are weighted to the practice population",
    "Proportions are shown from 0 to 1",
    "-97 = suppressed (fewer than the minimum number of responses)",
    "",
)


def gpps_file_name(survey_year: int) -> str:
    """The published file name of a survey year's weighted practice results (``../shared/data/README.md``)."""
    if survey_year <= 2011:
        return f"{survey_year}_overall_csv.csv"
    if survey_year <= 2013:
        return f"June {survey_year} Practice level data weighted.csv"
    if survey_year <= 2015:
        return f"July {survey_year} Practice level data weighted.csv"
    if survey_year == 2016:
        return "July 2016 Practice level data weighted CSV.csv"
    if survey_year == 2017:
        return "GPPS 2017 Practice data (weighted) (csv) PUBLIC.csv"
    return f"GPPS_{survey_year}_Practice_data_(weighted)_(csv)_PUBLIC.csv"


def write_gpps(world: World, out: Path) -> list[Path]:
    """GP Patient Survey practice results, one file per survey year (fieldwork Jan-Mar, ending the FY).

    The real numbered layout of each year: shares as proportions 0-1, ``-97`` for a suppressed cell, the
    practice column spelt ``Practice_code`` in 2014-2017, ICS columns instead of CCG ones from 2022, and
    title lines before the header in 2010-2011. (Survey 2024 is written in the numbered layout too: the
    synthetic indicators read its question numbers; the 2024 stem layout is loaded from real files.)
    """
    paths = []
    p = world.practices
    rng = world.rng
    for t, fy in enumerate(FYS):
        year = fy + 1
        idx = np.flatnonzero(_open_at(world, date(year, 1, 1)))
        lst = world.list_size[idx, t]
        distributed = np.minimum(np.round(lst * 0.045), 650).astype(int)
        received = rng.binomial(distributed, expit(rng.normal(-0.6, 0.3, len(idx))))
        area = "ICS" if year >= 2022 else "CCG"
        df = pd.DataFrame({
            "Practice_code" if 2014 <= year <= 2017 else "Practice_Code": p["practice_code"].to_numpy()[idx],
            "Practice_Name": p["name"].to_numpy()[idx],
            f"{area}_Code": p["commissioner"].to_numpy()[idx],
            f"{area}_Name": [f"NHS {c} {area}" for c in p["commissioner"].to_numpy()[idx]],
            "distributed": distributed,
            "received": received,
            "resprate": np.round(np.where(distributed > 0, received / np.maximum(distributed, 1), 0), 4),
        })
        for q, (latent, last) in GPPS_QUESTIONS.items():
            if fy > last:
                continue
            base = rng.binomial(received, 0.95)
            pos = rng.binomial(base, expit(world.latent[latent][idx, t]))
            share = np.where(base > 0, pos / np.maximum(base, 1), np.nan)
            # weighting moves the published share a little away from the raw share
            w = np.clip(share + rng.normal(0, 0.012, len(idx)), 0, 1)
            split = rng.uniform(0.35, 0.6, len(idx))
            df[f"{q}base"] = base
            for answer, value in (("1", w * split), ("2", w * (1 - split)), ("12", w)):
                df[f"{q}_{answer}pct"] = np.where(np.isnan(value), GPPS_SUPPRESSED, np.round(value, 3))
        path = _csv(df, out / gpps_file_name(year))
        if year <= 2011:
            body = path.read_text(encoding="utf-8")
            path.write_text("\n".join(GPPS_PREAMBLE) + "\n" + body, encoding="utf-8")
        paths.append(path)
    return paths


# ---------------------------------------------------------------- registrations


def registrations_by_band(world: World, t: int, idx: np.ndarray) -> np.ndarray:
    """Quinary age-sex counts [practice, sex, band] for financial-year index ``t`` (a fixed draw per t)."""
    rng = np.random.default_rng([world.seed, 7, t])
    n = world.list_size[idx, t]
    prof = world.age_profile[idx].reshape(len(idx), -1)
    counts = rng.multinomial(n, prof)
    return counts.reshape(len(idx), 2, len(QUIN_BANDS))


def write_registrations(world: World, out: Path) -> list[Path]:
    """gp-reg-pat-prac-quin-age snapshots on 1 April of each financial year, gzip-compressed."""
    paths = []
    p = world.practices
    for t, fy in enumerate(FYS):
        snap = date(fy, 4, 1)
        idx = np.flatnonzero(_open_at(world, snap) & (world.list_size[:, t] > 0))
        counts = registrations_by_band(world, t, idx)
        codes = p["practice_code"].to_numpy()[idx]
        post = p["postcode"].to_numpy()[idx]
        frames = [pd.DataFrame({"o": np.arange(len(idx)), "k": 0, "SEX": "ALL", "AGE_GROUP_5": "ALL",
                                "NUMBER_OF_PATIENTS": counts.sum(axis=(1, 2))})]
        for s, sex in ((1, "FEMALE"), (0, "MALE")):
            for b, band in enumerate(QUIN_BANDS):
                frames.append(pd.DataFrame({"o": np.arange(len(idx)), "k": 1 + s * 0 + (2 - s) * 100 + b,
                                            "SEX": sex, "AGE_GROUP_5": band, "NUMBER_OF_PATIENTS": counts[:, s, b]}))
            frames.append(pd.DataFrame({"o": np.arange(len(idx)), "k": (2 - s) * 100 + 99, "SEX": sex,
                                        "AGE_GROUP_5": "ALL", "NUMBER_OF_PATIENTS": counts[:, s].sum(axis=1)}))
        df = pd.concat(frames).sort_values(["o", "k"], kind="stable")
        df.insert(0, "POSTCODE", post[df["o"].to_numpy()])
        df.insert(0, "ONS_CODE", "")
        df.insert(0, "ORG_CODE", codes[df["o"].to_numpy()])
        df.insert(0, "ORG_TYPE", "GP")
        df.insert(0, "EXTRACT_DATE", snap.strftime("%d%b%Y").upper())
        df.insert(0, "PUBLICATION", "GP_PRAC_PAT_LIST")
        df = df.drop(columns=["o", "k"])
        paths.append(_csv(df, out / f"gp-reg-pat-prac-quin-age_{fy}04.csv.gz"))
    return paths


# ---------------------------------------------------------------- hospital activity

HOSPITAL_BANDS = ("0_4", "5_14", "15_24", "25_44", "45_64", "65_74", "75_84", "85+")
#: Which quinary bands make up each hospital band.
_HOSP_FROM_QUIN = ((0,), (1, 2), (3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14), (15, 16), (17, 18, 19))
HOSPITAL_RATES = {  # events per person-year by band, England, first year
    "EMERGENCY_ADMISSIONS": ("hosp_emergency_admissions", (0.08, 0.03, 0.05, 0.05, 0.07, 0.12, 0.22, 0.40)),
    "ACSC_CHRONIC_ADMISSIONS": ("hosp_acsc_chronic", (0.002, 0.002, 0.002, 0.003, 0.008, 0.02, 0.04, 0.06)),
    "AE_ATTENDANCES": ("hosp_ae_attendances", (0.35, 0.20, 0.30, 0.25, 0.22, 0.25, 0.35, 0.55)),
    "OUTPATIENT_FIRST_GP_REFERRED": ("hosp_outpatient_first", (0.05, 0.06, 0.10, 0.15, 0.25, 0.40, 0.50, 0.45)),
}


def write_hospital(world: World, out: Path) -> list[Path]:
    """Practice-level hospital activity (gpscale layout), one file per financial year, gzip-compressed."""
    paths = []
    codes = world.practices["practice_code"].to_numpy()
    for t, fy in enumerate(FYS):
        idx = np.flatnonzero(_open_at(world, date(fy, 4, 1)) & (world.list_size[:, t] > 0))
        quin = registrations_by_band(world, t, idx)
        pop = np.stack([quin[:, :, list(q)].sum(axis=2) for q in _HOSP_FROM_QUIN], axis=2)  # [p, sex, band]
        frames = []
        for measure, (latent, rates) in HOSPITAL_RATES.items():
            mult = np.exp(world.latent[latent][idx, t])
            for s, sex in ((0, "MALE"), (1, "FEMALE")):
                lam = pop[:, s, :] * np.array(rates)[None, :] * (0.95 if s == 0 else 1.05) * mult[:, None]
                ev = world.rng.poisson(lam)
                for b, band in enumerate(HOSPITAL_BANDS):
                    frames.append(pd.DataFrame({"o": np.arange(len(idx)), "PRACTICE_CODE": codes[idx],
                                                "FINANCIAL_YEAR": f"{fy}-{(fy + 1) % 100:02d}", "MEASURE": measure,
                                                "SEX": sex, "AGE_BAND": band, "EVENTS": ev[:, b],
                                                "POPULATION": pop[:, s, b]}))
        df = pd.concat(frames).sort_values(["o"], kind="stable").drop(columns="o")
        paths.append(_csv(df, out / f"hospital_activity_{fy}-{(fy + 1) % 100:02d}.csv.gz"))
    return paths


# ---------------------------------------------------------------- payments

_PAYMENT_HEADER = [
    "NHS England (Region) code", "NHS England (Region) Name", "CCG Code", "CCG NAME", "PCN Code", "PCN Name",
    "Practice Code", "Practice Name", "Practice Address", "Practice Postcode", "Practice Open Date",
    "Practice Close Date", "Contract Type", "Dispensing Practice", "Practice type", "Practice Rurality",
    "Atypical characteristics", "Number of Registered Patients (Last Known Figure)",
    "Number of Weighted Patients (Last Known Figure)", "Average payments per registered patient",
    "Average payments per weighted patient", "Global Sum", "MPIG Correction factor",
    "Balance of PMS Expenditure", "Total QOF Payments", "Total NHS Payments to General Practice",
]


def write_payments(world: World, out: Path) -> list[Path]:
    """NHS Payments to General Practice (2019/20 onward layout) from 2019/20."""
    paths = []
    pcn_names = world.groups.set_index("group_id")["name"].str.upper().to_dict()
    p = world.practices
    rng = world.rng
    for t, fy in enumerate(FYS):
        if fy < 2019:
            continue
        idx = np.flatnonzero(_open_at(world, date(fy, 4, 1)))
        lst = world.list_size[idx, t].astype(float)
        weighted = np.round(lst * rng.normal(1.0, 0.08, len(idx)), 2)
        global_sum = np.round(weighted * 92.0, 2)
        qof = np.round(lst * rng.normal(24, 3, len(idx)), 2)
        total = np.round(global_sum + qof + lst * rng.normal(40, 8, len(idx)), 2)
        pcn = pcn_at(world, date(fy + 1, 3, 31))
        codes = p["practice_code"].to_numpy()[idx]
        contract = p["contract_type"].to_numpy()[idx]
        cols = [
            p["region"].to_numpy()[idx], p["region_name"].to_numpy()[idx], p["commissioner"].to_numpy()[idx],
            [f"NHS {c} CCG" for c in p["commissioner"].to_numpy()[idx]], [pcn.get(c, "") for c in codes],
            [pcn_names.get(pcn.get(c, ""), "") for c in codes], codes, p["name"].to_numpy()[idx],
            "THE SURGERY HIGH STREET", p["postcode"].to_numpy()[idx],
            [d.strftime("%d/%m/%Y") for d in p["open_date"].to_numpy()[idx]],
            [d.strftime("%d/%m/%Y") if d is not None else "" for d in p["close_date"].to_numpy()[idx]],
            contract, np.where(p["dispensing"].to_numpy()[idx], "Yes", "No"), "GP practice",
            p["rurality"].to_numpy()[idx], "", lst, weighted, np.round(total / np.maximum(lst, 1), 2),
            np.round(total / np.maximum(weighted, 1), 2), global_sum, 0,
            np.where(contract == "PMS", np.round(lst * 8, 2), 0), qof, total,
        ]
        df = pd.DataFrame(dict(zip(_PAYMENT_HEADER, cols, strict=True)))
        paths.append(_csv(df, out / f"nhspaymentsgp-{fy % 100:02d}-{(fy + 1) % 100:02d}-prac-csv.csv"))
    return paths


# ---------------------------------------------------------------- prescribing

#: BNF presentations written: code, description, group, share within group, tablets per item, ADQ per tablet.
RX_LINES = (
    ("0501013B0AAABAB", "Amoxicillin_Cap 500mg", "ab_narrow", 0.55, 21, 0.5),
    ("0501030I0AAABAB", "Doxycycline Hyclate_Cap 100mg", "ab_narrow", 0.25, 8, 1.0),
    ("0501012G0AAABAB", "Flucloxacillin Sod_Cap 500mg", "ab_narrow", 0.20, 28, 0.5),
    ("0501013K0AAAJAJ", "Co-Amoxiclav_Tab 500mg/125mg", "ab_broad", 0.60, 21, 0.67),
    ("0501021K0AAAAAA", "Cefalexin_Cap 500mg", "ab_broad", 0.30, 21, 0.5),
    ("0501120L0AAAAAA", "Ciprofloxacin_Tab 500mg", "ab_broad", 0.10, 10, 1.0),
    ("0401010Z0AAAAAA", "Zopiclone_Tab 7.5mg", "hypnotic", 0.65, 28, 1.0),
    ("0401010T0AAADAD", "Temazepam_Tab 10mg", "hypnotic", 0.35, 28, 0.5),
    ("1001010J0AAADAD", "Ibuprofen_Tab 400mg", "nsaid_first", 0.6, 84, 0.33),
    ("1001010P0AAAAAA", "Naproxen_Tab 500mg", "nsaid_first", 0.4, 56, 1.0),
    ("1001010C0AAADAD", "Diclofenac Sod_Tab E/C 50mg", "nsaid_other", 1.0, 84, 0.33),
)
#: Approximate antibacterial item-based STAR-PU by sex and quinary band (synthetic generation only).
_AB_STARPU = np.repeat([0.8, 0.3, 0.3, 0.2, 0.3, 0.3, 0.4, 0.7, 1.0], [1, 2, 2, 2, 2, 2, 2, 2, 5])
_AB_STARPU_F = np.repeat([0.8, 0.4, 0.6, 0.6, 0.6, 0.6, 0.7, 1.0, 1.3], [1, 2, 2, 2, 2, 2, 2, 2, 5])

_EPD_COLUMNS = ["YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "AREA_TEAM_NAME", "AREA_TEAM_CODE",
                "PCO_NAME", "PCO_CODE", "PRACTICE_NAME", "PRACTICE_CODE", "ADDRESS_1", "ADDRESS_2", "ADDRESS_3",
                "ADDRESS_4", "POSTCODE", "BNF_CHEMICAL_SUBSTANCE", "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CODE",
                "BNF_DESCRIPTION", "BNF_CHAPTER_PLUS_CODE", "QUANTITY", "ITEMS", "TOTAL_QUANTITY", "ADQUSAGE",
                "NIC", "ACTUAL_COST", "UNIDENTIFIED"]


def write_prescribing(world: World, out: Path) -> list[Path]:
    """English Prescribing Dataset months April 2009 to March 2024 (indicator BNF lines only), gzip-compressed."""
    paths = []
    p = world.practices
    codes = p["practice_code"].to_numpy()
    for t, fy in enumerate(FYS):
        idx_year = np.flatnonzero(world.list_size[:, t] > 0)
        quin = registrations_by_band(world, t, idx_year)
        starpu = (quin[:, 0, :] * _AB_STARPU).sum(1) + (quin[:, 1, :] * _AB_STARPU_F).sum(1)
        lst = world.list_size[idx_year, t].astype(float)
        for k, month in enumerate((*range(4, 13), 1, 2, 3)):
            year = fy + (month < 4)
            first = date(year, month, 1)
            live = open_mask(p.iloc[idx_year], first, first)
            sel = idx_year[live]
            season = 1 + 0.25 * np.cos(2 * np.pi * (month - 1) / 12)
            rng = np.random.default_rng([world.seed, 11, t, k])
            ab = rng.poisson(starpu[live] * np.exp(world.latent["rx_antibacterial_items"][sel, t]) * season / 12)
            broad = rng.binomial(ab, expit(world.latent["rx_broad_spectrum"][sel, t]))
            hyp = rng.poisson(lst[live] * 0.55 * np.exp(world.latent["rx_hypnotics_adq"][sel, t]) / 12 / 28 * 12)
            nsaid = rng.poisson(lst[live] * 0.012 * np.exp(rng.normal(0, 0.1, len(sel))))
            other = rng.binomial(nsaid, expit(world.latent["rx_nsaid_not_first_line"][sel, t]))
            totals = {"ab_narrow": ab - broad, "ab_broad": broad, "hypnotic": hyp,
                      "nsaid_first": nsaid - other, "nsaid_other": other}
            parts = []
            for grp, total in totals.items():
                lines = [(i, x) for i, x in enumerate(RX_LINES) if x[2] == grp]
                split = rng.multinomial(total, [x[3] for _, x in lines])
                for j, (line_no, (bnf, desc, _g, _share, tabs, adq)) in enumerate(lines):
                    parts.append((line_no, bnf, split[:, j], desc, tabs, adq))
            frames = []
            for line_no, bnf, items, desc, tabs, adq in parts:
                keep = items > 0
                qty = items[keep] * tabs
                frames.append(pa.table({
                    "o": pa.array(np.flatnonzero(keep) * 100 + line_no),
                    "PRACTICE_CODE": pa.array(codes[sel][keep]),
                    "PCO_CODE": pa.array(p["commissioner"].to_numpy()[sel][keep] + "00"),
                    "BNF_CODE": pa.array(np.full(keep.sum(), bnf)),
                    "BNF_DESCRIPTION": pa.array(np.full(keep.sum(), desc)),
                    "ITEMS": pa.array(items[keep]),
                    "QUANTITY": pa.array((qty / np.maximum(items[keep], 1)).astype(float)),
                    "TOTAL_QUANTITY": pa.array(qty.astype(float)),
                    "ADQUSAGE": pa.array(np.round(qty * adq, 3)),
                    "NIC": pa.array(np.round(qty * 0.05, 2)),
                    "ACTUAL_COST": pa.array(np.round(qty * 0.0465, 5)),
                }))
            tbl = pa.concat_tables(frames).sort_by("o")
            n = tbl.num_rows
            empty = pa.array([""] * n)
            region = p.set_index("practice_code").loc[tbl["PRACTICE_CODE"].to_numpy(zero_copy_only=False), "region"]
            cols = {
                "YEAR_MONTH": pa.array(np.full(n, f"{year}{month:02d}")),
                "REGIONAL_OFFICE_NAME": empty, "REGIONAL_OFFICE_CODE": pa.array(region.to_numpy()),
                "AREA_TEAM_NAME": empty, "AREA_TEAM_CODE": empty, "PCO_NAME": empty, "PCO_CODE": tbl["PCO_CODE"],
                "PRACTICE_NAME": empty, "PRACTICE_CODE": tbl["PRACTICE_CODE"], "ADDRESS_1": empty,
                "ADDRESS_2": empty, "ADDRESS_3": empty, "ADDRESS_4": empty, "POSTCODE": empty,
                "BNF_CHEMICAL_SUBSTANCE": empty, "CHEMICAL_SUBSTANCE_BNF_DESCR": empty, "BNF_CODE": tbl["BNF_CODE"],
                "BNF_DESCRIPTION": tbl["BNF_DESCRIPTION"], "BNF_CHAPTER_PLUS_CODE": empty,
                "QUANTITY": tbl["QUANTITY"], "ITEMS": tbl["ITEMS"], "TOTAL_QUANTITY": tbl["TOTAL_QUANTITY"],
                "ADQUSAGE": tbl["ADQUSAGE"], "NIC": tbl["NIC"], "ACTUAL_COST": tbl["ACTUAL_COST"],
                "UNIDENTIFIED": pa.array(np.full(n, "N")),
            }
            text = pa.BufferOutputStream()
            pacsv.write_csv(pa.table([cols[c] for c in _EPD_COLUMNS], names=_EPD_COLUMNS), text,
                            pacsv.WriteOptions(quoting_style="none"))
            paths.append(_gzip(text.getvalue().to_pybytes(), out / f"EPD_{year}{month:02d}.csv.gz"))
    return paths

