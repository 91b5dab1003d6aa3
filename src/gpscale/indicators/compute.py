"""Computing indicators: practice × period numerators, denominators and values, expressed once in ibis.

The same ibis expressions run on DuckDB (default, directly on the store's connection) and on PySpark
(``engine="spark"``: DuckDB hands the store's tables to a local or given SparkSession as Parquet), and on
PySpark reading a Parquet lake with no store (:mod:`gpscale.indicators.lake_source`): an :class:`Engine`
is the tables plus the :class:`Facts` the expressions are built from, whatever their source. Rules every
indicator follows (docs/indicators.md explains them with examples):

* **An explicit grid.** One row per practice × period, where the practices are those open in the period
  (``practice`` view, open/close dates) plus any practice with data in the period, and the periods are
  those the indicator's source covers (within the definition's ``periods`` range). Absent data are
  explicit nulls, never missing rows.
* **Pooled values.** value = numerator / denominator × multiplier for every value type, so any group's
  value is Σnumerator / Σdenominator × multiplier. A null or zero denominator gives a null value.
* **Nulls stay nulls.** A practice-month with prescribing rows has zero-filled prescribing counts; one
  without any prescribing rows has nulls. A sum over several source rows (age-sex cells, QOF domains) is
  null when any of the rows is null (suppressed), never a silent partial sum.
* **Months roll up to financial years** (``derived_period_types: [fy]``): a complete financial year (all
  twelve months present in the source) sums the months whose numerator and denominator are both known.
  Rates divide the summed monthly STAR-PU by 12 (STAR-PU-years, so the value is per year), proportions
  sum item counts as they are.
"""

from __future__ import annotations

import functools
import operator
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd

from gpscale.domain.qof import qof_max_points
from gpscale.indicators import weights as wt
from gpscale.indicators.library import load_definitions, select
from gpscale.indicators.model import (
    ExpectedSpec,
    HospitalSpec,
    IndicatorDefinition,
    MeasureValueSpec,
    PrescribingSpec,
    RegistrationsSpec,
    ValueType,
)
from gpscale.indicators.rx_served import SummedMonth, refusals
from gpscale.periods import PeriodType, months_of_fy, parse_period

ENGINES: tuple[str, ...] = ("duckdb", "spark")

#: Columns of the result, in order.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "indicator_id",
    "practice_code",
    "period",
    "period_type",
    "numerator",
    "denominator",
    "value",
    "effective_n",
    "definition_version",
)

#: A registrations snapshot is used for the months from its own month to this many months later.
MAX_LIST_AGE_MONTHS = 11

#: Tables read from the store, and the columns used.
STORE_TABLES: dict[str, tuple[str, ...]] = {
    "practice": ("practice_code", "open_date", "close_date"),
    "prescribing": ("practice_code", "period", "bnf_code", "items", "quantity", "adq_usage", "nic",
                    "actual_cost"),
    "practice_population": ("practice_code", "period", "period_type", "sex", "age_band", "patients"),
    "measure_value": ("source", "measure_id", "practice_code", "period", "period_type", "numerator",
                      "denominator", "expected", "weighted_numerator", "weighted_denominator", "points",
                      "max_points", "exceptions", "value"),
    "hospital_activity": ("practice_code", "period", "period_type", "measure", "sex", "age_band", "events",
                          "population"),
}


class ComputeError(ValueError):
    """An indicator cannot be computed from this store (the message says which and why)."""


# ------------------------------------------------------------------------------------------- engines


class StoreFacts:
    """Small facts the expressions are built from (periods, weights, age bands, summed months), read from
    a DuckDB store. The table-source seam: :class:`gpscale.indicators.lake_source.LakeFacts` answers the
    same questions from a Parquet lake through Spark."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def periods(self, table: str, source: str | None) -> list[str]:
        """Distinct period labels in ``table`` (for ``measure_value``, of one dataset)."""
        sql = f"SELECT DISTINCT period FROM {table}"
        params: list[Any] = []
        if source is not None:
            sql += " WHERE source = ?"
            params.append(source)
        return sorted(str(r[0]) for r in self.con.execute(sql, params).fetchall())

    def stored_weights(self, scheme: str, vintage: str) -> pd.DataFrame:
        """The store's prescribing weights (scheme, vintage, sex, age_band, weight) of one scheme and vintage."""
        return self.con.execute(
            "SELECT scheme, vintage, sex, age_band, weight FROM prescribing_weight WHERE scheme = ? AND vintage = ?",
            [scheme, vintage],
        ).df()

    def age_bands(self) -> list[str]:
        """Distinct age bands of the sex-specific registrations."""
        rows = self.con.execute(
            "SELECT DISTINCT age_band FROM practice_population WHERE sex IN ('male','female') AND age_band <> 'all'"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def summed_months(self) -> list[SummedMonth]:
        """See :func:`summed_months`."""
        return summed_months(self.con)


class Facts(Protocol):
    """What :class:`StoreFacts` answers; every table source answers the same."""

    def periods(self, table: str, source: str | None) -> list[str]: ...
    def stored_weights(self, scheme: str, vintage: str) -> pd.DataFrame: ...
    def age_bands(self) -> list[str]: ...
    def summed_months(self) -> list[SummedMonth]: ...


@dataclass
class Engine:
    """An ibis connection with the source's tables (:data:`STORE_TABLES`), where its small facts come from,
    and small caches of per-run facts."""

    name: str
    con: Any
    tables: dict[str, ir.Table]
    facts: Facts
    session: Any = None
    _periods: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _small: int = 0

    def table(self, name: str) -> ir.Table:
        return self.tables[name]

    def small_table(self, frame: pd.DataFrame) -> ir.Table:
        """A small in-memory table (periods, codes, weights) usable in this engine's expressions.

        DuckDB takes an ibis memtable; on Spark the frame becomes a named temporary view, because ibis
        does not register memtables that sit under a cached table.
        """
        if self.name != "spark":
            return ibis.memtable(frame)
        self._small += 1
        name = f"gpscale_small_{self._small}"
        from pyspark.sql import types as T

        def spark_type(dtype: Any) -> Any:
            if pd.api.types.is_float_dtype(dtype):
                return T.DoubleType()
            if pd.api.types.is_integer_dtype(dtype):
                return T.LongType()
            return T.StringType()

        schema = T.StructType([T.StructField(str(c), spark_type(frame[c].dtype), True) for c in frame.columns])
        # from pandas (Arrow), not Python rows, so that scans do not go through Python workers
        self.session.createDataFrame(frame, schema=schema).createOrReplaceTempView(name)
        return self.con.table(name)

    def materialise(self, t: ir.Table) -> ir.Table:
        """On Spark, cache an intermediate table that later steps read more than once.

        Spark re-runs a shared sub-plan for every reference to it, and each run is a few local jobs;
        DuckDB plans the whole expression at once, so there the expression is returned unchanged.
        """
        return t.cache() if self.name == "spark" else t

    def periods_of(self, table: str, source: str | None = None) -> list[str]:
        """Distinct period labels present in ``table`` (for ``measure_value``, of one dataset)."""
        key = (table, source or "")
        if key not in self._periods:
            self._periods[key] = self.facts.periods(table, source)
        return self._periods[key]


def _store_connection(store: Any) -> tuple[duckdb.DuckDBPyConnection, Any]:
    """(connection, thing to close) for a Store, a DuckDB connection or a path.

    The computation works on a cursor of its own (a second connection to the same database), so that
    it neither disturbs nor is refused by a caller's unfinished result on the main connection.
    """
    if isinstance(store, duckdb.DuckDBPyConnection):
        cur = store.cursor()
        return cur, cur
    if hasattr(store, "con") and isinstance(store.con, duckdb.DuckDBPyConnection):
        cur = store.con.cursor()
        return cur, cur
    if isinstance(store, str | Path):
        from gpscale.store.db import open_store

        s = open_store(store, read_only=True)
        return s.con, s
    raise TypeError(f"store must be a gpscale Store, a DuckDB connection or a path, not {type(store)}")


def _duckdb_engine(con: duckdb.DuckDBPyConnection) -> Engine:
    icon = ibis.duckdb.from_connection(con)
    tables = {name: icon.table(name).select(*cols) for name, cols in STORE_TABLES.items()}
    return Engine("duckdb", icon, tables, StoreFacts(con))


def spark_session() -> Any:
    """A local SparkSession for gpscale (created once; reused by later calls)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ComputeError("engine 'spark' needs pyspark: pip install 'gpscale[spark]'") from exc
    return (
        SparkSession.builder.master("local[2]")
        .appName("gpscale")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.ansi.enabled", "false")
        # gpscale keeps no Spark tables; do not leave a spark-warehouse folder in the working directory
        .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "gpscale-spark-warehouse"))
        .getOrCreate()
    )


def _spark_engine(con: duckdb.DuckDBPyConnection, session: Any, needed: set[str], workdir: str) -> Engine:
    """Hand the store's needed tables to Spark as Parquet files in ``workdir`` and connect ibis to them.

    DuckDB writes Parquet quickly and Spark reads it lazily, so this scales to national tables (a Spark
    cluster needs ``workdir`` on storage its executors can read). Dates travel as ISO text.
    """
    if session is None:
        session = spark_session()
    icon = ibis.pyspark.connect(session)
    tables: dict[str, ir.Table] = {}
    for name, cols in STORE_TABLES.items():
        described = {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}
        proj = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" if described[c] == "DATE" else c for c in cols)
        where = "" if name in needed else " WHERE false"
        path = str(Path(workdir) / f"{name}.parquet")
        con.execute(f"COPY (SELECT {proj} FROM {name}{where}) TO '{path}' (FORMAT parquet)")
        view = f"gpscale_{name}"
        session.read.parquet(path).createOrReplaceTempView(view)
        tables[name] = icon.table(view)
    return Engine("spark", icon, tables, StoreFacts(con), session=session)


# ------------------------------------------------------------------------------------- expressions


def _null_float() -> ir.FloatingValue:
    return ibis.null().cast("float64")


#: Sums run in this fixed-point type: exact, so the same whatever order a parallel aggregation meets the
#: rows in (a float64 sum is not: two runs of the demo differed in the last bits, and a bootstrap on those
#: bits in its conclusion; issue 17). Values keep 12 decimals; whole numbers and the sums are unchanged.
EXACT_SUM_TYPE = "decimal(38, 12)"


def _exact_sum(expr: ir.NumericValue) -> ir.FloatingScalar:
    """Σ expr over the group as float64, added exactly (:data:`EXACT_SUM_TYPE`), hence reproducibly."""
    return expr.cast(EXACT_SUM_TYPE).sum().cast("float64")


def _strict_sum(t: ir.Table, expr: ir.NumericValue) -> ir.FloatingScalar:
    """Σ expr over the group, or null if any row's expr is null (suppressed cells are not zeros)."""
    return ibis.ifelse(expr.count() == t.count(), _exact_sum(expr), _null_float())


def _month_index(label: ir.StringValue) -> ir.IntegerValue:
    return label.substr(0, 4).cast("int64") * 12 + label.substr(5, 2).cast("int64")


def _any_prefix(col: ir.StringValue, prefixes: Sequence[str]) -> ir.BooleanValue:
    return functools.reduce(operator.or_, [col.startswith(p) for p in prefixes])


def _bnf_condition(col: ir.StringValue, spec: PrescribingSpec) -> ir.BooleanValue:
    cond = _any_prefix(col, spec.bnf_include)
    if spec.bnf_exclude:
        cond = cond & ~_any_prefix(col, spec.bnf_exclude)
    return cond


def _periods_frame(labels: Iterable[str]) -> pd.DataFrame:
    rows = []
    for label in labels:
        p = parse_period(label)
        rows.append((label, p.start.isoformat(), p.end.isoformat()))
    return pd.DataFrame(rows, columns=["period", "p_start", "p_end"])


def _open_pairs(e: Engine, periods: list[str]) -> ir.Table:
    """(practice_code, period) for every practice open at some point in each period."""
    pr = e.table("practice")
    pr = pr.select(
        "practice_code", o=pr.open_date.cast("string"), c=pr.close_date.cast("string")
    )
    per = e.small_table(_periods_frame(periods))
    j = pr.cross_join(per)
    j = j.filter((j.o.isnull() | (j.o <= j.p_end)) & (j.c.isnull() | (j.c >= j.p_start)))
    return _keys(j)


def _keys(t: ir.Table) -> ir.Table:
    """The (practice_code, period) key columns, typed alike whatever table they come from."""
    return t.select(practice_code=t.practice_code.cast("string"), period=t.period.cast("string"))


def _grid(e: Engine, periods: list[str], *data: ir.Table) -> ir.Table:
    """Open practices × periods, plus every practice-period that has data (so no data row is dropped)."""
    parts = [_open_pairs(e, periods)]
    for d in data:
        parts.append(_keys(d.filter(d.period.isin(periods))))
    return functools.reduce(lambda a, b: a.union(b, distinct=True), parts)


def _grid_with(e: Engine, periods: list[str], data: ir.Table) -> ir.Table:
    """The grid with one data table's columns: open practice-periods FULL OUTER JOIN the data.

    The same rows as ``_on_grid(_grid(e, periods, data), data)``, in one join instead of a distinct
    union followed by a join (the data table is read once).
    """
    op = _open_pairs(e, periods)
    d = data.filter(data.period.isin(periods))
    j = op.outer_join(d, [op.practice_code == d.practice_code, op.period == d.period])
    values = [c for c in data.columns if c not in ("practice_code", "period")]
    out = j.select(
        practice_code=op.practice_code.coalesce(d.practice_code).cast("string"),
        period=op.period.coalesce(d.period).cast("string"),
        **{c: d[c] for c in values},
    )
    return out.view()  # a relation of its own, so that later joins do not extend this join chain


def _on_grid(grid: ir.Table, *data: ir.Table) -> ir.Table:
    """Left-join each data table (keyed practice_code, period) onto the grid."""
    out = grid
    for d in data:
        out = out.left_join(d, ["practice_code", "period"]).select(
            out, *[c for c in d.columns if c not in ("practice_code", "period")]
        )
    return out


def _finish(
    t: ir.Table, d: IndicatorDefinition, period_type: str, with_effective_n: bool = False
) -> ir.Table:
    num = t.numerator.cast("float64")
    den = t.denominator.cast("float64")
    value = ibis.ifelse(num.notnull() & (den > 0), num / den * float(d.multiplier), _null_float())
    return t.select(
        indicator_id=ibis.literal(d.id),
        practice_code=t.practice_code,
        period=t.period,
        period_type=ibis.literal(period_type),
        numerator=num,
        denominator=den,
        value=value,
        effective_n=t.effective_n.cast("float64") if with_effective_n else _null_float(),
        definition_version=ibis.literal(d.version).cast("int64"),
    )


# -------------------------------------------------------------------------------------- prescribing


def _prescribing_counts(e: Engine, specs: Sequence[PrescribingSpec], names: Sequence[str]) -> ir.Table:
    """Per practice-month with any prescribing rows: Σ field over each spec's BNF codes (zero-filled).

    One pass over the prescribing table; practice-months absent from it get no row (hence nulls later).
    """
    p = e.table("prescribing")
    metrics = {
        name: _exact_sum(ibis.ifelse(_bnf_condition(p.bnf_code, s), p[s.field], 0.0))
        for s, name in zip(specs, names, strict=True)
    }
    agg = p.group_by(["practice_code", "period"]).aggregate(**metrics)
    return agg.select("practice_code", "period", *[agg[n].fill_null(0.0).name(n) for n in names])


def _star_pu(e: Engine, d: IndicatorDefinition, weights: pd.DataFrame) -> ir.Table:
    """STAR-PU (or plain list when unstandardised) per practice and registrations snapshot month."""
    pop = e.table("practice_population")
    pop = pop.filter(
        (pop.period_type == str(PeriodType.MONTH))
        & pop.sex.isin(["male", "female"])
        & (pop.age_band != "all")
    )
    if d.standardisation.method == "none":
        return pop.group_by(["practice_code", "period"]).aggregate(
            star_pu=_strict_sum(pop, pop.patients)
        )
    bands = e.small_table(wt.band_map_frame())
    w = e.small_table(weights.rename(columns={"age_band": "star_pu_band"}))
    x = pop.join(bands, "age_band").join(w, ["sex", "star_pu_band"])
    return x.group_by(["practice_code", "period"]).aggregate(star_pu=_strict_sum(x, x.patients * x.weight))


def _latest_list(e: Engine, periods: list[str], lists: ir.Table) -> ir.Table:
    """For each practice with lists and each month, the latest list at or before the month and at most
    MAX_LIST_AGE_MONTHS old.

    A running maximum over each practice's months and snapshots in time order (snapshots first within a
    month), rather than a join of every month with every snapshot: one sort instead of months ×
    snapshots rows. It does not read the numerator, so the prescribing counts are computed once.
    """
    months = e.small_table(pd.DataFrame({"period": periods}, dtype="str"))
    pairs = lists.select("practice_code").distinct().cross_join(months)
    no_snap = ibis.null().cast("int64")
    g = pairs.select("practice_code", "period", mi=_month_index(pairs.period), kind=ibis.literal(1), si=no_snap)
    snaps = lists.select("practice_code", "period", mi=_month_index(lists.period), kind=ibis.literal(0))
    snaps = snaps.mutate(si=snaps.mi)
    both = g.union(snaps, distinct=False)
    w = ibis.cumulative_window(group_by=both.practice_code, order_by=[both.mi, both.kind])
    both = both.mutate(latest=both.si.max().over(w))
    current = both.filter((both.kind == 1) & (both.mi - both.latest <= MAX_LIST_AGE_MONTHS))
    keyed = lists.select("practice_code", "star_pu", latest=_month_index(lists.period))
    out = current.join(keyed, ["practice_code", "latest"])
    return out.select("practice_code", "period", denominator=out.star_pu)


def _prescribing_months(
    e: Engine, d: IndicatorDefinition, periods: list[str], weights: pd.DataFrame | None
) -> ir.Table:
    n = d.numerator
    assert isinstance(n, PrescribingSpec)
    if d.value_type == ValueType.PROPORTION:
        den_spec = d.denominator
        assert isinstance(den_spec, PrescribingSpec)
        counts = _prescribing_counts(e, [n, den_spec], ["numerator", "denominator"])
        t = _grid_with(e, periods, counts)
    else:  # rate over (weighted) registrations
        assert weights is not None
        counts = _prescribing_counts(e, [n], ["numerator"])
        lists = _star_pu(e, d, weights)
        t = _on_grid(_grid_with(e, periods, counts), _latest_list(e, periods, lists))
    return e.materialise(t.select("practice_code", "period", "numerator", "denominator"))


def _roll_up_to_fy(
    e: Engine, d: IndicatorDefinition, months: ir.Table, fy_months: dict[str, list[str]]
) -> ir.Table:
    """Financial-year numerators and denominators from the monthly grid (see the module docstring)."""
    mapping = pd.DataFrame(
        [(m, fy) for fy, ms in fy_months.items() for m in ms], columns=["period", "fy"]
    )
    scale = 1.0 / 12.0 if d.value_type == ValueType.RATE else 1.0
    m = months.join(e.small_table(mapping), "period")
    known = m.filter(m.numerator.notnull() & m.denominator.notnull())
    agg = known.group_by(["practice_code", "fy"]).aggregate(
        numerator=_exact_sum(known.numerator), denominator=_exact_sum(known.denominator) * scale
    ).rename(period="fy")
    with_data = m.filter(m.numerator.notnull() | m.denominator.notnull())
    with_data = with_data.select("practice_code", period=with_data.fy).distinct()
    grid = _grid(e, list(fy_months), with_data)
    return _on_grid(grid, agg)


# ----------------------------------------------------------------------------- measure_value sources


def _codes_frame(spec: MeasureValueSpec, periods: list[str]) -> pd.DataFrame | None:
    if spec.codes_by_period is None:
        return None
    rows = []
    for label in periods:
        for c in spec.codes_by_period:
            if c.range.contains(label):
                rows.append((label, c.measure_id))
                break
    return pd.DataFrame(rows, columns=["period", "measure_id"])


def _mv_selection(e: Engine, spec: MeasureValueSpec, periods: list[str]) -> ir.Table:
    mv = e.table("measure_value")
    mv = mv.filter((mv.source == spec.dataset_name) & mv.period.isin(periods))
    if spec.measure_ids is not None:
        return mv.filter(mv.measure_id.isin(spec.measure_ids))
    codes = _codes_frame(spec, periods)
    assert codes is not None
    return mv.join(e.small_table(codes), ["period", "measure_id"])


def _mv_field(mv: ir.Table, name: str) -> ir.FloatingValue:
    """A measure_value field; survey weighted counts fall back to what the file publishes."""
    if name == "weighted_denominator":
        return mv.weighted_denominator.coalesce(mv.denominator)
    if name == "weighted_numerator":
        base = mv.weighted_denominator.coalesce(mv.denominator)
        return mv.weighted_numerator.coalesce(mv.value / 100.0 * base)
    return mv[name]


def _constants_frame(spec: MeasureValueSpec, periods: list[str]) -> pd.DataFrame:
    """(period, constant) for the periods where the spec's published constant is known."""
    rows: list[tuple[str, float]] = []
    if spec.constant == "qof_maximum_points":
        rows = [(label, float(m)) for label in periods if (m := qof_max_points(label)) is not None]
    return pd.DataFrame(rows, columns=["period", "constant"]).astype({"constant": "float64"})


def _measure_value_years(e: Engine, d: IndicatorDefinition, periods: list[str]) -> ir.Table:
    n, den = d.numerator, d.denominator
    assert isinstance(n, MeasureValueSpec) and isinstance(den, MeasureValueSpec)
    # a denominator that names no rows of its own uses the numerator's selection
    if den.measure_ids is None and den.codes_by_period is None:
        den = den.model_copy(update={"measure_ids": n.measure_ids, "codes_by_period": n.codes_by_period})
    weighted = d.value_type == ValueType.WEIGHTED_PROPORTION

    def agg(spec: MeasureValueSpec, name: str, with_n: bool) -> ir.Table:
        mv = _mv_selection(e, spec, periods)
        metrics = {name: _strict_sum(mv, _mv_field(mv, spec.field))}
        if with_n:
            metrics["effective_n"] = _strict_sum(mv, mv.denominator)
        return mv.group_by(["practice_code", "period"]).aggregate(**metrics)

    num_t = agg(n, "numerator", False)
    den_t = agg(den, "denominator", weighted)
    if den.constant is not None:
        consts = e.small_table(_constants_frame(den, periods))
        j = den_t.left_join(consts, "period").select(den_t, "constant")
        den_t = j.select(
            *[c for c in den_t.columns if c != "denominator"],
            denominator=j.constant.coalesce(j.denominator),
        )
    grid = _grid(e, periods, num_t, den_t)
    return _on_grid(grid, num_t, den_t)


# --------------------------------------------------------------------------------------- hospital


def _hospital_years(e: Engine, d: IndicatorDefinition, periods: list[str]) -> ir.Table:
    n = d.numerator
    assert isinstance(n, HospitalSpec) and isinstance(d.denominator, ExpectedSpec)
    ha = e.table("hospital_activity")
    ha = ha.filter(
        # measure codes compared case-insensitively (the layout writes EMERGENCY_ADMISSIONS; a loader may
        # normalise to lower case)
        (ha.measure.upper() == n.measure.upper())
        & (ha.period_type == str(PeriodType.FINANCIAL_YEAR))
        & ha.period.isin(periods)
    )
    # England's rate per sex and age band in the same year, from every cell whose events are known
    known = ha.filter(ha.events.notnull() & ha.population.notnull())
    ref = known.group_by(["period", "sex", "age_band"]).aggregate(
        ref_events=_exact_sum(known.events), ref_population=_exact_sum(known.population)
    )
    ref = ref.select(
        "period", "sex", "age_band",
        rate=ibis.ifelse(ref.ref_population > 0, ref.ref_events / ref.ref_population, 0.0),
    )
    x = ha.left_join(ref, ["period", "sex", "age_band"]).select(ha, "rate")
    if n.suppressed_cells == "exclude":
        # a suppressed cell's count is unknown: leave it out of observed and expected alike
        x = x.filter(x.events.notnull())
    # a cell with no known events anywhere has no England rate: its expected count is unknown (null)
    expected_cell = x.population * x.rate
    obs = x.group_by(["practice_code", "period"]).aggregate(
        numerator=_strict_sum(x, x.events), denominator=_strict_sum(x, expected_cell)
    )
    return _grid_with(e, periods, obs)


# ------------------------------------------------------------------------------------------ driver


def _source_periods(e: Engine, d: IndicatorDefinition) -> list[str]:
    """The periods of the indicator's own type that its source covers, within the definition's range."""
    n = d.numerator
    if isinstance(n, PrescribingSpec):
        labels = e.periods_of("prescribing")
    elif isinstance(n, HospitalSpec):
        labels = e.periods_of("hospital_activity")
    elif isinstance(n, MeasureValueSpec):
        labels = e.periods_of("measure_value", n.dataset_name)
    else:  # pragma: no cover - the model refuses other numerators
        raise ComputeError(f"{d.id}: unsupported numerator source {n.source}")
    out = []
    for label in labels:
        try:
            p = parse_period(label)
        except ValueError:
            continue  # a label of another shape cannot be this indicator's period
        if p.type != d.period_type or not d.periods.contains(label):
            continue
        codes = n.codes_by_period if isinstance(n, MeasureValueSpec) else None
        if codes is not None and not any(c.range.contains(label) for c in codes):
            continue
        out.append(label)
    return out


def _complete_fys(months: list[str]) -> dict[str, list[str]]:
    """Financial years all of whose twelve months are in ``months`` -> those months."""
    have = set(months)
    out: dict[str, list[str]] = {}
    for y in sorted({parse_period(m).start.year - (parse_period(m).start.month < 4) for m in months}):
        ms = months_of_fy(y)
        if have.issuperset(ms):
            out[f"FY{y}/{(y + 1) % 100:02d}"] = ms
    return out


def _weights_for(facts: Facts, d: IndicatorDefinition, vintage_override: str | None) -> tuple[pd.DataFrame, str]:
    """The weights table (sex, age_band, weight) for a STAR-PU rate, from the store if it has them."""
    s = d.standardisation
    if s.method == "none":
        return pd.DataFrame(columns=["sex", "age_band", "weight"]), "none"
    assert s.scheme is not None and s.vintage is not None
    vintage = vintage_override or s.vintage
    stored = facts.stored_weights(s.scheme, vintage)
    origin = "store"
    if stored.empty:
        stored, origin = wt.shipped_weights(), "shipped"
    try:
        wt.check_complete(stored, s.scheme, vintage)
    except ValueError as exc:
        raise ComputeError(f"{d.id}: {exc}") from None
    w = stored[(stored.scheme == s.scheme) & (stored.vintage == vintage)]
    return w[["sex", "age_band", "weight"]].reset_index(drop=True), f"{s.scheme} {vintage} ({origin})"


def check_source(defs: Sequence[IndicatorDefinition], facts: Facts) -> None:
    """Refuse, before computing anything, definitions the source cannot serve: BNF prefixes that summed
    prescribing months dropped, or registrations in age bands the STAR-PU mapping does not know."""
    refuse_unserved(defs, facts.summed_months())
    if not any(isinstance(d.denominator, RegistrationsSpec) for d in defs):
        return
    unknown = sorted(b for b in facts.age_bands() if b not in wt.AGE_BAND_TO_STAR_PU)
    if unknown:
        raise ComputeError(
            f"practice_population has age bands the STAR-PU mapping does not know: {', '.join(unknown)}"
        )


def indicator_expressions(
    e: Engine,
    d: IndicatorDefinition,
    star_pu_vintage: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> list[ir.Table]:
    """The ibis expressions (one per period type) giving indicator ``d``'s rows on engine ``e``."""
    periods = _source_periods(e, d)
    n = d.numerator
    if isinstance(n, PrescribingSpec):
        weights = None
        if isinstance(d.denominator, RegistrationsSpec):
            weights, used = _weights_for(e.facts, d, star_pu_vintage)
            if parameters is not None:
                parameters[d.id] = {"weights": used}
        months = _prescribing_months(e, d, periods, weights)
        out = [_finish(months, d, str(PeriodType.MONTH))]
        if PeriodType.FINANCIAL_YEAR in d.derived_period_types:
            fys = _complete_fys(periods)
            out.append(_finish(_roll_up_to_fy(e, d, months, fys), d, str(PeriodType.FINANCIAL_YEAR)))
        return out
    if isinstance(n, HospitalSpec):
        return [_finish(_hospital_years(e, d, periods), d, str(PeriodType.FINANCIAL_YEAR))]
    if isinstance(n, MeasureValueSpec):
        weighted = d.value_type == ValueType.WEIGHTED_PROPORTION
        t = _measure_value_years(e, d, periods)
        return [_finish(t, d, str(PeriodType.FINANCIAL_YEAR), with_effective_n=weighted)]
    raise ComputeError(f"{d.id}: unsupported numerator source {n.source}")  # pragma: no cover


def indicator_expression(
    e: Engine,
    d: IndicatorDefinition,
    star_pu_vintage: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> ir.Table:
    """All of indicator ``d``'s rows as one ordered expression (its own period type first).

    One query rather than one per period type, so that DuckDB computes the monthly grid that the
    financial years roll up from once.
    """
    parts = [
        x.mutate(_k=ibis.literal(k)) for k, x in enumerate(indicator_expressions(e, d, star_pu_vintage, parameters))
    ]
    union = functools.reduce(lambda a, b: a.union(b, distinct=False), parts)
    return union.order_by(["_k", "period", "practice_code"]).drop("_k")


def empty_result() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator_id": pd.Series(dtype="str"),
            "practice_code": pd.Series(dtype="str"),
            "period": pd.Series(dtype="str"),
            "period_type": pd.Series(dtype="str"),
            "numerator": pd.Series(dtype="float64"),
            "denominator": pd.Series(dtype="float64"),
            "value": pd.Series(dtype="float64"),
            "effective_n": pd.Series(dtype="float64"),
            "definition_version": pd.Series(dtype="int64"),
        }
    )


def _tidy(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_result()
    df = pd.concat(frames, ignore_index=True)[list(OUTPUT_COLUMNS)]
    return df.astype(
        {
            "indicator_id": "str", "practice_code": "str", "period": "str", "period_type": "str",
            "numerator": "float64", "denominator": "float64", "value": "float64", "effective_n": "float64",
            "definition_version": "int64",
        }
    )


def select_definitions(
    indicator_ids: list[str] | None, definitions_dir: Path | None
) -> list[IndicatorDefinition]:
    """The chosen definitions (all installed ones when ``indicator_ids`` is None), in definition order."""
    try:
        return select(load_definitions(definitions_dir), indicator_ids)
    except KeyError as exc:
        raise ComputeError(str(exc.args[0])) from None


def compute_indicators(
    store: Any,
    indicator_ids: list[str] | None = None,
    engine: str = "duckdb",
    definitions_dir: Path | None = None,
    *,
    star_pu_vintage: str | None = None,
    spark: Any = None,
) -> pd.DataFrame:
    """Practice × period values of the chosen indicators (all when ``indicator_ids`` is None).

    Returns one row per indicator × practice × period on the explicit grid, with columns
    :data:`OUTPUT_COLUMNS`. ``engine`` is ``duckdb`` (default) or ``spark`` (``spark`` may pass a
    SparkSession; otherwise a local one is started). ``definitions_dir`` adds or overrides definitions;
    ``star_pu_vintage`` overrides the STAR-PU vintage of every weighted rate (e.g. ``"2009"``).
    ``df.attrs["parameters"]`` records the weights used per indicator. (To compute in Spark from a
    Parquet lake, with no store, see :func:`gpscale.indicators.lake_source.lake_indicators`.)
    """
    if engine not in ENGINES:
        raise ComputeError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    defs = select_definitions(indicator_ids, definitions_dir)
    con, owned = _store_connection(store)
    workdir: str | None = None
    try:
        check_source(defs, StoreFacts(con))
        if engine == "duckdb":
            e = _duckdb_engine(con)
        else:
            workdir = tempfile.mkdtemp(prefix="gpscale-spark-")
            e = _spark_engine(con, spark, needed_tables(defs), workdir)
        parameters: dict[str, Any] = {}
        frames = []
        for d in defs:  # in definition order; each indicator's rows come ordered from the engine
            expr = indicator_expression(e, d, star_pu_vintage, parameters)
            # via Arrow: ibis's own pandas conversion costs as much again as the query on large results
            frames.append(e.con.to_pyarrow(expr).to_pandas())
        out = _tidy(frames)
        out.attrs["parameters"] = {"engine": engine, **parameters}
        return out
    finally:
        owned.close()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def summed_months(con: duckdb.DuckDBPyConnection) -> list[SummedMonth]:
    """The months the store holds as prescribing sums (none in a store from before issue 17)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'prescribing_aggregate'"
    ).fetchall()[0][0]
    if not exists:
        return []
    rows = con.execute(
        """SELECT a.period, a.code_prefixes, a.definitions, a.code_fingerprint, l.file_name
        FROM prescribing_aggregate a JOIN ingest_log l USING (ingest_id) WHERE l.status = 'loaded'"""
    ).fetchall()
    return [SummedMonth(str(p), tuple(c), tuple(d), str(f), str(n)) for p, c, d, f, n in rows]


def refuse_unserved(defs: Sequence[IndicatorDefinition], months: Sequence[SummedMonth]) -> None:
    """Raise ComputeError if a definition needs BNF prefixes that summed prescribing months dropped."""
    problems = refusals(defs, months)
    if problems:
        raise ComputeError("; ".join(problems))


def needed_tables(defs: Iterable[IndicatorDefinition]) -> set[str]:
    """The :data:`STORE_TABLES` the definitions read."""
    need = {"practice"}
    for d in defs:
        for s in (d.numerator, d.denominator):
            if isinstance(s, PrescribingSpec):
                need.add("prescribing")
            elif isinstance(s, RegistrationsSpec):
                need.add("practice_population")
            elif isinstance(s, HospitalSpec | ExpectedSpec):
                need.add("hospital_activity")
            elif isinstance(s, MeasureValueSpec):
                need.add("measure_value")
    return need
