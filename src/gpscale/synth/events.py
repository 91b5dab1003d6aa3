"""Scale-up event effects in synthetic England: their dynamics, the truth table, and calibration panels.

**Dynamics.** A practice that joins a group (its *event*) has its latent quality moved, on the latent
scale of each affected indicator, by ``size x (years since joining + 0.5)`` at the middle of each
financial year while it is a member: nothing before the event, a ramp after it (one year's worth in
the year it joins on 1 April, two the next year...). Three features make the truth a real
test of an event-study estimator:

* *cohorts differ*: practices that join a named group after its founding wave get
  ``LATER_JOINER_FACTOR`` times the founders' effect (a mature organisation has more to offer), so
  effects differ between cohorts and a two-way fixed-effects regression is biased;
* *anticipation*: in the archetypes of ``ANTICIPATION_YEARS`` (the multi-site provider, which often runs
  a practice under a caretaker arrangement before the contract transfers) the effect starts the year
  before the event at ``ANTICIPATION_SHARE`` of a year's worth;
* the effect stops when a practice leaves (so the truth is the average over the practices of each
  cohort that are still open, whatever their membership, as an intention-to-treat estimand).

:func:`membership_shifts` computes the shifts the world adds to its latent predictors and
:func:`event_truth` the truth table (``truth/event_effects.csv``): per group, latent measure, cohort
(financial year of joining) and event time, the mean shift over the cohort's open practices.

**Calibration panels.** :func:`simulate_event_panel` draws a small practice x year panel straight from
the world model's generative pieces (England's level and trend of a latent measure, between-practice
spread, deprivation gradient, year-to-year noise, list sizes) with many receiving groups joined in
staggered years, for the simulation tests and the benchmark: no files, vectorised, so hundreds of
replicates fit the test budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.special import expit, logit

#: A later joiner's effect relative to a founding-wave member's.
LATER_JOINER_FACTOR = 1.5
#: Archetypes whose effect starts before the event, and by how many years.
ANTICIPATION_YEARS: dict[str, int] = {"multi_site": 1}
#: The anticipated shift, as a share of one year's effect.
ANTICIPATION_SHARE = 0.5

_YEAR = 365.25


def shift_at(size: np.ndarray | float, years_since: np.ndarray, anticipation_years: int = 0) -> np.ndarray:
    """Latent shift ``years_since`` years (at a year's middle) after an event of ``size`` per year."""
    e = np.asarray(years_since, dtype=float)
    post = np.where(e >= 0, e + 0.5, 0.0)
    pre = np.where((e < 0) & (e >= -anticipation_years), ANTICIPATION_SHARE, 0.0) if anticipation_years else 0.0
    return np.asarray(size) * (post + pre)


def membership_shifts(
    practices: pd.DataFrame,
    membership: pd.DataFrame,
    groups: pd.DataFrame,
    effects: pd.DataFrame,
    fys: tuple[int, ...],
    founding: dict[str, date],
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Shifts per latent measure ([practice, year]) and one row per (effect, spell, year) applied.

    ``effects``: group_id, latent, effect_per_year; ``founding``: group id -> founding date of the
    named groups (members joining later get :data:`LATER_JOINER_FACTOR`; PCNs all join at once).
    """
    code_index = {c: i for i, c in enumerate(practices["practice_code"])}
    kinds = dict(zip(groups["group_id"], groups["kind"], strict=True))
    mids = np.array([date(fy, 10, 1) for fy in fys])
    shifts: dict[str, np.ndarray] = {}
    rows: list[dict[str, object]] = []
    n, t = len(practices), len(fys)
    for e in effects.itertuples():
        gid, latent, size = str(e.group_id), str(e.latent), float(e.effect_per_year)
        kind = str(kinds[gid])
        ant = ANTICIPATION_YEARS.get(kind, 0)
        arr = shifts.setdefault(latent, np.zeros((n, t)))
        for s in membership[membership["group_id"] == gid].itertuples():
            i = code_index[s.practice_code]
            start: date = s.start_date
            end = None if s.end_date is None or pd.isna(s.end_date) else s.end_date
            later = gid in founding and start > founding[gid]
            eff = size * (LATER_JOINER_FACTOR if later else 1.0)
            years = np.array([(m - start).days / _YEAR for m in mids])
            live = np.array([end is None or m <= end for m in mids])
            add = shift_at(eff, years, ant) * live
            arr[i] += add
            rows.extend({"group_id": gid, "kind": kind, "latent": latent, "practice_code": s.practice_code,
                         "fy": fys[k], "shift": float(add[k])} for k in np.flatnonzero(add != 0))
    return shifts, pd.DataFrame(rows, columns=["group_id", "kind", "latent", "practice_code", "fy", "shift"])


def event_truth(applied: pd.DataFrame, membership: pd.DataFrame, list_size: np.ndarray,
                practices: pd.DataFrame, fys: tuple[int, ...]) -> pd.DataFrame:
    """Truth per group, latent, cohort and event time: the mean shift over the cohort's open practices.

    Cohort = financial year of a practice's first spell in the group; practices whose spells started
    before the first year of data have no cohort there and are left out.
    """
    cols = ["group_id", "kind", "latent", "cohort_fy", "event_time", "effect", "n_practices"]
    if applied.empty:
        return pd.DataFrame(columns=cols)
    code_index = {c: i for i, c in enumerate(practices["practice_code"])}
    first = membership.sort_values("start_date").drop_duplicates(["group_id", "practice_code"])
    out = []
    for (gid, latent), part in applied.groupby(["group_id", "latent"], sort=True):
        kind = part["kind"].iloc[0]
        mem = first[first["group_id"] == gid]
        for s in mem.itertuples():
            if s.start_date < date(fys[0], 4, 1):
                continue
            cohort = max(fy for fy in fys if date(fy, 4, 1) <= s.start_date)
            i = code_index[s.practice_code]
            got = part[part["practice_code"] == s.practice_code].set_index("fy")["shift"]
            for k, fy in enumerate(fys):
                if list_size[i, k] > 0:
                    out.append({"group_id": gid, "kind": kind, "latent": latent, "cohort_fy": cohort,
                                "event_time": fy - cohort, "shift": float(got.get(fy, 0.0))})
    df = pd.DataFrame(out)
    if df.empty:
        return pd.DataFrame(columns=cols)
    agg = df.groupby(["group_id", "kind", "latent", "cohort_fy", "event_time"], as_index=False).agg(
        effect=("shift", "mean"), n_practices=("shift", "size"))
    agg["effect"] = agg["effect"].round(6)
    return agg[cols].sort_values(cols[:5], ignore_index=True)


@dataclass(frozen=True)
class CalibrationPanel:
    """A simulated practice x year panel with known event effects (see :func:`simulate_event_panel`)."""

    y: np.ndarray  # [n, T] empirical logit of each practice-year proportion
    weight: np.ndarray  # [n, T] denominators
    cohort: np.ndarray  # [n] year index of the event, -1 never
    group: np.ndarray  # [n] receiving group (0..G-1), -1 never
    covariates: np.ndarray  # [n, T, k]
    covariate_names: tuple[str, ...]
    effect_size: np.ndarray  # [n_cohorts] size per year of each cohort's effect (ramp after the event)
    cohorts: np.ndarray  # [n_cohorts] year index of each cohort
    anticipation: int

    def truth(self, cohort: int, event_time: int) -> float:
        """The injected shift for ``cohort`` (year index) at ``event_time``."""
        k = int(np.flatnonzero(self.cohorts == cohort)[0])
        return float(shift_at(self.effect_size[k], np.array([event_time]), self.anticipation)[0])


def simulate_event_panel(
    seed: int,
    n_practices: int = 400,
    n_groups: int = 24,
    n_years: int = 12,
    effect: float = 0.04,
    latent: str = "qof",
    anticipation: int = 0,
    rural_trend: float = 0.03,
    group_sd: float = 0.03,
    share_joining: float = 0.6,
) -> CalibrationPanel:
    """A calibration panel drawn from the world model's generative pieces (see module notes).

    Groups join in staggered years (years 3 to n_years - 4); which practices join depends on rurality
    and deprivation, and rural practices' latent quality trends ``rural_trend`` a year faster, so only
    comparisons *conditional on covariates* are fair (unadjusted comparisons are biased). Members of a
    group share a group-by-year shock (so practices are correlated within receiving groups). The effect
    ramps after the event at ``effect`` a year, scaled by cohort from 1.5 (earliest) to 0.5 (latest).
    ``effect=0`` gives a null panel.
    """
    from gpscale.synth.world import _BASE, _PRACTICE_SD

    rng = np.random.default_rng(seed)
    n, t = n_practices, n_years
    region = rng.integers(0, 7, n)
    rural = rng.random(n) < 0.15
    imd = np.exp(rng.normal(np.log(20), 0.5, n)) * np.where(rural, 0.7, 1.0)
    imd_c = (imd - 20) / 10
    contract = rng.choice(3, size=n, p=[0.70, 0.25, 0.05])
    lists = np.exp(rng.normal(np.log(5900), 0.55, n)).clip(800, 40000)
    old = (0.17 + 0.04 * rural - 0.003 * (imd - 20) + rng.normal(0, 0.03, n)).clip(0.02, 0.5)
    # who joins, and which group: groups are local (a region each), join years staggered
    join_p = expit(logit(share_joining) + 0.8 * (rural - 0.15) + 0.4 * imd_c)
    joins = rng.random(n) < join_p
    g_region = rng.integers(0, 7, n_groups)
    g_year = rng.integers(3, t - 3, n_groups)
    group = np.full(n, -1)
    for i in np.flatnonzero(joins):
        local = np.flatnonzero(g_region == region[i])
        group[i] = int(rng.choice(local)) if local.size else int(rng.integers(n_groups))
    cohort = np.where(group >= 0, g_year[np.maximum(group, 0)], -1)
    cohorts = np.unique(cohort[cohort >= 0])
    rank = np.searchsorted(cohorts, cohort)
    spread = (cohorts.size - 1) or 1
    sizes = effect * (1.5 - np.arange(cohorts.size) / spread)
    level, trend = _BASE[latent]
    years = np.arange(t)
    eta = (level + trend * years[None, :] + rng.normal(0, _PRACTICE_SD[latent], n)[:, None]
           - 0.12 * imd_c[:, None] + rural_trend * rural[:, None] * years[None, :]
           + rng.normal(0, 0.04, (n, t)))
    shocks = rng.normal(0, group_sd, (n_groups, t))
    eta += np.where(group[:, None] >= 0, shocks[np.maximum(group, 0)], 0.0)
    ev = years[None, :] - cohort[:, None]
    size_i = np.where(cohort >= 0, sizes[np.minimum(rank, cohorts.size - 1)], 0.0)
    eta += np.where(cohort[:, None] >= 0, shift_at(size_i[:, None], ev, anticipation), 0.0)
    den = np.maximum(rng.poisson(lists[:, None] * 0.1 * np.exp(rng.normal(0, 0.05, (n, t)))), 1).astype(float)
    num = rng.binomial(den.astype(int), expit(eta)).astype(float)
    y = np.log((num + 0.5) / (den - num + 0.5))
    names = ("log_list_size", "share_65_plus", "imd_score", "rural", "pms", "apms",
             *(f"region_{r}" for r in range(1, 7)))
    static = np.column_stack([np.log(lists), old, imd, rural, contract == 1, contract == 2,
                              *((region == r) for r in range(1, 7))]).astype(float)
    cov = np.repeat(static[:, None, :], t, axis=1)
    return CalibrationPanel(y=y, weight=den, cohort=cohort, group=group, covariates=cov, covariate_names=names,
                            effect_size=sizes, cohorts=cohorts, anticipation=anticipation)
