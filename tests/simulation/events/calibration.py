"""Replicates for the event-study calibration (shared by the simulation tests and the benchmark).

Each replicate is a panel from :func:`gpscale.synth.events.simulate_event_panel` (the synthetic world
model's generative pieces, no files): staggered joining of local receiving groups, selection on
rurality and deprivation with rural practices trending faster (so only covariate-adjusted comparisons
are fair), group-by-year shocks, and effects that ramp after the event with sizes that differ by cohort.
gpscale's estimator runs as the product runs it (doubly robust cells, not-yet-treated comparators,
multiplier bootstrap clustered at the receiving group, pre-trend test); the truth is aggregated with the
estimator's own cohort weights. A static two-way fixed-effects regression is fitted on the same panel
for comparison, with its truth (the mean injected effect over treated practice-years within the same
window after the event).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpscale.stats.event_study import EventPanel, EventStudySpec, bootstrap, group_time_effects
from gpscale.synth.events import CalibrationPanel, simulate_event_panel

SPEC = EventStudySpec()
PRETREND_ALPHA = 0.05


@dataclass(frozen=True)
class Replicate:
    seed: int
    estimate: float
    lower: float
    upper: float
    truth: float
    pretrend_p: float
    twfe: float
    twfe_truth: float

    @property
    def covered(self) -> bool:
        return self.lower <= self.truth <= self.upper

    @property
    def changed(self) -> bool:
        """What gpscale would declare: the interval excludes zero and pre-trends do not reject."""
        passes = not (np.isfinite(self.pretrend_p) and self.pretrend_p < PRETREND_ALPHA)
        return passes and not (self.lower <= 0.0 <= self.upper)


def twfe_static(p: CalibrationPanel, lags: int) -> tuple[float, float]:
    """Static two-way fixed-effects ``y = a_i + l_t + b D_it`` (treated years 0..lags, later years dropped),
    by alternating demeaning; returns (b, the mean injected effect over the treated practice-years used)."""
    t = p.y.shape[1]
    e = np.arange(t)[None, :] - p.cohort[:, None]
    treated = (p.cohort[:, None] >= 0) & (e >= 0)
    use = np.isfinite(p.y) & ~(treated & (e > lags))
    d = (treated & use).astype(float)
    y = np.where(use, p.y, 0.0)
    m = use.astype(float)

    def demean(a: np.ndarray) -> np.ndarray:
        a = a * m
        for _ in range(200):
            a = a - (a.sum(axis=1, keepdims=True) / np.maximum(m.sum(axis=1, keepdims=True), 1)) * m
            a = a - (a.sum(axis=0, keepdims=True) / np.maximum(m.sum(axis=0, keepdims=True), 1)) * m
        return a

    yd, dd = demean(y), demean(d)
    b = float((yd * dd).sum() / (dd * dd).sum())
    rank = np.searchsorted(p.cohorts, p.cohort)
    k = np.minimum(rank, p.cohorts.size - 1)
    size = np.where(p.cohort >= 0, p.effect_size[k], 0.0)
    from gpscale.synth.events import shift_at

    shift = shift_at(size[:, None], e, p.anticipation)
    truth = float(shift[d > 0].mean())
    return b, truth


def replicate(seed: int, effect: float, n_boot: int = 499, spec: EventStudySpec = SPEC,
              **kwargs: object) -> Replicate:
    p = simulate_event_panel(seed, effect=effect, **kwargs)  # type: ignore[arg-type]
    t = p.y.shape[1]
    panel = EventPanel(p.y, p.weight, p.cohort, p.covariates, np.zeros(t, dtype=int), tuple(map(str, range(t))))
    study = group_time_effects(panel, spec)
    cluster = np.where(p.group >= 0, p.group, 10_000 + np.arange(p.group.size))
    inf = bootstrap(study, cluster, n_boot=n_boot, seed=seed)
    truths = []
    for ev in study.event_times:
        gs, w = study.cohort_weights[int(ev)]
        truths.append(sum(wi * p.truth(int(g), int(ev)) for g, wi in zip(gs, w, strict=True)))
    post = [k for k, ev in enumerate(study.event_times) if ev in study.aggregated]
    b, b_truth = twfe_static(p, spec.lags)
    return Replicate(seed, float(study.estimates[-1]), float(inf.lower[-1]), float(inf.upper[-1]),
                     float(np.mean([truths[k] for k in post])), float(inf.pretrend_p), b, b_truth)
