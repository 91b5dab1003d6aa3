"""A tiny, deterministic results folder and store for the report and dashboard tests (built in about a second).

Forty practices in four PCNs and one federation (which overlaps them), a one-practice group, a practice
that leaves its PCN, three real indicators (a monthly proportion, a QOF score, a GP Patient Survey
weighted proportion), five financial years and 36 months. Some practice numerators are
deliberately below the disclosure threshold. The results are computed by the real evaluation engine
(:func:`gpscale.evaluate.run.evaluate_frames`) and written as a disclosed bundle, so the pages show what
``gpscale evaluate`` writes.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
from gpscale.evaluate.run import evaluate_frames
from gpscale.indicators.library import load_definitions

INDICATORS = ("rx_broad_spectrum", "qof_total", "gpps_overall_good")
YEARS = ("FY2019/20", "FY2020/21", "FY2021/22", "FY2022/23", "FY2023/24")
MONTHS = tuple(f"{y}-{m:02d}" for y in (2021, 2022, 2023, 2024) for m in range(1, 13)
               if (y, m) >= (2021, 4) and (y, m) <= (2024, 3))
PCNS = ("U00001", "U00002", "U00003", "U00004")
FEDERATION = "FED-TEST"
SOLO = "SOLO-1"
LEAVER = "P00003"
SMALL = "P00040"  # its broad-spectrum numerators are tiny: every month and year is suppressed


@dataclass(frozen=True)
class World:
    root: Path
    results: Path
    practices: tuple[str, ...]


def _practices() -> pd.DataFrame:
    codes = [f"P{i:05d}" for i in range(1, 41)]
    names = [f"{w} SURGERY" for w in ("OAK", "ASH", "ELM", "YEW", "FIR", "BAY", "IVY", "LIME")] * 5
    return pd.DataFrame({
        "practice_code": codes,
        "name": [f"{n} {i // 8 + 1}" for i, n in enumerate(names)],
        "postcode": [f"ZZ{i % 9} {i % 7}AB" for i in range(40)],
        "status": "active",
        "commissioner": ["00A" if i < 20 else "00B" for i in range(40)],
        "icb": ["QAA" if i < 20 else "QBB" for i in range(40)],
        "region": "Y56",
        "contract_type": ["GMS" if i % 3 else "PMS" for i in range(40)],
        "rurality": ["Urban" if i % 4 else "Rural" for i in range(40)],
    })


def _spells() -> pd.DataFrame:
    rows = []
    for i in range(40):
        code = f"P{i + 1:05d}"
        pcn = PCNS[i // 10]
        end = pd.Timestamp("2021-06-30") if code == LEAVER else pd.NaT
        rows.append((pcn, code, pd.Timestamp("2019-07-01"), end))
    for i in (1, 2, 11, 12, 21, 22):
        rows.append((FEDERATION, f"P{i:05d}", pd.Timestamp("2015-04-01"), pd.NaT))
    rows.append((SOLO, "P00031", pd.Timestamp("2015-04-01"), pd.NaT))
    return pd.DataFrame(rows, columns=["group_id", "practice_code", "start_date", "end_date"])


def _values(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for i in range(40):
        code = f"P{i + 1:05d}"
        size = 3000 + 400 * i
        skew = 0.015 * (i % 5 - 2) + (0.2 if i == 1 else 0.0)  # P00002 (a federation member) is far out
        for m in MONTHS:
            den = float(rng.poisson(size / 60))
            num = float(rng.binomial(int(den), 0.07 + skew / 2)) if code != SMALL else float(rng.integers(1, 3))
            if code == SMALL:
                den = float(rng.integers(20, 40))
            rows.append(("rx_broad_spectrum", code, m, "month", num, den, np.nan))
        for y in YEARS:
            months = [r for r in rows if r[0] == "rx_broad_spectrum" and r[1] == code and r[3] == "month"
                      and _fy(r[2]) == y]
            if months:
                rows.append(("rx_broad_spectrum", code, y, "fy", sum(r[4] for r in months),
                             sum(r[5] for r in months), np.nan))
            mx = 559.0
            rows.append(("qof_total", code, y, "fy", round(mx * float(np.clip(0.95 + skew + rng.normal(0, 0.01), 0, 1)),
                                                               2), mx, np.nan))
            n_resp = float(rng.integers(90, 140))
            share = float(np.clip(0.8 - skew * 2 + rng.normal(0, 0.03), 0, 1))
            rows.append(("gpps_overall_good", code, y, "fy", round(share * n_resp * 1.1, 3), round(n_resp * 1.1, 3),
                         n_resp * 0.9))
    pv = pd.DataFrame(rows, columns=["indicator_id", "practice_code", "period", "period_type", "numerator",
                                     "denominator", "effective_n"])
    mult = {"rx_broad_spectrum": 100.0, "qof_total": 100.0, "gpps_overall_good": 100.0}
    with np.errstate(divide="ignore", invalid="ignore"):
        pv["value"] = pv["numerator"] / pv["denominator"] * pv["indicator_id"].map(mult)
    pv["definition_version"] = 1
    return pv


def _fy(month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    s = y if m >= 4 else y - 1
    return f"FY{s}/{(s + 1) % 100:02d}"


def _groups() -> pd.DataFrame:
    return pd.DataFrame({
        "group_id": [*PCNS, FEDERATION, SOLO],
        "name": [f"Test PCN {i + 1}" for i in range(4)] + ["Test Federation", "Solo Group"],
        "kind": ["pcn"] * 4 + ["federation", "custom"],
    })


def evaluation(analyses: tuple[str, ...] = ("scorecard", "trends", "variation", "characteristics", "size"),
               spells: pd.DataFrame | None = None, groups: pd.DataFrame | None = None,
               practices: pd.DataFrame | None = None, tweak: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
               comparator: str = "england") -> Any:
    """The world evaluated by the real engine (raw frames); ``spells``/``groups``/``practices`` replace the
    world's, ``tweak`` edits its practice values first and ``comparator`` is ``--comparator``."""
    rng = np.random.default_rng(7)
    practices = _practices() if practices is None else practices
    pv = _values(rng) if tweak is None else tweak(_values(rng))
    defs = {k: v for k, v in load_definitions().items() if k in INDICATORS}
    context = pd.concat([
        practices.assign(period=y, patients=3000 + 400 * np.arange(len(practices)), dispensing=False, imd_score=20.0)
        for y in YEARS
    ])[["practice_code", "period", "patients", "commissioner", "icb", "region", "postcode", "contract_type",
        "rurality", "dispensing", "imd_score"]]
    return evaluate_frames(pv, _spells() if spells is None else spells, defs, data_version="testdata0001",
                           context=context, groups=_groups() if groups is None else groups, n_boot=49,
                           analyses=analyses, practices=practices, comparator=comparator)


def build(root: Path, engine_tables: bool = True) -> World:
    """Write the world's results bundle into ``root``; ``engine_tables=False`` runs only the scorecard."""
    ev = evaluation() if engine_tables else evaluation(("scorecard",))
    results = root / "results"
    write_bundle(make_bundle(ev), results, meta=bundle_meta(ev), csv=False)
    return World(root, results, tuple(_practices()["practice_code"]))


@functools.cache
def world() -> World:
    """The tiny world with every evaluation table, built once per test process (read-only for tests)."""
    return build(Path(tempfile.mkdtemp(prefix="gpscale-web-")))


@functools.cache
def bare_world() -> World:
    """The same world evaluated with the scorecard only (a partial evaluation: other tables "not computed")."""
    return build(Path(tempfile.mkdtemp(prefix="gpscale-web-bare-")), engine_tables=False)
