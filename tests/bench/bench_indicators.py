"""Indicator benchmarks (``python -m tests.bench.run indicators``).

``bench_indicators_england``
    all 16 indicators, every period, on an England-sized synthetic store (6,500 practices, 180 months
    of prescribing for the indicators' BNF chemicals, 15 financial years of QOF, survey and hospital
    data), generated directly in DuckDB by :func:`tests.fixtures.indicator_store.synthetic_store`.
``bench_indicators_prescribing_throughput`` (and ``..._180_months``)
    one prescribing measure (``rx_broad_spectrum``: monthly grid with zero-fill plus the financial-year
    roll-up) through gpscale's ibis path, through hand-written DuckDB SQL producing the same rows, and
    through a straightforward pandas implementation on frames already in memory; throughput is
    prescribing rows per second, and the three results are checked equal. Targets: ibis within 2× of
    plain SQL, and ≥ 5× faster than pandas.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gpscale.indicators.compute import compute_indicators
from gpscale.indicators.library import load_definitions
from gpscale.indicators.model import PrescribingSpec
from gpscale.periods import months_of_fy, parse_period
from gpscale.store.db import open_store
from tests.bench.harness import peak_rss_mib, record, timeit
from tests.fixtures.indicator_store import synthetic_store

ENGLAND_PRACTICES = 6500
FIRST_FY, N_FYS = 2009, 15  # FY2009/10 .. FY2023/24: 180 months


def bench_indicators_england() -> None:
    with tempfile.TemporaryDirectory(prefix="gpscale-bench-") as tmp:
        path = Path(tmp) / "england.duckdb"
        t0 = time.perf_counter()
        with open_store(path) as store:
            counts = synthetic_store(store, ENGLAND_PRACTICES, FIRST_FY, N_FYS)
            store.con.execute("CHECKPOINT")
        generate_s = time.perf_counter() - t0
        with open_store(path) as store:
            per_indicator = {}
            for d in load_definitions():  # each alone once, to see where the time goes
                t = time.perf_counter()
                compute_indicators(store, [d])
                per_indicator[d] = round(time.perf_counter() - t, 3)
            out: list[pd.DataFrame] = []
            timing = timeit(lambda: out.append(compute_indicators(store)), repeat=2)
        df = out[-1]
        metrics = {
            "practices": ENGLAND_PRACTICES,
            "months": 12 * N_FYS,
            "financial_years": N_FYS,
            "store_rows": counts,
            "generate_s": round(generate_s, 1),
            "all_16_min_s": round(timing["min_s"], 2),
            "all_16_median_s": round(timing["median_s"], 2),
            "result_rows": len(df),
            "result_rows_with_value": int(df.value.notna().sum()),
            "per_indicator_s": per_indicator,
            "peak_rss_mib": round(peak_rss_mib()),
        }
        print(metrics)
        record("indicators_england", metrics, notes="all 16 indicators, every practice and period, DuckDB")


# ------------------------------------------------------------------------------ throughput comparison


def _broad_spectrum_specs() -> tuple[PrescribingSpec, PrescribingSpec]:
    d = load_definitions()["rx_broad_spectrum"]
    assert isinstance(d.numerator, PrescribingSpec) and isinstance(d.denominator, PrescribingSpec)
    return d.numerator, d.denominator


def _complete_fy_months(months: list[str]) -> dict[str, str]:
    out = {}
    for y in sorted({parse_period(m).start.year - (parse_period(m).start.month < 4) for m in months}):
        ms = months_of_fy(y)
        if set(ms) <= set(months):
            out.update({m: f"FY{y}/{(y + 1) % 100:02d}" for m in ms})
    return out


def _sql_condition(spec: PrescribingSpec) -> str:
    inc = " OR ".join(f"starts_with(bnf_code, '{p}')" for p in spec.bnf_include)
    exc = " OR ".join(f"starts_with(bnf_code, '{p}')" for p in spec.bnf_exclude)
    return f"(({inc}) AND NOT ({exc}))" if exc else f"({inc})"


def sql_broad_spectrum(con, months: list[str]) -> pd.DataFrame:
    """Hand-written DuckDB SQL for the same rows as gpscale's rx_broad_spectrum (month and FY)."""
    num, den = _broad_spectrum_specs()
    fy_of = _complete_fy_months(months)
    month_rows = ", ".join(
        f"('{m}', DATE '{parse_period(m).start}', DATE '{parse_period(m).end}', "
        + (f"'{fy_of[m]}')" if m in fy_of else "NULL)")
        for m in months
    )
    fys = sorted(set(fy_of.values()))
    fy_rows = ", ".join(f"('{f}', DATE '{parse_period(f).start}', DATE '{parse_period(f).end}')" for f in fys)
    sql = f"""
    WITH months(period, p_start, p_end, fy) AS (VALUES {month_rows}),
    fys(period, p_start, p_end) AS (VALUES {fy_rows}),
    counts AS (
        SELECT practice_code, period,
               sum(CASE WHEN {_sql_condition(num)} THEN items ELSE 0 END) AS numerator,
               sum(CASE WHEN {_sql_condition(den)} THEN items ELSE 0 END) AS denominator
        FROM prescribing GROUP BY practice_code, period),
    grid AS (
        SELECT p.practice_code, m.period FROM practice p JOIN months m
          ON (p.open_date IS NULL OR p.open_date <= m.p_end) AND (p.close_date IS NULL OR p.close_date >= m.p_start)
        UNION SELECT practice_code, period FROM counts WHERE period IN (SELECT period FROM months)),
    monthly AS (
        SELECT g.practice_code, g.period, c.numerator, c.denominator, m.fy
        FROM grid g LEFT JOIN counts c USING (practice_code, period) JOIN months m USING (period)),
    fy_sums AS (
        SELECT practice_code, fy AS period, sum(numerator) AS numerator, sum(denominator) AS denominator
        FROM monthly WHERE fy IS NOT NULL AND numerator IS NOT NULL AND denominator IS NOT NULL
        GROUP BY practice_code, fy),
    fy_grid AS (
        SELECT p.practice_code, f.period FROM practice p JOIN fys f
          ON (p.open_date IS NULL OR p.open_date <= f.p_end) AND (p.close_date IS NULL OR p.close_date >= f.p_start)
        UNION SELECT practice_code, fy FROM monthly
          WHERE fy IS NOT NULL AND (numerator IS NOT NULL OR denominator IS NOT NULL)),
    result AS (
        SELECT practice_code, period, 'month' AS period_type, numerator, denominator FROM monthly
        UNION ALL
        SELECT g.practice_code, g.period, 'fy', s.numerator, s.denominator
        FROM fy_grid g LEFT JOIN fy_sums s USING (practice_code, period))
    SELECT practice_code, period, period_type, numerator, denominator,
           CASE WHEN denominator > 0 THEN numerator / denominator * 100 END AS value
    FROM result"""
    return con.execute(sql).df()


def pandas_broad_spectrum(rx: pd.DataFrame, practice: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """A straightforward pandas implementation of the same rows, from frames already in memory."""
    num, den = _broad_spectrum_specs()

    def matches(codes: pd.Series, spec: PrescribingSpec) -> pd.Series:
        hit = codes.str.startswith(tuple(spec.bnf_include))
        if spec.bnf_exclude:
            hit &= ~codes.str.startswith(tuple(spec.bnf_exclude))
        return hit

    rx = rx[rx.period.isin(months)]
    work = pd.DataFrame({
        "practice_code": rx.practice_code, "period": rx.period,
        "numerator": rx["items"].where(matches(rx.bnf_code, num), 0.0),
        "denominator": rx["items"].where(matches(rx.bnf_code, den), 0.0),
    })
    counts = work.groupby(["practice_code", "period"], as_index=False)[["numerator", "denominator"]].sum()

    def grid(periods: list[str], data: pd.DataFrame) -> pd.DataFrame:
        per = pd.DataFrame({"period": periods})
        per["p_start"] = [parse_period(p).start.isoformat() for p in periods]
        per["p_end"] = [parse_period(p).end.isoformat() for p in periods]
        g = practice.merge(per, how="cross")
        g = g[(g.open_date.isna() | (g.open_date <= g.p_end)) & (g.close_date.isna() | (g.close_date >= g.p_start))]
        return pd.concat([g[["practice_code", "period"]], data[["practice_code", "period"]]]).drop_duplicates()

    monthly = grid(months, counts).merge(counts, on=["practice_code", "period"], how="left")
    fy_of = _complete_fy_months(months)
    monthly["fy"] = monthly.period.map(fy_of)
    in_fy = monthly[monthly.fy.notna()]
    known = in_fy[in_fy.numerator.notna() & in_fy.denominator.notna()]
    sums = known.groupby(["practice_code", "fy"], as_index=False)[["numerator", "denominator"]].sum()
    sums = sums.rename(columns={"fy": "period"})
    with_data = in_fy[in_fy.numerator.notna() | in_fy.denominator.notna()][["practice_code", "fy"]]
    fy_rows = grid(sorted(set(fy_of.values())), with_data.rename(columns={"fy": "period"}))
    yearly = fy_rows.merge(sums, on=["practice_code", "period"], how="left")
    out = pd.concat([monthly.drop(columns="fy").assign(period_type="month"), yearly.assign(period_type="fy")])
    out["value"] = np.where(out.denominator > 0, out.numerator / out.denominator.where(out.denominator > 0) * 100,
                            np.nan)
    return out


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    keys = ["period_type", "period", "practice_code"]
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    if not a[keys].astype(str).equals(b[keys].astype(str)):
        return False
    return all(
        np.allclose(a[c].to_numpy(float), b[c].to_numpy(float), equal_nan=True, rtol=1e-12)
        for c in ("numerator", "denominator", "value")
    )


def bench_indicators_prescribing_throughput(first_fy: int = 2019, n_fys: int = 5, name: str = "60_months") -> None:
    """rx_broad_spectrum over 6,500 practices × 60 months: ibis vs DuckDB SQL vs pandas (rows/s).

    The store is a DuckDB file, as a real store is (DuckDB compresses stored tables, and scans them
    several times faster than the same table built in an in-memory database).
    """
    with tempfile.TemporaryDirectory(prefix="gpscale-bench-") as tmp:
        path = Path(tmp) / "prescribing.duckdb"
        with open_store(path) as store:
            synthetic_store(store, ENGLAND_PRACTICES, first_fy, n_fys)
            store.con.execute("CHECKPOINT")
        _throughput(path, name)


def bench_indicators_prescribing_throughput_180_months() -> None:
    """The same over all 180 months (≈19 million prescribing rows)."""
    bench_indicators_prescribing_throughput(FIRST_FY, N_FYS, "180_months")


def _throughput(path: Path, name: str) -> None:
    with open_store(path) as store:
        con = store.con.cursor()
        n_rows = con.execute("SELECT count(*) FROM prescribing").fetchone()[0]  # type: ignore[index]
        months = [r[0] for r in con.execute("SELECT DISTINCT period FROM prescribing ORDER BY 1").fetchall()]

        ibis_out: list[pd.DataFrame] = []
        t_ibis = timeit(lambda: ibis_out.append(compute_indicators(store, ["rx_broad_spectrum"])), repeat=3)
        sql_out: list[pd.DataFrame] = []
        t_sql = timeit(lambda: sql_out.append(sql_broad_spectrum(con, months)), repeat=3)

        frames: dict[str, pd.DataFrame] = {}

        def load() -> None:
            frames["rx"] = con.execute("SELECT practice_code, period, bnf_code, items FROM prescribing").df()
            frames["practice"] = con.execute(
                "SELECT practice_code, CAST(open_date AS VARCHAR) AS open_date, "
                "CAST(close_date AS VARCHAR) AS close_date FROM practice").df()

        t_load = timeit(load, repeat=1)
        pd_out: list[pd.DataFrame] = []
        t_pd = timeit(lambda: pd_out.append(pandas_broad_spectrum(frames["rx"], frames["practice"], months)),
                      repeat=2)
        frames.clear()
        con.close()

    ours = ibis_out[-1].drop(columns=["indicator_id", "effective_n", "definition_version"])
    checks = {"sql_equals_ibis": _same(ours, sql_out[-1]), "pandas_equals_ibis": _same(ours, pd_out[-1])}
    pandas_total = t_pd["min_s"] + t_load["min_s"]
    rate = {k: n_rows / t for k, t in (("ibis", t_ibis["min_s"]), ("sql", t_sql["min_s"]),
                                       ("pandas", t_pd["min_s"]), ("pandas_with_load", pandas_total))}
    metrics = {
        "prescribing_rows": n_rows,
        "months": len(months),
        "result_rows": len(ours),
        "ibis_s": round(t_ibis["min_s"], 3),
        "duckdb_sql_s": round(t_sql["min_s"], 3),
        "pandas_compute_s": round(t_pd["min_s"], 3),
        "pandas_load_s": round(t_load["min_s"], 3),
        "ibis_rows_per_s": round(rate["ibis"]),
        "duckdb_sql_rows_per_s": round(rate["sql"]),
        "pandas_rows_per_s": round(rate["pandas"]),
        "pandas_with_load_rows_per_s": round(rate["pandas_with_load"]),
        "ibis_time_over_sql": round(t_ibis["min_s"] / t_sql["min_s"], 2),
        "pandas_compute_time_over_ibis": round(t_pd["min_s"] / t_ibis["min_s"], 2),
        "pandas_with_load_time_over_ibis": round(pandas_total / t_ibis["min_s"], 2),
        "target_within_2x_of_sql": t_ibis["min_s"] <= 2 * t_sql["min_s"],
        "target_5x_faster_than_pandas_compute": t_pd["min_s"] >= 5 * t_ibis["min_s"],
        "target_5x_faster_than_pandas_with_load": pandas_total >= 5 * t_ibis["min_s"],
        **checks,
        "peak_rss_mib": round(peak_rss_mib()),
    }
    print(metrics)
    record(f"indicators_prescribing_throughput_{name}", metrics,
           notes="rx_broad_spectrum month + FY from a DuckDB file store; pandas compute timed on frames "
                 "already in memory, and separately the load of those frames from the store")
    assert all(checks.values()), checks
