"""The disclosure gate: every rule applied once, to every table of a results bundle, before anything is written.

A table is declared by a :class:`TableSpec` (name, columns, key, which columns are counts, which family
of counts its rows carry and which other columns go with a hidden cell). :func:`disclose` takes the raw
tables and their specs and returns a :class:`Disclosed`: the same tables with hidden cells as nulls,
a ``suppressed`` flag and ``suppression`` reason on every row of a counted table, and a log of every
hidden cell and why. Nothing else makes a :class:`Disclosed`, and the bundle writer accepts nothing else.

Families (:class:`~gpscale.disclosure.vocabulary.CellFamily`): the ``source`` table of a family defines
its cells (``practice_values`` for practices, ``scorecard`` for groups and England); the decision is
taken on those cells together, with every sum that links them (group = its members, England = every
practice, a year = its months; see :mod:`gpscale.disclosure.pooled`), and applied to every table of the
family, so the same cells are hidden in every table, page, chart and download. Counted tables outside
a family get the primary count rule on each count column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from gpscale.disclosure.pooled import ENTITY_KEY, decide_pooled
from gpscale.disclosure.rules import (
    COUNT_THRESHOLD,
    REASON_COLUMN,
    SUPPRESSED_COLUMN,
    SURVEY_MIN_RESPONDENTS,
    _null_where,
    count_rule,
    survey_rule,
)
from gpscale.disclosure.vocabulary import CellFamily, HideRule

#: Columns of the disclosure log (one row per hidden cell).
LOG_COLUMNS = ["family", "unit_id", "indicator_id", "period", "rule"]
_SECRET = object()


@dataclass(frozen=True)
class TableSpec:
    """What the gate (and a reader) needs to know about one bundle table.

    ``counts``: columns holding counts of people or events, plain or weighted, numerators and
    denominators alike. ``protect``: further columns that would reveal a hidden cell (values, intervals,
    limits that depend on the denominator) and are nulled with it. ``unit``: the column naming the unit
    of a family's cell (``practice_code`` or ``entity_id``/``group_id``). ``source``: this table's counts
    define the family's cells. ``threshold``: the primary threshold for counts outside a family.
    ``period``: the column naming the cell's period (a forecast row names the year its cells were
    observed in, not the year forecast). ``also``: further (family, unit column, period column) cells a
    row's values also depend on (a member's "network without it" figures depend on the member's cell and
    on the network's); the row is hidden when any of its cells is (a null unit there means the row has no
    such cell).
    """

    name: str
    description: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    family: CellFamily = CellFamily.NONE
    unit: str = ""
    counts: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    source: bool = False
    threshold: int = COUNT_THRESHOLD
    also: tuple[tuple[CellFamily, str, str], ...] = ()
    period: str = "period"

    @property
    def gated(self) -> bool:
        """True when the gate may hide rows of this table (it then carries suppressed/suppression columns)."""
        return self.family is not CellFamily.NONE or bool(self.counts)

    @property
    def written_columns(self) -> tuple[str, ...]:
        extra = [c for c in (SUPPRESSED_COLUMN, REASON_COLUMN) if self.gated and c not in self.columns]
        return (*self.columns, *extra)

    def describe(self) -> dict[str, Any]:
        return {"description": self.description, "key": list(self.key), "family": self.family.value,
                "unit": self.unit, "counts": list(self.counts), "protect": list(self.protect),
                "source": self.source, "also": [[f.value, u, p] for f, u, p in self.also]}


@dataclass(frozen=True)
class Disclosed:
    """Tables that have passed the gate, with the log of what it hid. Only :func:`disclose` makes one."""

    tables: Mapping[str, pd.DataFrame]
    specs: Mapping[str, TableSpec]
    log: pd.DataFrame
    summary: dict[str, Any]
    _token: object = field(repr=False, default=None)

    def __post_init__(self) -> None:
        if self._token is not _SECRET:
            raise TypeError("a Disclosed is made only by gpscale.disclosure.disclose")


def require_disclosed(obj: object, what: str) -> Disclosed:
    """``obj`` if it passed the gate; otherwise TypeError (writers call this on their input)."""
    if not isinstance(obj, Disclosed):
        raise TypeError(f"{what} accepts only results that passed the disclosure gate "
                        f"(gpscale.disclosure.disclose), not {type(obj).__name__}")
    return obj


def _cell_keys(left: list[pd.Series], right: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row of two sides' key columns, equal exactly when the rows' values as text are.

    A row with a missing value in any key column gets -1 on either side (as the text cell key a missing
    part makes missing, such rows match one another). Codes are refactorised after each column, so they
    stay below the row count and the combined key cannot overflow.
    """
    n_left = len(left[0])
    key = np.zeros(n_left + len(right[0]), dtype=np.int64)
    missing = np.zeros(key.size, dtype=bool)
    for a, b in zip(left, right, strict=True):
        codes, uniq = pd.factorize(pd.concat([a.astype(str), b.astype(str)], ignore_index=True))
        missing |= codes < 0
        key = pd.factorize(key * (len(uniq) + 1) + codes + 1)[0].astype(np.int64)
    key[missing] = -1
    return key[:n_left], key[n_left:]


def disclose(
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, TableSpec],
    *,
    value_types: Mapping[str, str],
    members: pd.DataFrame,
    threshold: int = COUNT_THRESHOLD,
) -> Disclosed:
    """Apply every rule to ``tables`` (see the module notes) and return them disclosed, with the log.

    ``value_types`` maps indicator IDs to their value type (which counts are counts); ``members`` is the
    membership the group rows were pooled over (group_id, practice_code, period).
    """
    unknown = sorted(set(tables) - set(specs))
    if unknown:
        raise ValueError(f"tables not declared in the bundle registry: {', '.join(unknown)}")
    for name, frame in tables.items():
        missing = [c for c in specs[name].columns if c not in frame.columns]
        extra = [c for c in frame.columns if c not in specs[name].columns]
        if missing or extra:
            raise ValueError(f"table {name}: columns differ from its declaration (missing {missing}, "
                             f"undeclared {extra})")
    decisions: dict[CellFamily, pd.DataFrame] = {}
    sources = {s.family: n for n, s in specs.items() if s.source and n in tables}
    practice = tables.get(sources.get(CellFamily.PRACTICE, ""), pd.DataFrame())
    entity = tables.get(sources.get(CellFamily.ENTITY, ""), pd.DataFrame())
    audited, unaudited = 0, []
    if not practice.empty or not entity.empty:
        p_cols = ["indicator_id", "practice_code", "period", "period_type", "numerator", "denominator"]
        p = practice[[*p_cols, *(["effective_n"] if "effective_n" in practice.columns else [])]] \
            if not practice.empty else pd.DataFrame(columns=p_cols)
        e_cols = ["entity_type", "entity_id", "indicator_id", "period", "period_type", "numerator", "denominator"]
        e = entity[e_cols].drop_duplicates(ENTITY_KEY) if not entity.empty else pd.DataFrame(columns=e_cols)
        res = decide_pooled(p, e, members, dict(value_types), threshold)
        audited, unaudited = res.audited_blocks, res.unaudited_blocks
        decisions[CellFamily.PRACTICE] = pd.DataFrame({
            "hidden": res.practice_hidden, "rule": res.practice_rule,
            "unit_id": p["practice_code"].astype(str).to_numpy(),
            "indicator_id": p["indicator_id"].astype(str).to_numpy(), "period": p["period"].astype(str).to_numpy()})
        decisions[CellFamily.ENTITY] = pd.DataFrame({
            "hidden": res.entity_hidden, "rule": res.entity_rule, "unit_id": e["entity_id"].astype(str).to_numpy(),
            "indicator_id": e["indicator_id"].astype(str).to_numpy(), "period": e["period"].astype(str).to_numpy()})
    out: dict[str, pd.DataFrame] = {}
    per_table: dict[str, dict[str, int]] = {}
    for name, frame in tables.items():
        spec = specs[name]
        frame = frame[list(spec.columns)]
        if not spec.gated:
            out[name] = frame.reset_index(drop=True)
            continue
        if spec.family is not CellFamily.NONE:
            hide, why = _family_rows(frame, spec, decisions.get(spec.family))
            for fam, unit, period in spec.also:
                has = frame[unit].notna().to_numpy()
                more, reason = _family_rows(frame, replace(spec, unit=unit, family=fam, period=period),
                                            decisions.get(fam))
                more &= has
                why = np.where(~hide & more, reason, why)
                hide = hide | more
        else:
            hide, why = _flat_rows(frame, spec)
        masked = frame.reset_index(drop=True).copy()
        if SUPPRESSED_COLUMN in masked.columns:  # hidden by an earlier plan (survey tables): stays hidden
            before = masked[SUPPRESSED_COLUMN].fillna(False).astype(bool).to_numpy()
            prior = masked[REASON_COLUMN].fillna("").astype(str).to_numpy() if REASON_COLUMN in masked else ""
            why = np.where(before & ~hide, prior, why).astype(object)
            hide = hide | before
        mask = pd.Series(hide, index=masked.index)
        for col in (*spec.counts, *spec.protect):
            if col in masked.columns:
                masked[col] = _null_where(masked[col], mask)
        masked[SUPPRESSED_COLUMN] = hide
        masked[REASON_COLUMN] = why
        out[name] = masked
        per_table[name] = {str(r): int(n) for r, n in pd.Series(why[hide]).value_counts().items()}
    log_parts = [d.loc[d["hidden"], ["unit_id", "indicator_id", "period", "rule"]].assign(family=f.value)
                 for f, d in decisions.items()]
    log = pd.concat(log_parts, ignore_index=True)[LOG_COLUMNS] if log_parts else pd.DataFrame(columns=LOG_COLUMNS)
    summary = {
        "threshold": threshold, "survey_min_respondents": SURVEY_MIN_RESPONDENTS,
        "rules": {"counts": count_rule(threshold), "surveys": survey_rule()},
        "hidden_cells_by_rule": {f"{fam}: {rule}": int(n) for (fam, rule), n in
                                 log.groupby(["family", "rule"]).size().items()},
        "hidden_rows_by_table": per_table,
        "audit": {"blocks_audited": audited, "blocks_not_audited": unaudited},
    }
    return Disclosed(out, dict(specs), log, summary, _SECRET)


def _family_rows(frame: pd.DataFrame, spec: TableSpec, decision: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Hidden flag and reason of each row of a family table, from the family's cell decisions."""
    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=object)
    if decision is None or decision.empty:
        known = np.zeros(n, dtype=bool)
        hide = np.zeros(n, dtype=bool)
        why = np.full(n, "", dtype=object)
    else:
        # a row's cell is (unit, indicator, period); the family's first decision on that cell applies
        cell, wanted = _cell_keys([decision[c] for c in ("unit_id", "indicator_id", "period")],
                                  [frame[c] for c in (spec.unit, "indicator_id", spec.period)])
        decided, first = np.unique(cell, return_index=True)
        at = np.minimum(np.searchsorted(decided, wanted), decided.size - 1)
        known = decided[at] == wanted
        row = first[at]
        hide = known & decision["hidden"].to_numpy(bool)[row]
        why = np.where(known, decision["rule"].to_numpy(object)[row], "").astype(object)
    # a row carrying counts or protected values for a cell the source does not have is hidden: an
    # unplanned cell is exactly how a hidden value leaks
    carried = frame[[c for c in (*spec.counts, *spec.protect) if c in frame.columns]].notna().any(axis=1)
    unplanned = ~known & carried.to_numpy(bool)
    hide = hide | unplanned
    why = np.where(unplanned, HideRule.UNPLANNED.value, why)
    return hide, why.astype(object)


def _flat_rows(frame: pd.DataFrame, spec: TableSpec) -> tuple[np.ndarray, np.ndarray]:
    """Primary rule on each count column of a table outside any family."""
    counts = frame[list(spec.counts)].apply(pd.to_numeric, errors="coerce")
    hide = ((counts > 0) & (counts < spec.threshold)).any(axis=1).to_numpy()
    rule = HideRule.SURVEY_BASE if spec.threshold == SURVEY_MIN_RESPONDENTS else HideRule.COUNT
    return hide, np.where(hide, rule.value, "").astype(object)



def extend(disclosed: Disclosed, tables: Mapping[str, pd.DataFrame]) -> Disclosed:
    """Add tables computed from disclosed ones (they carry no counts, so the gate has nothing to hide in them).

    Each must be declared in ``disclosed.specs`` with no family and no count columns; anything else must
    go through :func:`disclose` with the rest.
    """
    disclosed = require_disclosed(disclosed, "extend")
    added: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        spec = disclosed.specs.get(name)
        if spec is None:
            raise ValueError(f"table {name} is not declared in the bundle registry")
        if spec.gated:
            raise ValueError(f"table {name} carries counts: it must pass through disclose(), not extend()")
        if list(frame.columns) != list(spec.columns):
            raise ValueError(f"table {name}: columns {list(frame.columns)} differ from its declaration")
        added[name] = frame.reset_index(drop=True)
    return Disclosed({**disclosed.tables, **added}, disclosed.specs, disclosed.log, disclosed.summary, _SECRET)
