"""The design aid: what a draft scheme would pay across all networks, and how that moves with its targets.

For a draft scheme, from the scoring of its period and the forecast of the next year:

* ``distribution`` (:data:`DESIGN_COLUMNS`): per basis (``scored`` for the scheme's period, ``expected``
  for next year), the total paid over all networks and the distribution of a network's payment
  (minimum, deciles, quartiles, median, maximum) and of its share of the money available;
* ``targets`` (:data:`TARGET_SHARE_COLUMNS`): per target, the share of networks meeting it now and
  expected to meet it next year (the mean forecast probability), the share whose outcome is within chance
  (target inside the interval), and the money it pays now and is expected to pay;
* ``sweep`` (:data:`SWEEP_COLUMNS`): the same per target when its target moves by each of ``shifts``
  (in the indicator's units; positive is harder, i.e. towards better values): a standard, both thresholds,
  the practice standard, or the required improvement. The forecast side re-scores the *same* simulation
  draws (each target's random stream is fixed), so the curves are smooth and differences between shifts
  are not simulation noise. Without ``shifts`` the grid is nine steps of a quarter of the between-network
  standard deviation of the achievement, rounded to two significant figures, from -4 to +4 steps;
* ``charts``: renderer-neutral chart data (:class:`Chart`): a histogram of network payments (scored and
  expected) and, per target, share meeting and total payment against the moved target.

**Left-out networks.** Every figure above is a function of the networks' own results, so a network the
disclosure gate hides could be worked back out of it (a maximum, a median of two, a histogram bar, or the
default sweep step, which is its spread, less the published networks). :meth:`SchemeDesign.without`
recomputes the aid over every network but those: nothing in its tables or charts depends on a left-out
network's values (``n_networks_left_out`` on every row says how many there are). The forecast's common
parameters (the indicator's practice-year variance, the network variance, the recalibration factor) are
estimated from every network, as in the forecast itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from gpscale.evaluate.schemes.forecast import FORECAST, SchemeForecast, fit_models, forecast_scheme, summarise_target
from gpscale.evaluate.schemes.forecast import target_summary as forecast_summary
from gpscale.evaluate.schemes.inputs import SchemeInputs
from gpscale.evaluate.schemes.model import (
    Improvement,
    NetworkStandard,
    PracticeShare,
    Scheme,
    SchemeIndicator,
    Thresholds,
)
from gpscale.evaluate.schemes.money import exact, to_pence
from gpscale.evaluate.schemes.scoring import SchemeScore, score_scheme
from gpscale.evaluate.schemes.scoring import target_summary as score_summary
from gpscale.evaluate.schemes.targets import sign_of

DESIGN_COLUMNS = [
    "scheme_id", "scheme_version", "basis", "period", "n_networks", "total_pence", "available_pence", "mean_pence",
    "min_pence", "p10_pence", "p25_pence", "median_pence", "p75_pence", "p90_pence", "max_pence",
    "median_share_of_available", "n_networks_left_out", "membership_view", "data_version",
]

TARGET_SHARE_COLUMNS = [
    "scheme_id", "scheme_version", "target_id", "indicator_id", "target_type", "target", "period", "n_networks",
    "share_met", "share_target_in_interval", "payment_pence", "forecast_period", "n_forecast",
    "expected_share_met", "share_chance_decides", "expected_payment_pence", "n_networks_left_out",
    "membership_view", "data_version",
]

SWEEP_COLUMNS = [
    "scheme_id", "scheme_version", "target_id", "indicator_id", "target_type", "shift", "standard",
    "lower_threshold", "upper_threshold", "improvement_by", "period", "n_networks", "share_met", "payment_pence",
    "forecast_period", "n_forecast", "expected_share_met", "expected_payment_pence", "n_networks_left_out",
    "membership_view", "data_version",
]

STEPS = tuple(range(-4, 5))


@dataclass(frozen=True)
class Chart:
    """Chart-ready data for any renderer: a tidy frame and which columns go where.

    ``kind`` is ``histogram`` (bars from ``x`` to ``x_to`` of height ``y``) or ``line`` (``y`` against
    ``x``); ``series`` names the column that splits the data into coloured series (or None).
    """

    id: str
    title: str
    kind: str
    x: str
    y: str
    x_label: str
    y_label: str
    data: pd.DataFrame
    series: str | None = None
    x_to: str | None = None


@dataclass(frozen=True, eq=False)
class SchemeDesign:
    """The design aid of a scored and forecast scheme: its tables and charts, computed when first read.

    ``score`` and ``forecast`` cover every network; ``distribution``, ``targets``, ``sweep`` and ``charts``
    leave out the networks in ``left_out``. They are computed on first use, so an aid narrowed with
    :meth:`without` before anything is read sweeps its targets once, not twice.
    """

    scheme: Scheme
    score: SchemeScore
    forecast: SchemeForecast
    inputs: SchemeInputs = field(repr=False)
    shifts: dict[str, list[float]] | None = None
    draws: int = 0
    left_out: frozenset[str] = frozenset()

    def without(self, networks: Iterable[str]) -> SchemeDesign:
        """The aid over every network but ``networks`` (and those already left out).

        For the disclosure gate: pass the networks it hides, and no table or chart of the result depends
        on their values (see the module notes).
        """
        drop = self.left_out | {str(g) for g in networks}
        return self if drop == self.left_out else replace(self, left_out=frozenset(drop))

    @cached_property
    def _kept(self) -> tuple[SchemeScore, SchemeForecast]:
        """The scoring and forecast without the left-out networks' rows."""
        s, f, drop = self.score, self.forecast, self.left_out
        return (replace(s, scores=_without_rows(s.scores, drop), totals=_without_rows(s.totals, drop),
                        contributions=_without_rows(s.contributions, drop)),
                replace(f, forecasts=_without_rows(f.forecasts, drop), totals=_without_rows(f.totals, drop)))

    @cached_property
    def distribution(self) -> pd.DataFrame:
        """Per basis (scored, expected): total paid and the distribution of a network's payment."""
        return _distribution(self.scheme, *self._kept, self.inputs.data_version, len(self.left_out))

    @cached_property
    def targets(self) -> pd.DataFrame:
        """Per target: share of networks meeting it now and expected next year, and the money."""
        return _targets(self.scheme, *self._kept, self.inputs.data_version, len(self.left_out))

    @cached_property
    def sweep(self) -> pd.DataFrame:
        """Per target and shift of its target: share meeting it and money, now and next year."""
        return _sweep(self.scheme, self.inputs, self._kept[0], self.shifts, self.draws, self.left_out)

    @cached_property
    def charts(self) -> list[Chart]:
        """The payment histogram and, per target, share met and payment against the shift."""
        return _charts(self.scheme, *self._kept, self.sweep)


def design(scheme: Scheme, inputs: SchemeInputs, shifts: dict[str, list[float]] | None = None,
           draws: int | None = None) -> SchemeDesign:
    """Score and forecast a draft scheme; its design aid (see the module notes) is computed when read.

    ``shifts`` maps target ids to the shifts of their sweep.
    """
    draws = draws or scheme.forecast.draws
    return SchemeDesign(scheme, score_scheme(scheme, inputs), forecast_scheme(scheme, inputs, draws=draws), inputs,
                        shifts, draws)


def _without_rows(frame: pd.DataFrame, left_out: frozenset[str]) -> pd.DataFrame:
    return frame[~frame["group_id"].astype(str).isin(left_out)] if left_out else frame


def _quantiles(pence: pd.Series) -> dict[str, Any]:
    v = pence.dropna().astype(float).to_numpy()
    if not v.size:
        return {k: None for k in ("mean_pence", "min_pence", "p10_pence", "p25_pence", "median_pence", "p75_pence",
                                  "p90_pence", "max_pence")}
    q = np.quantile(v, [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
    out = {k: to_pence(exact(x) / 100) for k, x in zip(
        ("min_pence", "p10_pence", "p25_pence", "median_pence", "p75_pence", "p90_pence", "max_pence"), q,
        strict=True)}
    out["mean_pence"] = to_pence(exact(v.mean()) / 100)
    return out


def _stamp(frame: pd.DataFrame, scheme: Scheme, data_version: str, left_out: int, columns: list[str]
           ) -> pd.DataFrame:
    """The scheme, membership view, data version and networks left out on every row, in column order."""
    out = frame.copy()
    out["n_networks_left_out"] = left_out
    out["scheme_id"] = scheme.id
    out["scheme_version"] = scheme.version
    out["membership_view"] = scheme.view.label
    out["data_version"] = data_version
    return out.reindex(columns=columns)


def _distribution(scheme: Scheme, scored: SchemeScore, fc: SchemeForecast, data_version: str, left_out: int
                  ) -> pd.DataFrame:
    rows = []
    for basis, period, tot, pay_col in (("scored", scored.period, scored.totals, "payment_pence"),
                                        ("expected", fc.period, fc.totals, "expected_payment_pence")):
        pay = tot[pay_col]
        avail = tot["payment_available_pence"]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (pay.astype("Float64") / avail.astype("Float64")).astype(float)
        known = int(pay.notna().sum())
        rows.append({"basis": basis, "period": period, "n_networks": known,
                     "total_pence": int(pay.sum()) if known else None, "available_pence": int(avail.sum()),
                     **_quantiles(pay),
                     "median_share_of_available": float(np.nanmedian(share)) if np.isfinite(share).any() else None})
    return _stamp(pd.DataFrame(rows), scheme, data_version, left_out, DESIGN_COLUMNS)


def _targets(scheme: Scheme, scored: SchemeScore, fc: SchemeForecast, data_version: str, left_out: int
             ) -> pd.DataFrame:
    both = score_summary(scored).merge(forecast_summary(fc).drop(columns="note"), on="target_id", how="left")
    return _stamp(both, scheme, data_version, left_out, TARGET_SHARE_COLUMNS)


def moved(entry: SchemeIndicator, shift: Decimal, sign: int) -> SchemeIndicator | None:
    """``entry`` with its target moved by ``shift`` towards better values (None if that is impossible)."""
    t = entry.target
    step = sign * shift
    new: Any
    if isinstance(t, NetworkStandard | PracticeShare):
        new = t.model_copy(update={"standard": t.standard + step})
    elif isinstance(t, Thresholds):
        new = t.model_copy(update={"lower": t.lower + step, "upper": t.upper + step})
    else:
        assert isinstance(t, Improvement)
        if t.by + shift < 0:
            return None
        new = t.model_copy(update={"by": t.by + shift})
    return entry.model_copy(update={"target": new})


def default_shifts(scored: SchemeScore, entry: SchemeIndicator) -> list[Decimal]:
    """Nine steps of a quarter of the between-network SD of achievement (values for share targets)."""
    s = scored.scores
    s = s[(s["target_id"] == entry.target_id) & (s["status"] == "scored")]
    col = "value" if isinstance(entry.target, PracticeShare) else "achievement"
    sd = float(s[col].std()) if len(s) > 1 else float("nan")
    if not np.isfinite(sd) or sd <= 0:
        return [Decimal(0)]
    step = Decimal(f"{sd / 4:.2g}")
    return [step * k for k in STEPS]


def _sweep(scheme: Scheme, inputs: SchemeInputs, scored: SchemeScore, shifts: dict[str, list[float]] | None,
           draws: int, left_out: frozenset[str]) -> pd.DataFrame:
    """Per target and shift: share met and money now and next year, over the networks not ``left_out``."""
    models, _networks, available = fit_models(scheme, inputs, scheme.period)
    rows = []
    for e in scheme.indicators:
        sign = sign_of(inputs.definitions[e.indicator].polarity)
        grid = ([Decimal(repr(float(x))) for x in shifts[e.target_id]] if shifts and e.target_id in shifts
                else default_shifts(scored, e))
        for shift in grid:
            m = moved(e, shift, sign)
            if m is None:
                continue
            one = scheme.model_copy(update={"indicators": [m]})
            now = _without_rows(score_scheme(one, inputs, contributions=False).scores, left_out)
            ok = now[now["status"] == "scored"]
            summ = summarise_target(models[e.target_id], m, available[e.target_id], draws, scheme.forecast.seed,
                              scheme.confidence, None)
            nets = models[e.target_id].networks
            done = (nets["status"].eq(FORECAST) & ~nets["group_id"].astype(str).isin(left_out)).to_numpy()
            t = m.target
            rows.append({
                "target_id": e.target_id, "indicator_id": e.indicator, "target_type": t.type.value,
                "shift": float(shift), "standard": float(getattr(t, "standard", np.nan)),
                "lower_threshold": float(getattr(t, "lower", np.nan)),
                "upper_threshold": float(getattr(t, "upper", np.nan)),
                "improvement_by": float(getattr(t, "by", np.nan)), "period": scored.period, "n_networks": len(ok),
                "share_met": float(ok["met"].mean()) if len(ok) else None,
                "payment_pence": int(now["payment_pence"].sum()),
                "forecast_period": models[e.target_id].period, "n_forecast": int(done.sum()),
                "expected_share_met": float(summ["p_met"][done].mean()) if done.any() else None,
                "expected_payment_pence": to_pence(float(np.nansum(summ["pay_mean"][done]))),
            })
    return _stamp(pd.DataFrame(rows), scheme, inputs.data_version, len(left_out), SWEEP_COLUMNS)


def _charts(scheme: Scheme, scored: SchemeScore, fc: SchemeForecast, sweep: pd.DataFrame) -> list[Chart]:
    """A payment histogram (scored and expected) and, per target, share met and payment against the shift."""
    pay = pd.concat([
        pd.DataFrame({"series": f"scored {scored.period}", "gbp": scored.totals["payment_pence"].astype(float) / 100}),
        pd.DataFrame({"series": f"expected {fc.period}",
                      "gbp": fc.totals["expected_payment_pence"].astype(float) / 100}),
    ], ignore_index=True).dropna()
    hist = pd.DataFrame(columns=["series", "from_gbp", "to_gbp", "networks"])
    if len(pay):
        edges = np.histogram_bin_edges(pay["gbp"], bins=min(20, max(5, len(pay) // 10)))
        parts = []
        for name, d in pay.groupby("series", sort=False):
            counts, _ = np.histogram(d["gbp"], bins=edges)
            parts.append(pd.DataFrame({"series": name, "from_gbp": edges[:-1], "to_gbp": edges[1:],
                                       "networks": counts}))
        hist = pd.concat(parts, ignore_index=True)
    charts = [Chart(f"{scheme.id}-payments", "Payment per network", "histogram", "from_gbp", "networks",
                    "payment per network (£)", "networks", hist, series="series", x_to="to_gbp")]
    for tid, d in sweep.groupby("target_id", sort=False):
        share = pd.concat([
            pd.DataFrame({"shift": d["shift"], "series": f"scored {scored.period}", "value": d["share_met"]}),
            pd.DataFrame({"shift": d["shift"], "series": f"expected {fc.period}", "value": d["expected_share_met"]}),
        ], ignore_index=True)
        money = pd.concat([
            pd.DataFrame({"shift": d["shift"], "series": f"scored {scored.period}",
                          "value": d["payment_pence"].astype(float) / 100}),
            pd.DataFrame({"shift": d["shift"], "series": f"expected {fc.period}",
                          "value": d["expected_payment_pence"].astype(float) / 100}),
        ], ignore_index=True)
        charts.append(Chart(f"{scheme.id}-{tid}-share", f"{tid}: networks meeting the target as it moves", "line",
                            "shift", "value", "target moved (indicator units, + = harder)",
                            "share of networks meeting it", share, series="series"))
        charts.append(Chart(f"{scheme.id}-{tid}-payment", f"{tid}: total payment as the target moves", "line",
                            "shift", "value", "target moved (indicator units, + = harder)", "total payment (£)",
                            money, series="series"))
    return charts
