"""A plain pandas reference implementation of indicator computation.

Small and readable on purpose: it reads the store's tables into pandas and applies the rules of
:mod:`gpscale.indicators.compute` step by step, without ibis. The tests hold the ibis path (on DuckDB and
Spark) to this on hypothesis-generated stores, and the benchmark uses it as the "straightforward pandas"
baseline. It is not meant for national data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gpscale.indicators import weights as wt
from gpscale.indicators.compute import (
    MAX_LIST_AGE_MONTHS,
    OUTPUT_COLUMNS,
    STORE_TABLES,
    _complete_fys,
    _store_connection,
    _tidy,
    _weights_for,
    empty_result,
)
from gpscale.indicators.library import load_definitions, select
from gpscale.indicators.model import (
    HospitalSpec,
    IndicatorDefinition,
    MeasureValueSpec,
    PrescribingSpec,
    ValueType,
)
from gpscale.periods import parse_period

KEY = ["practice_code", "period"]


def _read(con: Any, table: str) -> pd.DataFrame:
    cols = STORE_TABLES[table]
    sql = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" if c.endswith("_date") else c for c in cols)
    return con.execute(f"SELECT {sql} FROM {table}").df()


def _strict_sum(s: pd.Series) -> float:
    """Σ, or NaN when any value is missing (a suppressed cell is not a zero)."""
    return float("nan") if s.isna().any() else float(s.sum())


def _grid(practice: pd.DataFrame, periods: list[str], *data: pd.DataFrame) -> pd.DataFrame:
    """Practices open in each period, plus every practice-period with data."""
    rows = []
    for label in periods:
        p = parse_period(label)
        start, end = p.start.isoformat(), p.end.isoformat()
        for r in practice.itertuples(index=False):
            opened = r.open_date is None or pd.isna(r.open_date) or r.open_date <= end
            not_closed = r.close_date is None or pd.isna(r.close_date) or r.close_date >= start
            if opened and not_closed:
                rows.append((r.practice_code, label))
    parts = [_typed_keys(pd.DataFrame(rows, columns=KEY))]
    for d in data:
        parts.append(_typed_keys(d.loc[d.period.isin(periods), KEY]))
    return pd.concat(parts).drop_duplicates().reset_index(drop=True)


def _typed_keys(df: pd.DataFrame) -> pd.DataFrame:
    """Key columns as text even when the frame is empty (pandas would guess float or object)."""
    return df.astype({c: "str" for c in ("practice_code", "period", "snap", "fy") if c in df.columns})


def _matches(codes: pd.Series, include: list[str], exclude: list[str]) -> pd.Series:
    inc = np.zeros(len(codes), dtype=bool)
    for p in include:
        inc |= codes.str.startswith(p).to_numpy()
    for p in exclude:
        inc &= ~codes.str.startswith(p).to_numpy()
    return pd.Series(inc, index=codes.index)


def _prescribing_sum(rx: pd.DataFrame, spec: PrescribingSpec, name: str) -> pd.DataFrame:
    """Per practice-month present in the prescribing table: Σ field over the spec's codes (0 if none)."""
    present = _typed_keys(rx[KEY].drop_duplicates())
    hit = rx[_matches(rx.bnf_code, spec.bnf_include, spec.bnf_exclude)]
    sums = hit.groupby(KEY, as_index=False)[spec.field].sum().rename(columns={spec.field: name})
    out = present.merge(_typed_keys(sums), on=KEY, how="left")
    out[name] = out[name].fillna(0.0)
    return out


def _month_index(label: str) -> int:
    return int(label[:4]) * 12 + int(label[5:7])


def _lists(pop: pd.DataFrame, weights: pd.DataFrame | None) -> pd.DataFrame:
    """(practice_code, snapshot period, star_pu) from the registrations."""
    pop = pop[(pop.period_type == "month") & pop.sex.isin(["male", "female"]) & (pop.age_band != "all")]
    pop = pop.copy()
    if weights is None:
        pop["w"] = 1.0
    else:
        pop["star_pu_band"] = pop.age_band.map(wt.AGE_BAND_TO_STAR_PU)
        w = weights.rename(columns={"age_band": "star_pu_band", "weight": "w"})
        pop = pop.merge(w, on=["sex", "star_pu_band"], how="inner")
    pop["wp"] = pop.patients.astype("float64") * pop.w.astype("float64")
    out = pop.groupby(KEY).wp.agg(_strict_sum).rename("star_pu").reset_index()
    return _typed_keys(out).astype({"star_pu": "float64"})


def _latest_list(grid: pd.DataFrame, lists: pd.DataFrame) -> pd.DataFrame:
    """The latest list at or before each grid month, at most MAX_LIST_AGE_MONTHS old."""
    j = grid.merge(_typed_keys(lists.rename(columns={"period": "snap"})), on="practice_code")
    gi = j.period.map(_month_index).astype("int64")
    si = j.snap.map(_month_index).astype("int64")
    j = j[(si <= gi) & (gi - si <= MAX_LIST_AGE_MONTHS)]
    # the latest snapshot, even when its list is unknown (null): no silent fall-back to an older one
    j = j.sort_values("snap").groupby(KEY, as_index=False).tail(1)
    return _typed_keys(j[[*KEY, "star_pu"]].rename(columns={"star_pu": "denominator"}))


def _one(d: IndicatorDefinition, t: dict[str, pd.DataFrame], con: Any, vintage: str | None) -> pd.DataFrame:
    n = d.numerator
    out: list[pd.DataFrame] = []
    if isinstance(n, PrescribingSpec):
        rx = t["prescribing"]
        months = _periods(d, sorted(rx.period.unique()))
        num = _prescribing_sum(rx, n, "numerator")
        if d.value_type == ValueType.PROPORTION:
            den_spec = d.denominator
            assert isinstance(den_spec, PrescribingSpec)
            den = _prescribing_sum(rx, den_spec, "denominator")
            data = _typed_keys(num.merge(den, on=KEY))
            grid = _grid(t["practice"], months, data)
            m = grid.merge(data, on=KEY, how="left")
        else:
            w = None
            if d.standardisation.method != "none":
                w, _ = _weights_for(con, d, vintage)
            grid = _grid(t["practice"], months, num)
            m = grid.merge(num, on=KEY, how="left").merge(
                _latest_list(grid, _lists(t["practice_population"], w)), on=KEY, how="left"
            )
        out.append(_values(d, m, "month"))
        if d.derived_period_types:
            fys = _complete_fys(months)
            month_to_fy = {mo: fy for fy, ms in fys.items() for mo in ms}
            mm = m[m.period.isin(month_to_fy)].copy()
            mm["fy"] = mm.period.map(month_to_fy)
            known = mm[mm.numerator.notna() & mm.denominator.notna()]
            agg = known.groupby(["practice_code", "fy"], as_index=False)[["numerator", "denominator"]].sum()
            if d.value_type == ValueType.RATE:
                agg["denominator"] = agg["denominator"] / 12.0
            agg = _typed_keys(agg.rename(columns={"fy": "period"}))
            with_data = mm[mm.numerator.notna() | mm.denominator.notna()][["practice_code", "fy"]]
            with_data = with_data.rename(columns={"fy": "period"})
            grid = _grid(t["practice"], list(fys), with_data)
            out.append(_values(d, grid.merge(agg, on=KEY, how="left"), "fy"))
        return pd.concat(out)
    if isinstance(n, HospitalSpec):
        ha = t["hospital_activity"]
        years = _periods(d, sorted(ha.period.unique()))  # periods of the source, any measure
        ha = ha[(ha.measure.str.upper() == n.measure.upper()) & (ha.period_type == "fy") & ha.period.isin(years)]
        known = ha[ha.events.notna() & ha.population.notna()]
        ref = known.groupby(["period", "sex", "age_band"], as_index=False)[["events", "population"]].sum()
        ref["rate"] = np.where(ref.population > 0, ref.events / ref.population.where(ref.population > 0), 0.0)
        x = ha.merge(ref[["period", "sex", "age_band", "rate"]], on=["period", "sex", "age_band"], how="left")
        if n.suppressed_cells == "exclude":
            x = x[x.events.notna()]
        x = x.assign(expected=x.population * x.rate)
        obs = x.groupby(KEY).agg(numerator=("events", _strict_sum), denominator=("expected", _strict_sum))
        obs = _typed_keys(obs.reset_index())
        grid = _grid(t["practice"], years, obs)
        return _values(d, grid.merge(obs, on=KEY, how="left"), "fy")
    assert isinstance(n, MeasureValueSpec)
    den = d.denominator
    assert isinstance(den, MeasureValueSpec)
    if den.measure_ids is None and den.codes_by_period is None:
        den = den.model_copy(update={"measure_ids": n.measure_ids, "codes_by_period": n.codes_by_period})
    mv = t["measure_value"]
    mv = mv[mv.source == n.dataset_name]
    years = _periods(d, sorted(mv.period.unique()))
    if n.codes_by_period is not None:
        years = [y for y in years if any(c.range.contains(y) for c in n.codes_by_period)]

    def rows(spec: MeasureValueSpec) -> pd.DataFrame:
        r = mv[mv.period.isin(years)]
        if spec.measure_ids is not None:
            return r[r.measure_id.isin(spec.measure_ids)]
        assert spec.codes_by_period is not None
        keep = []
        for row in r.itertuples(index=False):
            code = next((c.measure_id for c in spec.codes_by_period if c.range.contains(row.period)), None)
            keep.append(code == row.measure_id)
        return r[np.array(keep, dtype=bool)]

    def field(r: pd.DataFrame, name: str) -> pd.Series:
        if name == "weighted_denominator":
            return r.weighted_denominator.fillna(r.denominator)
        if name == "weighted_numerator":
            return r.weighted_numerator.fillna(r.value / 100.0 * r.weighted_denominator.fillna(r.denominator))
        return r[name]

    rn = rows(n)
    num_t = rn.assign(f=field(rn, n.field)).groupby(KEY).f.agg(_strict_sum).rename("numerator").reset_index()
    num_t = _typed_keys(num_t).astype({"numerator": "float64"})
    rd = rows(den)
    den_t = rd.assign(f=field(rd, den.field)).groupby(KEY).agg(
        denominator=("f", _strict_sum), effective_n=("denominator", _strict_sum)
    ).reset_index()
    den_t = _typed_keys(den_t).astype({"denominator": "float64", "effective_n": "float64"})
    for c in den.constant_by_period:
        in_range = den_t.period.map(c.range.contains).astype(bool)
        den_t.loc[in_range, "denominator"] = c.value
    grid = _grid(t["practice"], years, num_t, den_t)
    m = grid.merge(num_t, on=KEY, how="left").merge(den_t, on=KEY, how="left")
    if d.value_type != ValueType.WEIGHTED_PROPORTION:
        m["effective_n"] = np.nan
    return _values(d, m, "fy")


def _periods(d: IndicatorDefinition, labels: list[str]) -> list[str]:
    out = []
    for label in labels:
        try:
            p = parse_period(label)
        except ValueError:
            continue
        if p.type == d.period_type and d.periods.contains(label):
            out.append(label)
    return out


def _values(d: IndicatorDefinition, m: pd.DataFrame, period_type: str) -> pd.DataFrame:
    m = m.copy()
    num = m.numerator.astype("float64")
    den = m.denominator.astype("float64")
    ok = num.notna() & (den > 0)
    m["value"] = np.where(ok, num / den.where(den > 0) * d.multiplier, np.nan)
    m["indicator_id"] = d.id
    m["period_type"] = period_type
    m["definition_version"] = d.version
    if "effective_n" not in m:
        m["effective_n"] = np.nan
    return m[list(OUTPUT_COLUMNS)]


def reference_indicators(
    store: Any,
    indicator_ids: list[str] | None = None,
    definitions_dir: Any = None,
    star_pu_vintage: str | None = None,
) -> pd.DataFrame:
    """Same contract as :func:`gpscale.indicators.compute.compute_indicators`, in plain pandas."""
    defs = select(load_definitions(definitions_dir), indicator_ids)
    con, owned = _store_connection(store)
    try:
        tables = {name: _read(con, name) for name in STORE_TABLES}
        frames = []
        for d in defs:
            f = _one(d, tables, con, star_pu_vintage)
            f["_k"] = (f.period_type != str(d.period_type)).astype(int)
            frames.append(f.sort_values(["_k", "period", "practice_code"]).drop(columns="_k"))
    finally:
        owned.close()
    out = _tidy(frames)
    return out if len(out) else empty_result()
