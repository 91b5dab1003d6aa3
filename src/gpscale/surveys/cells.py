"""Breakdowns of respondents into cells, their sums, and disclosure control applied to every cell.

A *breakdown* is the list of cross-classifications a table publishes, e.g. overall and by role, or
overall, by role, by group, by group and role, and by site within group. Every analysis first fixes its
base (the respondents a statistic is about), sums per cell, then asks :mod:`gpscale.disclosure` for a
suppression plan over exactly the breakdowns it will publish, and nulls hidden cells before anything
leaves the function. Tables, charts and downloads are all built from these already-suppressed tables, so
a hidden cell cannot reappear in any of them.

A missing value of a breakdown dimension (say, role not given) becomes its own category ``not_stated``
rather than being dropped, so the parts of every total add up to the total: a silently dropped group
would otherwise be the total minus the parts, a cell revealed by subtraction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from gpscale import disclosure
from gpscale.disclosure import TOTAL, SuppressionPlan
from gpscale.surveys.codebook import BandDerived, Codebook, SingleChoice

NOT_STATED: Final = "not_stated"
NOT_STATED_LABEL: Final = "Not stated"
#: internal sum columns; never published
SUM_COLUMNS: Final = ("sw", "sw2", "swy", "swy2")


@dataclass(frozen=True)
class Breakdown:
    """The dimensions of a table and the cross-classifications of them it publishes (``()`` = overall)."""

    dims: tuple[str, ...]
    groupings: tuple[tuple[str, ...], ...]

    @staticmethod
    def overall() -> Breakdown:
        return Breakdown((), ((),))

    @staticmethod
    def by(dim: str) -> Breakdown:
        """Overall plus one row per value of ``dim``."""
        return Breakdown((dim,), ((), (dim,)))


def prepare(frame: pd.DataFrame, dims: Sequence[str]) -> pd.DataFrame:
    """Copy of ``frame`` with each dimension as text and missing values as :data:`NOT_STATED`."""
    out = frame.copy()
    for d in dims:
        out[d] = out[d].astype("string").fillna(NOT_STATED).astype(str)
    return out


def cell_sums(df: pd.DataFrame, breakdown: Breakdown, columns: Sequence[str]) -> pd.DataFrame:
    """Per published cell: the dimensions (``All`` for margins), ``level``, ``n`` and the sums of ``columns``.

    ``df`` holds the base respondents only, with text dimension columns (see :func:`prepare`). Cells come
    grouping by grouping, each sorted by its dimension values; cells with no respondents do not exist.
    """
    cols = list(columns)
    dims = list(breakdown.dims)
    values = np.column_stack([np.ones(len(df)), *(df[c].to_numpy(dtype=float) for c in cols)]).reshape(
        len(df), len(cols) + 1
    )
    factors = {d: pd.factorize(df[d].astype(str), sort=True) for d in dims}
    out: dict[str, list[np.ndarray]] = {k: [] for k in [*dims, "level", "n", *cols]}
    for g in breakdown.groupings:
        if len(df) == 0:
            continue
        if g:
            shape = tuple(len(factors[d][1]) for d in g)
            combined = np.ravel_multi_index(tuple(factors[d][0] for d in g), shape)
            keys, inverse = np.unique(combined, return_inverse=True)
            positions = np.unravel_index(keys, shape)
        else:
            keys, inverse, positions = np.zeros(1, dtype=int), np.zeros(len(df), dtype=int), ()
        sums = np.zeros((len(keys), values.shape[1]))
        np.add.at(sums, inverse.ravel(), values)
        for d in dims:
            if d in g:
                out[d].append(np.asarray(factors[d][1], dtype=object)[positions[g.index(d)]])
            else:
                out[d].append(np.full(len(keys), TOTAL, dtype=object))
        out["level"].append(np.full(len(keys), "+".join(g) if g else TOTAL, dtype=object))
        out["n"].append(np.rint(sums[:, 0]).astype(np.int64))
        for j, c in enumerate(cols, start=1):
            out[c].append(sums[:, j])
    frame = {
        k: (np.concatenate(v) if v else np.array([], dtype=object if k in (*dims, "level") else float))
        for k, v in out.items()
    }
    result = pd.DataFrame(frame)
    result["n"] = result["n"].astype(np.int64)
    return result


_PLAN_CACHE: dict[tuple[object, ...], SuppressionPlan] = {}
_PLAN_CACHE_SIZE = 512


def plan(df: pd.DataFrame, breakdown: Breakdown) -> SuppressionPlan:
    """Suppression plan for the base respondents ``df`` over the breakdown's published cells.

    Plans depend only on the dimension values of the base, so analyses that share a base (the mean and
    the share of one domain, say) share one plan; a small cache keyed on a hash of those values saves
    recomputing it.
    """
    dims = list(breakdown.dims)
    digest = (
        hashlib.sha1(pd.util.hash_pandas_object(df[dims], index=False).to_numpy().tobytes()).hexdigest() if dims else ""
    )
    key = (breakdown, len(df), digest)
    cached = _PLAN_CACHE.get(key)
    if cached is not None:
        return cached
    base = df[dims].copy()
    base["n"] = 1
    result = disclosure.plan_suppression(
        base, breakdown.dims, breakdown.groupings, "n", disclosure.SURVEY_MIN_RESPONDENTS
    )
    if len(_PLAN_CACHE) >= _PLAN_CACHE_SIZE:
        _PLAN_CACHE.clear()
    _PLAN_CACHE[key] = result
    return result


def publish(
    table: pd.DataFrame,
    suppression: SuppressionPlan,
    value_columns: Sequence[str],
    method: str,
    confidence: float | None,
) -> pd.DataFrame:
    """Hide the cells the plan suppresses, drop internal sums, and label method, confidence and rule."""
    out = suppression.apply(table, [c for c in value_columns if c in table.columns])
    out = out.drop(columns=[c for c in SUM_COLUMNS if c in out.columns])
    out["method"] = method
    out["confidence"] = confidence if confidence is not None else np.nan
    out["suppression_rule"] = suppression.rule
    return out


def add_labels(table: pd.DataFrame, codebook: Codebook, dims: Sequence[str]) -> pd.DataFrame:
    """Add ``<dim>_label`` after each dimension column (codebook labels; ``All``; ``Not stated``)."""
    out = table.copy()
    for d in dims:
        labels: dict[str, str] = {TOTAL: TOTAL, NOT_STATED: NOT_STATED_LABEL}
        if codebook.has(d) and isinstance(codebook.question(d), SingleChoice | BandDerived):
            labels.update({o.code: o.display for o in codebook.categories(d)})
        values = out[d].astype(str)
        out.insert(out.columns.get_loc(d) + 1, f"{d}_label", values.map(labels).fillna(values))
    return out


def weights_and_y(df: pd.DataFrame, y: pd.Series | np.ndarray, weight: str) -> pd.DataFrame:
    """Add the sum columns ``sw``, ``sw2``, ``swy``, ``swy2`` for the value ``y`` and weight column."""
    out = df.copy()
    w = out[weight].to_numpy(dtype=float)
    yy = np.asarray(y, dtype=float)
    out["sw"] = w
    out["sw2"] = w * w
    out["swy"] = w * yy
    out["swy2"] = w * yy * yy
    return out


def category_order(codes: Sequence[str]) -> dict[str, int]:
    """Sort key putting ``All`` first, then the codebook order, then ``not_stated``."""
    order = {TOTAL: -1}
    order.update({c: i for i, c in enumerate(codes)})
    order[NOT_STATED] = len(codes)
    return order


def sort_cells(table: pd.DataFrame, orders: dict[str, dict[str, int]], extra: Sequence[str] = ()) -> pd.DataFrame:
    """Sort a breakdown table by each dimension's category order (then ``extra`` columns)."""
    keys = []
    tmp = table.copy()
    for d, order in orders.items():
        k = f"__order_{d}"
        tmp[k] = tmp[d].astype(str).map(order).fillna(len(order) + 1)
        keys.append(k)
        keys.append(d)
    tmp = tmp.sort_values([*keys, *extra], kind="stable")
    return tmp.drop(columns=[k for k in keys if k.startswith("__order_")]).reset_index(drop=True)
