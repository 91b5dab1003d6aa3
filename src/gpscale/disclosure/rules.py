"""Disclosure rules: thresholds, primary and complementary suppression of breakdown tables, the audit.

Two thresholds, named here and nowhere else:

* :data:`COUNT_THRESHOLD` (5): counts of 1 to 4 in indicator tables (numerators, events, patients in a
  cell) are suppressed, the usual rule for NHS published statistics at practice level.
* :data:`SURVEY_MIN_RESPONDENTS` (10): a survey cell (a breakdown of respondents, such as "nurses in
  group G") is hidden when fewer than 10 respondents answered, as staff and patient surveys do.

Hiding the small cell is *primary* suppression. It is not enough on its own: if a table shows a total
and all but one of its parts, the hidden part is the total minus the others. *Complementary* (secondary)
suppression hides further cells so that no hidden cell can be worked out by subtraction from any
combination of the published cells (every filter a reader can apply). :func:`plan_suppression` does both,
over all the breakdowns a table or a dashboard publishes:

1. Every published cell with ``0 < count < threshold`` is hidden (primary).
2. Each published breakdown is an equation: a cell equals the sum of its parts in any finer published
   breakdown (``total = sum of roles``, ``group = sum of its sites``...). In every such equation either
   nothing is hidden, or at least two cells are hidden and the hidden parts together hold at least
   ``threshold`` respondents (so the pair cannot be read as one small group either). Where that fails the
   smallest visible part (or, failing that, the total) is hidden too, and the rule is re-applied until
   nothing changes. This is the "hypercube" heuristic used by statistical offices (Giessing & Repsilber,
   *Tools and strategies to protect multiple tables with the GHQUAR cell suppression engine*, 2002).
3. An audit then attacks the result with linear algebra (Gauss-Jordan elimination): a hidden cell is
   revealed if its indicator vector over the finest cells lies in the span of the visible cells (any sum
   and difference of published cells, not just one equation at a time). Revealed cells get one more visible cell hidden,
   chosen among those the attack used, and steps 2-3 repeat. Tables with more than
   :data:`AUDIT_MAX_UNKNOWN_CELLS` unknown finest cells skip the audit and say so in the plan.

Zero cells (no respondents) are not cells: they have nothing to hide and are treated as known zeros.
Suppressed values become nulls (never zeros) and each row says why it is hidden.

Entry points: :func:`plan_suppression` (survey tables and any breakdown family, with the audit) and
:func:`suppress_small_counts` (a flat table with no totals). National indicator counts published with
their group, England and financial-year sums are decided by :mod:`gpscale.disclosure.pooled` (the same
equation rule, vectorised, with a blockwise audit) through the gate (:mod:`gpscale.disclosure.gate`).
:func:`attack` and :func:`recover_by_subtraction` are the attackers tests
use to prove a pattern safe.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

#: Counts in indicator tables from 1 to ``COUNT_THRESHOLD - 1`` are suppressed.
COUNT_THRESHOLD: Final = 5
#: A survey cell with fewer respondents than this is hidden everywhere (tables, charts, downloads).
SURVEY_MIN_RESPONDENTS: Final = 10
#: Label of a margin ("all values of this dimension") in the dimension columns of a breakdown table.
TOTAL: Final = "All"
#: Reasons a row can be hidden, as written in the ``suppression`` column.
PRIMARY: Final = "primary"
COMPLEMENTARY: Final = "complementary"
#: Above this many unknown finest cells the linear-algebra audit is skipped (it needs an SVD).
AUDIT_MAX_UNKNOWN_CELLS: Final = 4000

SUPPRESSED_COLUMN: Final = "suppressed"
REASON_COLUMN: Final = "suppression"


def count_rule(threshold: int = COUNT_THRESHOLD) -> str:
    """Plain-English statement of the count rule, for table footnotes and the ``suppression_rule`` column."""
    return (
        f"counts of 1 to {threshold - 1} suppressed, with complementary suppression so that no suppressed "
        "count can be recovered by subtraction from totals"
    )


def survey_rule(threshold: int = SURVEY_MIN_RESPONDENTS) -> str:
    """Plain-English statement of the survey rule, for table footnotes and the ``suppression_rule`` column."""
    return (
        f"cells with fewer than {threshold} respondents hidden; further cells hidden (complementary "
        "suppression) so that no hidden cell can be worked out from totals by subtraction"
    )


def suppress_small_counts(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    value_columns: Sequence[str] = (),
    threshold: int = COUNT_THRESHOLD,
    suppress_zero: bool = False,
) -> pd.DataFrame:
    """Primary suppression of a flat table: rows with any count in ``[1, threshold)`` are nulled.

    The counts and ``value_columns`` of those rows become nulls (never zeros) and the result gains a
    boolean ``suppressed`` column and a ``suppression`` reason column. Use this only for tables with no
    published totals; where totals or other breakdowns are published use :func:`plan_suppression`, which
    also protects against subtraction.
    """
    out = frame.copy()
    counts = out[list(count_columns)].apply(pd.to_numeric, errors="coerce")
    low = 0 if suppress_zero else 1
    hide = ((counts >= low) & (counts < threshold)).any(axis=1)
    cols = list(count_columns) + [c for c in value_columns if c not in count_columns]
    for col in cols:
        out[col] = _null_where(out[col], hide)
    out[SUPPRESSED_COLUMN] = hide.to_numpy()
    out[REASON_COLUMN] = np.where(hide.to_numpy(), PRIMARY, "")
    return out


@dataclass(frozen=True)
class AuditResult:
    """Outcome of the linear-algebra subtraction attack on a suppression pattern."""

    ran: bool
    revealed: int
    detail: str


@dataclass(frozen=True)
class SuppressionPlan:
    """Which published cells of a family of breakdowns are hidden, and why.

    ``cells`` has one row per published cell: the dimension columns (``TOTAL`` where a breakdown does not
    split by that dimension), ``level`` (the dimensions the breakdown splits by, joined by ``+``, or
    ``TOTAL``), the count, ``suppressed`` and ``suppression`` (``primary``, ``complementary`` or empty).
    """

    dims: tuple[str, ...]
    count_column: str
    threshold: int
    cells: pd.DataFrame
    audit: AuditResult
    rule: str = ""
    #: finest cells (dimension values only) and, per level, the index in ``cells`` of each finest cell;
    #: kept so that :func:`attack` can re-run the subtraction attack on the finished plan
    finest: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    membership: tuple[np.ndarray, ...] = field(default=(), repr=False)

    @property
    def n_primary(self) -> int:
        return int((self.cells[REASON_COLUMN] == PRIMARY).sum())

    @property
    def n_complementary(self) -> int:
        return int((self.cells[REASON_COLUMN] == COMPLEMENTARY).sum())

    def apply(self, table: pd.DataFrame, value_columns: Sequence[str]) -> pd.DataFrame:
        """Null ``value_columns`` (and the count) of every row of ``table`` whose cell is hidden.

        ``table`` is keyed by the plan's dimension columns (several rows per cell are allowed, e.g. one
        per answer option). A row whose cell is not in the plan is a programming error and raises, because
        an unplanned cell is exactly how a hidden value leaks.
        """
        dims = list(self.dims)
        base = table.drop(columns=[c for c in (SUPPRESSED_COLUMN, REASON_COLUMN) if c in table.columns])
        lookup = {
            tuple(str(v) for v in key): (bool(hidden), str(reason))
            for *key, hidden, reason in self.cells[[*dims, SUPPRESSED_COLUMN, REASON_COLUMN]].itertuples(
                index=False, name=None
            )
        }
        columns = [base[d].astype(str).tolist() for d in dims]
        keys: list[tuple[str, ...]] = list(zip(*columns, strict=True)) if dims else [()] * len(base)
        found = [lookup.get(k) for k in keys]
        missing = sorted({k for k, f in zip(keys, found, strict=True) if f is None})
        if missing:
            raise ValueError(f"cells not covered by the suppression plan: {missing[:5]}")
        hide = np.array([f[0] for f in found if f is not None], dtype=bool)
        out = base.copy()
        mask = pd.Series(hide, index=out.index)
        for col in [self.count_column, *value_columns]:
            if col in out.columns:
                out[col] = _null_where(out[col], mask)
        out[SUPPRESSED_COLUMN] = hide
        out[REASON_COLUMN] = [f[1] for f in found if f is not None]
        return out


def _null_where(col: pd.Series, hide: pd.Series) -> pd.Series:
    """Set ``col`` to null where ``hide``; integer and boolean columns become their nullable dtypes."""
    if pd.api.types.is_bool_dtype(col.dtype):
        col = col.astype("boolean")
    elif pd.api.types.is_integer_dtype(col.dtype) and not isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
        col = col.astype("Int64")
    elif pd.api.types.is_float_dtype(col.dtype):
        return col.mask(hide.to_numpy(), np.nan)
    return col.mask(hide.to_numpy())


def plan_suppression(
    base: pd.DataFrame,
    dims: Sequence[str],
    groupings: Iterable[Sequence[str]],
    count_column: str = "n",
    threshold: int = SURVEY_MIN_RESPONDENTS,
    audit_max_unknown: int = AUDIT_MAX_UNKNOWN_CELLS,
) -> SuppressionPlan:
    """Primary and complementary suppression over every published breakdown of one statistic.

    ``base`` holds the counts at the finest level (one row per combination of ``dims`` that occurs; rows
    with the same combination are summed, zero rows dropped). ``groupings`` lists the breakdowns that will
    be published, each as the dimensions it splits by; ``()`` is the overall total. For example a staff
    survey published overall, by role, by group, by group and role, and by site within group has
    ``[(), ("role",), ("group",), ("group", "role"), ("group", "site")]``. A table or dashboard built on
    the plan must publish no breakdown outside this list, or the guarantee does not hold.
    """
    dims_t = tuple(dims)
    if len(set(dims_t)) != len(dims_t):
        raise ValueError(f"duplicate dimensions: {dims_t}")
    groups: list[tuple[str, ...]] = []
    for g in groupings:
        unknown = set(g) - set(dims_t)
        if unknown:
            raise ValueError(f"grouping {tuple(g)} uses dimensions not in {dims_t}: {sorted(unknown)}")
        ordered = tuple(d for d in dims_t if d in set(g))
        if ordered not in groups:
            groups.append(ordered)
    if not groups:
        raise ValueError("at least one grouping is needed")
    missing = [c for c in (*dims_t, count_column) if c not in base.columns]
    if missing:
        raise ValueError(f"base table lacks columns {missing}")

    keyed = pd.DataFrame({d: base[d].astype(str).to_numpy() for d in dims_t})
    for d in dims_t:
        if (keyed[d] == TOTAL).any():
            raise ValueError(f"dimension {d!r} has a real value equal to the margin label {TOTAL!r}")
    counts = pd.to_numeric(base[count_column], errors="raise").to_numpy(dtype=float)
    if (counts < 0).any():
        raise ValueError("counts must not be negative")
    keyed[count_column] = counts
    if dims_t:
        fine = keyed.groupby(list(dims_t), sort=True, as_index=False)[count_column].sum()
    else:
        fine = pd.DataFrame({count_column: [counts.sum()]})
    fine = fine[fine[count_column] > 0].reset_index(drop=True)
    n_base = len(fine)
    base_n = fine[count_column].to_numpy(dtype=float)

    # each grouping is a partition of the finest cells; cells are numbered globally across groupings
    cell_rows: list[dict[str, object]] = []
    membership: list[np.ndarray] = []
    offset = 0
    for g in groups:
        if g and n_base:
            grouped = fine.groupby(list(g), sort=True)
            codes = grouped.ngroup().to_numpy()
            keys = grouped.size().reset_index()[list(g)].to_dict("records")
        else:
            codes = np.zeros(n_base, dtype=int)
            keys = [{}] if n_base else []
        for key in keys:
            row: dict[str, object] = {d: key.get(d, TOTAL) for d in dims_t}
            row["level"] = "+".join(g) if g else TOTAL
            cell_rows.append(row)
        membership.append(codes.astype(np.int64) + offset)
        offset += len(keys)
    n_cells = offset
    cell_n = np.zeros(n_cells)
    depth = np.zeros(n_cells, dtype=int)
    for gi, codes in enumerate(membership):
        np.add.at(cell_n, codes, base_n)
        depth[codes] = len(groups[gi])

    equations = _equations(groups, membership)
    primary = (cell_n > 0) & (cell_n < threshold)
    hidden = primary.copy()
    audit = AuditResult(True, 0, "passed: no hidden cells")
    for _ in range(n_cells + 1):
        _enforce_equations(equations, hidden, cell_n, depth, threshold)
        if not hidden.any():
            break
        revealed, used, detail, ran = _linear_audit(membership, n_base, hidden, audit_max_unknown)
        audit = AuditResult(ran, len(revealed), detail)
        if not revealed:
            break
        candidates = [c for c in used if not hidden[c]]
        if not candidates:  # pragma: no cover - an attack always uses at least one visible cell
            raise RuntimeError("suppression audit found a revealed cell but no visible cell to hide")
        hidden[min(candidates, key=lambda c: (cell_n[c], -depth[c], c))] = True

    cells = pd.DataFrame(cell_rows, columns=[*dims_t, "level"])
    whole = bool(np.all(cell_n == np.round(cell_n)))
    cells[count_column] = cell_n.astype(np.int64) if whole else cell_n
    cells[SUPPRESSED_COLUMN] = hidden
    cells[REASON_COLUMN] = np.where(primary, PRIMARY, np.where(hidden, COMPLEMENTARY, ""))
    return SuppressionPlan(
        dims=dims_t,
        count_column=count_column,
        threshold=threshold,
        cells=cells,
        audit=audit,
        rule=survey_rule(threshold) if threshold == SURVEY_MIN_RESPONDENTS else count_rule(threshold),
        finest=fine[list(dims_t)].copy(),
        membership=tuple(membership),
    )


def _equations(groups: list[tuple[str, ...]], membership: list[np.ndarray]) -> list[tuple[int, list[int]]]:
    """Parent cell = sum of its parts, for each grouping and each finer grouping that refines it directly."""
    equations: list[tuple[int, list[int]]] = []
    sets = [set(g) for g in groups]
    for pi, ci in itertools.permutations(range(len(groups)), 2):
        if not sets[pi] < sets[ci]:
            continue
        # only direct refinements: the audit catches anything a longer chain could reveal
        if any(sets[pi] < sets[mi] < sets[ci] for mi in range(len(groups))):
            continue
        if membership[pi].size == 0:
            continue
        pairs = np.unique(np.stack([membership[pi], membership[ci]], axis=1), axis=0)
        splits = np.flatnonzero(np.diff(pairs[:, 0])) + 1
        for chunk in np.split(pairs, splits):
            equations.append((int(chunk[0, 0]), [int(c) for c in chunk[:, 1]]))
    return equations


def _enforce_equations(
    equations: list[tuple[int, list[int]]],
    hidden: np.ndarray,
    cell_n: np.ndarray,
    depth: np.ndarray,
    threshold: int,
) -> None:
    """Hide more cells until every equation has no hidden cell or a protected hidden set (in place).

    Protected: at least two hidden cells, and when the total is visible the hidden parts hold at least
    ``threshold`` respondents between them. The cell hidden to repair an equation is its smallest visible
    part (finer cells first on ties), or the total when every part is already hidden.
    """
    changed = True
    while changed:
        changed = False
        for parent, children in equations:
            hidden_children = [c for c in children if hidden[c]]
            n_hidden = len(hidden_children) + int(hidden[parent])
            if n_hidden == 0:
                continue
            weak = n_hidden == 1 or (not hidden[parent] and sum(cell_n[c] for c in hidden_children) < threshold)
            if not weak:
                continue
            candidates = [c for c in children if not hidden[c]]
            if not candidates and not hidden[parent]:
                candidates = [parent]
            if not candidates:
                continue
            hidden[min(candidates, key=lambda c: (cell_n[c], -depth[c], c))] = True
            changed = True


def _linear_audit(
    membership: Sequence[np.ndarray], n_base: int, hidden: np.ndarray, max_unknown: int
) -> tuple[list[int], list[int], str, bool]:
    """Subtraction attack: which hidden cells are a linear combination of visible cells?

    A cell's count is the sum of its finest cells. Visible cells that are single finest cells make those
    finest cells known; the other visible cells are linear equations in the unknown finest cells. A hidden
    cell is revealed when its indicator vector over the unknowns lies in the row space of those equations.
    Returns the revealed hidden cells, the visible cells the attack on the first one combines, a
    description, and whether the audit ran.
    """
    n_cells = hidden.shape[0]
    sizes = np.zeros(n_cells, dtype=np.int64)
    for codes in membership:
        np.add.at(sizes, codes, 1)
    singletons = (sizes == 1) & ~hidden
    known = np.zeros(n_base, dtype=bool)
    for codes in membership:
        known |= singletons[codes]
    unknown = np.flatnonzero(~known)
    if unknown.size > max_unknown:
        return [], [], f"audit not run: {unknown.size} unknown finest cells (limit {max_unknown})", False
    incidence = np.zeros((n_cells, unknown.size))
    for codes in membership:
        incidence[codes[unknown], np.arange(unknown.size)] = 1.0
    visible = np.flatnonzero(~hidden)
    a = incidence[visible]
    keep = a.any(axis=1)
    a, rows_used = a[keep], visible[keep]
    reduced, transform, pivots = _row_reduce(a)
    coefficients: np.ndarray | None = None
    hidden_cells = np.flatnonzero(hidden)
    targets = incidence[hidden_cells]
    residual = targets - targets[:, pivots] @ reduced if pivots.size else targets
    exposed = np.abs(residual).max(axis=1, initial=0.0) < 1e-9
    revealed = [int(c) for c in hidden_cells[exposed]]
    if revealed and pivots.size:
        coefficients = targets[np.flatnonzero(exposed)[0], pivots] @ transform
    if not revealed:
        return [], [], "passed: no hidden cell is a sum or difference of published cells", True
    if not incidence[revealed[0]].any():
        # every finest cell of it is published on its own: hide one of those
        members = np.zeros(n_base, dtype=bool)
        for codes in membership:
            members |= codes == revealed[0]
        used = [int(c) for c in np.flatnonzero(singletons) if any(members[codes == c].any() for codes in membership)]
    else:
        assert coefficients is not None
        used = [int(rows_used[i]) for i in np.flatnonzero(np.abs(coefficients) > 1e-9)]
    return revealed, used, f"{len(revealed)} hidden cells recoverable by subtraction", True


def _row_reduce(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduced row echelon form of ``a`` by Gauss-Jordan elimination with partial pivoting.

    Returns ``(R, T, pivots)`` with ``R = T @ a`` (the non-zero rows) and the pivot columns, so a vector
    ``v`` is in the row space of ``a`` exactly when ``v - v[pivots] @ R`` is zero, and then
    ``v[pivots] @ T`` are the weights on the rows of ``a`` that produce it. Plain elimination rather than
    an SVD: the matrices are 0/1 incidence matrices, and element-wise numpy avoids multi-threaded BLAS,
    which is slow on small matrices on busy machines.
    """
    m, n = a.shape
    work = np.hstack([a.astype(float), np.eye(m)])
    pivots: list[int] = []
    r = 0
    for c in range(n):
        if r == m:
            break
        column = np.abs(work[r:, c])
        i = int(np.argmax(column)) if column.size else 0
        if column.size == 0 or column[i] < 1e-9:
            continue
        i += r
        if i != r:
            work[[r, i]] = work[[i, r]]
        work[r] /= work[r, c]
        others = np.flatnonzero(np.abs(work[:, c]) > 1e-12)
        others = others[others != r]
        if others.size:
            work[others] -= work[others, c][:, None] * work[r][None, :]
        pivots.append(c)
        r += 1
    return work[:r, :n], work[:r, n:], np.array(pivots, dtype=int)


def attack(plan: SuppressionPlan) -> pd.DataFrame:
    """Run the linear subtraction attack on a finished plan; return the hidden cells it can recover.

    An empty result means no combination of published cells (sums and differences of any of them) gives
    the count of any hidden cell. Reports record the same check as :attr:`SuppressionPlan.audit`.
    """
    hidden = plan.cells[SUPPRESSED_COLUMN].to_numpy(dtype=bool)
    revealed, _, _, _ = _linear_audit(plan.membership, len(plan.finest), hidden, 10**9)
    return plan.cells.loc[revealed, [*plan.dims, "level"]]


def recover_by_subtraction(table: pd.DataFrame, dims: Sequence[str], count_column: str) -> pd.DataFrame:
    """The naive attacker: for each margin and its parts along one dimension, total minus visible parts.

    ``table`` is a published breakdown table (dimension columns with ``TOTAL`` for margins, a nullable
    count column, one row per cell). Returns the hidden cells whose count this recovers, with the value;
    empty when the table resists it. Recovered cells feed further rounds, as a patient attacker would.
    """
    dims_l = list(dims)
    known: dict[tuple[str, ...], float] = {}
    cells: set[tuple[str, ...]] = set()
    for row in table[[*dims_l, count_column]].drop_duplicates().itertuples(index=False):
        key = tuple(str(v) for v in row[:-1])
        cells.add(key)
        if not pd.isna(row[-1]):
            known[key] = float(row[-1])
    recovered: dict[tuple[str, ...], float] = {}
    progress = True
    while progress:
        progress = False
        for key in sorted(cells):
            for i in range(len(dims_l)):
                if key[i] != TOTAL:
                    continue
                parts = [
                    k for k in cells if k[i] != TOTAL and all(k[j] == key[j] for j in range(len(dims_l)) if j != i)
                ]
                unknown = [k for k in [key, *parts] if k not in known]
                if not parts or len(unknown) != 1:
                    continue
                u = unknown[0]
                if u == key:
                    value = sum(known[k] for k in parts)
                else:
                    value = known[key] - sum(known[k] for k in parts if k != u)
                known[u] = value
                recovered[u] = value
                progress = True
    rows = [{**dict(zip(dims_l, k, strict=True)), count_column: v} for k, v in sorted(recovered.items())]
    return pd.DataFrame(rows, columns=[*dims_l, count_column])
