"""Which practice and group counts to hide when counts are published together with their sums.

Indicator results publish practice counts (numerators, denominators, weighted survey counts) and sums of
them: a group's pooled count is the sum of its members' for the period (under the membership view the
evaluation used), England's the sum of every practice's, and a financial year's the sum of its months.
Hiding a practice's count of 3 is useless if the group total and every other member are shown.

:func:`decide_pooled` applies, over all of those at once:

* **primary** rules, by value type (:data:`COUNTED`): a numerator of 1 to 4 (events), a denominator of
  1 to 4 (eligible patients), a weighted survey numerator or base above 0 and below 5, and a survey
  value resting on fewer than :data:`~gpscale.disclosure.rules.SURVEY_MIN_RESPONDENTS` respondents;
* the **equation** rule of :func:`gpscale.disclosure.rules.plan_suppression`, vectorised: in every sum
  either nothing is hidden, or at least two cells are hidden and, when the total is shown, the hidden
  parts hold at least the threshold between them; otherwise the smallest visible part is hidden too
  (or the total when every part is hidden), for numerators and denominators alike, until stable;
* the **linear-algebra audit** (:func:`audit`): for each indicator and financial year (with its months),
  a hidden cell must not be a linear combination of the published cells of every equation together
  (overlapping groups such as a federation across PCNs make the one-equation-at-a-time rule
  insufficient). A revealed cell gets one more cell hidden and the audit runs again. Blocks with more
  hidden cells than :data:`AUDIT_MAX_HIDDEN` are not audited and are reported as such.

A hidden cell hides its whole row (numerator, denominator, value, interval), so one rule's hidden
numerator cannot be recovered from the value and a visible denominator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from gpscale.blas import one_blas_thread
from gpscale.disclosure.rules import COUNT_THRESHOLD, SURVEY_MIN_RESPONDENTS
from gpscale.disclosure.vocabulary import HideRule

#: Value types whose numerator / denominator are counts of people or events, and the survey type whose
#: counts are weighted. Value types not listed (QOF scores: points out of a maximum) carry no counts.
COUNTED_NUMERATOR = frozenset({"proportion", "rate", "standardised_ratio"})
COUNTED_DENOMINATOR = frozenset({"proportion", "rate"})
WEIGHTED = frozenset({"weighted_proportion"})
COUNTED = COUNTED_NUMERATOR | WEIGHTED
#: Above this many hidden cells in one indicator and financial year the linear-algebra audit is skipped.
AUDIT_MAX_HIDDEN = 1000

ENTITY_KEY = ["entity_id", "indicator_id", "period"]
PRACTICE_KEY = ["practice_code", "indicator_id", "period"]


@dataclass(frozen=True)
class PooledDecision:
    """Per practice row and per entity row: hidden or not, and the rule (:class:`HideRule` value or "")."""

    practice_hidden: np.ndarray
    practice_rule: np.ndarray
    entity_hidden: np.ndarray
    entity_rule: np.ndarray
    audited_blocks: int
    unaudited_blocks: list[str]


def _fy_of_month(period: pd.Series) -> pd.Series:
    """The financial year ("FY2020/21") of each month ("2020-04"), worked out once per distinct month."""
    codes, months = pd.factorize(period, use_na_sentinel=False)
    return _fy_of_distinct(pd.Series(months)).take(codes).set_axis(period.index)


def _fy_of_distinct(period: pd.Series) -> pd.Series:
    year = period.str.slice(0, 4).astype(int)
    month = period.str.slice(5, 7).astype(int)
    start = year - (month < 4).astype(int)
    return "FY" + start.astype(str) + "/" + ((start + 1) % 100).astype(str).str.zfill(2)


def _primary(frame: pd.DataFrame, vt: pd.Series, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    num = pd.to_numeric(frame["numerator"], errors="coerce").to_numpy(float)
    den = pd.to_numeric(frame["denominator"], errors="coerce").to_numpy(float)
    eff = (pd.to_numeric(frame["effective_n"], errors="coerce").to_numpy(float)
           if "effective_n" in frame.columns else np.full(len(frame), np.nan))
    v = vt.to_numpy(dtype=object)
    is_num = np.isin(v, list(COUNTED_NUMERATOR))
    is_den = np.isin(v, list(COUNTED_DENOMINATOR))
    is_svy = np.isin(v, list(WEIGHTED))
    def small(x: np.ndarray, t: float) -> np.ndarray:
        return np.isfinite(x) & (x > 0) & (x < t)

    base = np.where(np.isfinite(eff), np.minimum(eff, np.where(np.isfinite(den), den, eff)), den)
    rules = np.full(len(frame), "", dtype=object)
    # later assignments win: the most specific reason is kept
    rules[is_den & small(den, threshold)] = HideRule.DENOMINATOR.value
    rules[is_num & small(num, threshold)] = HideRule.COUNT.value
    rules[is_svy & small(base, SURVEY_MIN_RESPONDENTS)] = HideRule.SURVEY_BASE.value
    rules[is_svy & (small(num, threshold) | small(den, threshold))] = HideRule.WEIGHTED.value
    return rules != "", rules


def decide_pooled(
    practice: pd.DataFrame,
    entity: pd.DataFrame,
    members: pd.DataFrame,
    value_types: dict[str, str],
    threshold: int = COUNT_THRESHOLD,
    audit_max_hidden: int = AUDIT_MAX_HIDDEN,
) -> PooledDecision:
    """Decide which practice rows and entity rows to hide (see the module notes).

    ``practice``: indicator_id, practice_code, period, period_type, numerator, denominator (and
    effective_n). ``entity``: entity_type (group / england), entity_id, indicator_id, period, period_type,
    numerator, denominator, one row per key. ``members``: group_id, practice_code, period (the membership
    the entity rows were pooled over).
    """
    p = practice.reset_index(drop=True)
    e = entity.reset_index(drop=True)
    n_p, n_e = len(p), len(e)
    vt_p = p["indicator_id"].astype(str).map(value_types).fillna("")
    vt_e = e["indicator_id"].astype(str).map(value_types).fillna("")
    hide_p, rule_p = _primary(p, vt_p, threshold)
    hide_e, rule_e = _primary(e, vt_e, threshold)
    hidden = np.concatenate([hide_p, hide_e])
    rule = np.concatenate([rule_p, rule_e])

    def counts(col: str, types: frozenset[str]) -> np.ndarray:
        c = np.concatenate([pd.to_numeric(p[col], errors="coerce").to_numpy(float),
                            pd.to_numeric(e[col], errors="coerce").to_numpy(float)])
        keep = np.concatenate([vt_p.isin(types).to_numpy(), vt_e.isin(types).to_numpy()])
        return np.where(keep & np.isfinite(c), c, 0.0)

    numerators = counts("numerator", COUNTED)
    denominators = counts("denominator", COUNTED_DENOMINATOR | WEIGHTED)
    system = _System(*_equations(p, e, members, vt_p, vt_e))
    # what hiding a row costs readers: a group's total is the cheapest way to break an attack (it is a part
    # of no other sum), a practice's count next, England's last
    cost = np.concatenate([np.full(n_p, 2), np.where(e["entity_type"].astype(str).to_numpy() == "england", 3, 1)])
    audited, skipped = 0, {}
    dirty: np.ndarray | None = None  # blocks to audit again (None: all)
    settled, newly = False, np.zeros(0, np.int64)
    while True:  # each round hides at least one more row, so this ends
        before = hidden.copy()
        # once every equation has settled, only the equations of the rows the audit hid can change
        settled = _enforce(hidden, [numerators, denominators], system, threshold, newly if settled else None)
        if dirty is not None:
            dirty = np.union1d(dirty, system.block[hidden & ~before])
        newly, n_audited, not_audited = audit(hidden, [numerators, denominators], system, cost, audit_max_hidden,
                                              dirty)
        audited = max(audited, n_audited)
        skipped.update(not_audited)
        newly = newly[~hidden[newly]]
        if not newly.size:
            break
        hidden[newly] = True
        dirty = np.unique(system.block[newly])
    rule[hidden & (rule == "")] = HideRule.COMPLEMENTARY.value
    return PooledDecision(hidden[:n_p], rule[:n_p].astype(str), hidden[n_p:n_p + n_e], rule[n_p:].astype(str),
                          audited, [f"{system.labels[k]}: {v} hidden cells" for k, v in sorted(skipped.items())])


def _equations(
    p: pd.DataFrame, e: pd.DataFrame, members: pd.DataFrame, vt_p: pd.Series, vt_e: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum equations over rows (practice rows first, then entity rows offset by len(p)).

    Returns the total row of each equation, (equation, part row) pairs, the audit block of each row
    (indicator and financial year) and the blocks' labels.
    """
    n_p = len(p)
    pk = pd.DataFrame({"indicator_id": p["indicator_id"].astype(str).array,
                       "practice_code": p["practice_code"].astype(str).array,
                       "period": p["period"].astype(str).array,
                       "period_type": p["period_type"].astype(str).array, "row": np.arange(n_p)})
    pk = pk[vt_p.isin(COUNTED).to_numpy()]
    ek = pd.DataFrame({"entity_type": e["entity_type"].astype(str).array,
                       "entity_id": e["entity_id"].astype(str).array,
                       "indicator_id": e["indicator_id"].astype(str).array,
                       "period": e["period"].astype(str).array,
                       "period_type": e["period_type"].astype(str).array, "row": np.arange(len(e)) + n_p})
    ek = ek[vt_e.isin(COUNTED).to_numpy()]
    totals: list[np.ndarray] = []
    parts: list[pd.DataFrame] = []
    offset = 0

    def add(frame: pd.DataFrame, total: str, part: str) -> None:
        nonlocal offset
        if frame.empty:
            return
        codes, uniq = pd.factorize(frame[total], sort=False)
        totals.append(np.asarray(uniq, dtype=np.int64))
        parts.append(pd.DataFrame({"eq": codes.astype(np.int64) + offset, "row": frame[part].to_numpy(np.int64)}))
        offset += len(uniq)

    # group total = sum of its members' rows in the period
    m = members[["group_id", "practice_code", "period"]].astype(str).drop_duplicates()
    gm = pk.merge(m, on=["practice_code", "period"])
    groups = ek[ek["entity_type"] == "group"]
    add(gm.merge(groups.rename(columns={"entity_id": "group_id"})[["group_id", "indicator_id", "period", "row"]],
                 on=["group_id", "indicator_id", "period"], suffixes=("_part", "_total")), "row_total", "row_part")
    # England total = sum of every practice's row
    eng = ek[ek["entity_type"] == "england"][["indicator_id", "period", "row"]]
    add(pk.merge(eng, on=["indicator_id", "period"], suffixes=("_part", "_total")), "row_total", "row_part")
    # a financial year = the sum of its months (practices and England)
    for frame, unit in ((pk, "practice_code"), (ek[ek["entity_type"] == "england"], "entity_id")):
        months = frame[frame["period_type"] == "month"].copy()
        if months.empty:
            continue
        months["fy"] = _fy_of_month(months["period"])
        years = frame[frame["period_type"] == "fy"][[unit, "indicator_id", "period", "row"]].rename(
            columns={"period": "fy"})
        add(months.merge(years, on=[unit, "indicator_id", "fy"], suffixes=("_part", "_total")), "row_total",
            "row_part")
    n_rows = n_p + len(e)
    block = np.full(n_rows, -1, dtype=np.int64)
    fy = pd.concat([p["period"].astype(str), e["period"].astype(str)], ignore_index=True)
    ptype = pd.concat([p["period_type"].astype(str), e["period_type"].astype(str)], ignore_index=True)
    fy = fy.where(ptype != "month", _fy_of_month(fy.where(ptype == "month", "2000-04")))
    ind = pd.concat([p["indicator_id"].astype(str), e["indicator_id"].astype(str)], ignore_index=True)
    codes, labels = pd.factorize(ind + " " + fy)
    block[:] = codes
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), block, np.asarray(labels)
    allp = pd.concat(parts, ignore_index=True)
    return (np.concatenate(totals), allp["eq"].to_numpy(np.int64), allp["row"].to_numpy(np.int64), block,
            np.asarray(labels))


def _enforce(hidden: np.ndarray, vectors: list[np.ndarray], system: _System, threshold: int,
             rows: np.ndarray | None = None, max_rounds: int = 500) -> bool:
    """Hide more rows until every equation is protected for every count vector (in place).

    Each pass looks only at the equations whose rows changed since that vector last looked at them (at
    first every equation, or those of ``rows`` when every other equation had settled): an equation whose
    rows are unchanged gives what it gave then, nothing. Each equation's parts are read in their original
    order, so its sums are the same to the last bit. Returns True when every equation settled (False after
    ``max_rounds`` rounds).
    """
    n_eq = system.total.size
    if not n_eq:
        return True
    start = np.arange(n_eq) if rows is None else system.equations_of(rows)
    pending = [start for _ in vectors]
    for _ in range(max_rounds):
        changed = False
        for v, c in enumerate(vectors):
            eqs, pending[v] = pending[v], np.zeros(0, np.int64)
            if not eqs.size:
                continue
            at = system.parts_of(eqs)
            pe, pr = np.searchsorted(eqs, system.pe[at]), system.pr[at]  # pe: equation's place in eqs
            h = hidden[pr]
            part_c = c[pr]
            positive_parts = np.bincount(pe, weights=part_c > 0, minlength=eqs.size)
            total_c = c[system.total[eqs]]
            relevant = (positive_parts > 0) | (total_c > 0)
            n_hidden = np.bincount(pe, weights=h & (part_c > 0), minlength=eqs.size)
            sum_hidden = np.bincount(pe, weights=h * part_c, minlength=eqs.size)
            t_hidden = hidden[system.total[eqs]] & (total_c > 0)
            nh = n_hidden + t_hidden
            weak = relevant & (nh >= 1) & ((nh == 1) | (~t_hidden & (sum_hidden < threshold)))
            if not weak.any():
                continue
            cand = weak[pe] & ~h & (part_c > 0)
            covered = np.zeros(eqs.size, dtype=bool)
            newly = [np.zeros(0, np.int64)]
            if cand.any():
                k = np.flatnonzero(cand)
                k = k[np.lexsort((pr[k], part_c[k], pe[k]))]
                first = np.concatenate([[True], pe[k][1:] != pe[k][:-1]])
                newly.append(pr[k[first]])
                hidden[pr[k[first]]] = True
                covered[pe[k[first]]] = True
            rest = weak & ~covered & ~hidden[system.total[eqs]]
            newly.append(system.total[eqs[rest]])
            hidden[system.total[eqs[rest]]] = True
            if cand.any() or rest.any():
                changed = True
                touched = system.equations_of(np.concatenate(newly))
                pending = [np.union1d(q, touched) for q in pending]
        if not changed:
            return True
    return False


class _ByKey:
    """Positions of an integer key array grouped by key once, each group in its original order.

    ``of(k)`` returns the positions holding ``k`` in ascending order, as ``np.flatnonzero(keys == k)``
    would, and ``of_many(ks)`` those of several keys (sorted, distinct) one key after another, without
    scanning every key again for each lookup.
    """

    def __init__(self, keys: np.ndarray) -> None:
        self.order = np.argsort(keys, kind="stable")
        self.sorted = keys[self.order]

    def of(self, key: int) -> np.ndarray:
        return self.order[np.searchsorted(self.sorted, key, "left"):np.searchsorted(self.sorted, key, "right")]

    def of_many(self, keys: np.ndarray) -> np.ndarray:
        lo, hi = np.searchsorted(self.sorted, keys, "left"), np.searchsorted(self.sorted, keys, "right")
        size = hi - lo
        starts = np.repeat(lo - np.cumsum(size) + size, size)  # each key's run, laid end to end
        return self.order[starts + np.arange(size.sum())]


class _System:
    """The sum equations over rows (:func:`_equations`), with the lookups the enforcement and audit make.

    ``total``: each equation's total row; ``pe``, ``pr``: (equation, part row) pairs; ``block``: each row's
    audit block, named by ``labels``. The lookups are built once, on first use, and serve every round.
    """

    def __init__(self, total: np.ndarray, pe: np.ndarray, pr: np.ndarray, block: np.ndarray,
                 labels: np.ndarray) -> None:
        self.total, self.pe, self.pr, self.block, self.labels = total, pe, pr, block, labels
        self.eq_block = block[total]

    @cached_property
    def _parts(self) -> _ByKey:
        return _ByKey(self.pe)

    @cached_property
    def _rows(self) -> tuple[_ByKey, np.ndarray]:
        return _ByKey(np.concatenate([self.pr, self.total])), np.concatenate([self.pe, np.arange(self.total.size)])

    @cached_property
    def eqs_by_block(self) -> _ByKey:
        return _ByKey(self.eq_block)

    @cached_property
    def parts_by_block(self) -> _ByKey:
        return _ByKey(self.eq_block[self.pe])

    def parts_of(self, eqs: np.ndarray) -> np.ndarray:
        """Positions in ``pe``/``pr`` of the parts of ``eqs`` (sorted, distinct), equation by equation."""
        return self._parts.of_many(eqs)

    def equations_of(self, rows: np.ndarray) -> np.ndarray:
        """The equations (sorted, distinct) that any of ``rows`` is a part or the total of."""
        by_row, eq = self._rows
        return np.unique(eq[by_row.of_many(np.unique(rows))])


@one_blas_thread()  # small SVDs: more BLAS threads only oversubscribe the cores
def audit(hidden: np.ndarray, vectors: list[np.ndarray], system: _System, cost: np.ndarray,
          max_hidden: int = AUDIT_MAX_HIDDEN, only: np.ndarray | None = None,
          ) -> tuple[np.ndarray, int, dict[int, int]]:
    """Linear subtraction attack per block; returns visible rows to hide next (one per revealed block).

    In each block (an indicator and financial year with its months) the unknowns are the hidden rows with
    a positive count, every equation ``total - sum(parts) = 0`` is a linear constraint, and a hidden row is
    revealed when every solution of the constraints gives it the same value, i.e. its unit vector lies in
    the row space of the constraint matrix (its projection onto the span of the right singular vectors
    keeps length 1); the SVDs run on one BLAS thread (:func:`gpscale.blas.one_blas_thread`). For each
    revealed cell one visible cell the attack
    uses is hidden: the lowest ``cost`` (group totals before practices before England), then the smallest
    count. ``only`` limits the audit to those blocks.
    Returns the rows to hide, the number of blocks audited and the hidden-cell count of blocks too large
    to audit.
    """
    to_hide: list[int] = []
    audited, skipped = 0, {}
    eq_total, pe, pr, block = system.total, system.pe, system.pr, system.block
    if not eq_total.size:
        return np.zeros(0, np.int64), 0, {}
    positive = np.zeros(hidden.size, dtype=bool)
    for c in vectors:
        positive |= c > 0
    unknown = np.flatnonzero(hidden & positive)
    todo = np.unique(block[unknown])
    if only is not None:
        todo = np.intersect1d(todo, only)
    # rows, equations and (equation, part) pairs grouped by block, each kept in its original order
    unknown_of, eqs_of, parts_of = _ByKey(block[unknown]), system.eqs_by_block, system.parts_by_block
    col = np.full(hidden.size, -1, dtype=np.int64)
    for b in todo:
        cells = unknown[unknown_of.of(b)]
        if cells.size > max_hidden:
            skipped[int(b)] = int(cells.size)
            continue
        audited += 1
        col[cells] = np.arange(cells.size)
        eqs = eqs_of.of(b)
        pairs = parts_of.of(b)
        rows_eq, rows_part = pe[pairs], pr[pairs]
        totals = col[eq_total[eqs]]
        has = totals >= 0
        mask = col[rows_part] >= 0
        part_of = np.searchsorted(eqs, rows_eq[mask])
        # only equations touching an unknown get a row (the others' rows would be zeros, dropped below)
        touched = has.copy()
        touched[part_of] = True
        at = np.cumsum(touched) - 1
        a = np.zeros((int(touched.sum()), cells.size))
        a[at[has], totals[has]] = 1.0
        np.subtract.at(a, (at[part_of], col[rows_part[mask]]), 1.0)
        col[cells] = -1
        keep = np.abs(a).sum(axis=1) > 0
        a, eq_of_row = a[keep], eqs[touched][keep]
        if not a.size:
            continue
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        rank = int((s > 1e-9 * max(1.0, s.max(initial=0.0))).sum())
        # e_j lies in the row space exactly when its projection onto it keeps all its length
        revealed = np.flatnonzero(1.0 - (vt[:rank] ** 2).sum(axis=0) < 1e-9)
        for j in revealed:
            # the attack: weights y on the equations with y @ a = e_j; hide one visible cell it relies on,
            # a group total first (that removes an equation without adding an unknown to any other)
            y = u[:, :rank] @ (vt[:rank, j] / s[:rank])
            used = eq_of_row[np.abs(y) > 1e-9]
            options = np.concatenate([rows_part[np.isin(rows_eq, used)], eq_total[used]])
            options = options[~hidden[options] & positive[options]]
            if options.size:
                size = np.min(np.stack([np.where(c[options] > 0, c[options], np.inf) for c in vectors]), axis=0)
                to_hide.append(int(options[np.lexsort((options, size, cost[options]))[0]]))
    return np.array(sorted(set(to_hide)), dtype=np.int64), audited, skipped
