"""The event-study chart: estimate and interval by year relative to the event, the pre-period visible.

Drawn with the conventions of :mod:`gpscale.charts.svg` (one ``<svg role="img">`` with ``<title>`` and
``<desc>``, every text escaped, tooltips on marks, shape as well as colour): a line at zero (no change
relative to comparators), the years before the event shaded and labelled, the event year marked, one
point with its interval per year, and the reference year (the year before the event, zero by
definition) drawn hollow. docs/methods/event-study.md ("Reading the chart").

**Scale.** The estimates are log ratios (log odds ratios for shares, log rate ratios for rates and
ratios): differences on that scale are symmetric (a halving and a doubling are equally far from zero) and
add up across years, so the chart keeps it; but the axis is labelled in words a board reads, as the
percentage change in the odds (or rate) relative to comparators, ``exp(estimate) - 1``, at round
percentages where the range allows (:func:`percent_ticks`). Tooltips give the same percentages.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from gpscale.charts.palette import COLOURS, GROUP
from gpscale.charts.svg import _Canvas, _finite, _Scale, _symbol, fmt, nice_ticks


@dataclass(frozen=True)
class EventPoint:
    """One year of an event study (a row of the bundle's ``event_study`` table)."""

    event_time: int
    estimate: float | None
    lower: float | None
    upper: float | None
    reference: bool = False
    n_treated: int | None = None
    n_comparators: int | None = None


def percent(v: float | None, digits: int | None = None) -> str:
    """A log ratio as the percentage change it stands for (0.0953 -> "+10%", -0.1054 -> "−10%"), to
    ``digits`` decimals (default: none from 9.5% or for whole percentages, else one)."""
    if v is None or not math.isfinite(v):
        return "–"
    p = 100 * math.expm1(v)
    if digits is None:
        digits = 0 if abs(p) >= 9.5 or abs(p - round(p)) < 0.05 else 1
    text = f"{p:+.{digits}f}%"
    return "0%" if float(text[:-1]) == 0 else text.replace("-", "−")


def axis_label(scale: str) -> str:
    """The value axis in words: the change in the odds (shares) or the rate (rates, ratios) vs comparators."""
    what = "odds" if "odds" in scale else "rate" if "rate" in scale else "ratio"
    return f"% change in the {what} vs comparators"


def percent_ticks(lo: float, hi: float) -> list[float]:
    """Ticks on the log-ratio axis covering [lo, hi], at round percentage changes where that gives three or
    more, else at round log ratios (each labelled with :func:`percent`)."""
    pct = [p for p in nice_ticks(100 * math.expm1(lo), 100 * math.expm1(hi)) if p > -100]
    ticks = [math.log1p(p / 100) for p in pct]
    if len(ticks) >= 3 and ticks[0] <= lo + 1e-12 and ticks[-1] >= hi - 1e-12:
        return ticks
    return nice_ticks(lo, hi)


def _tip(p: EventPoint) -> str:
    if p.reference:
        return f"year {p.event_time}: reference year (0 by definition)"
    n = f"; {p.n_treated} practices with the event, {p.n_comparators} comparators" if p.n_treated is not None else ""
    return (f"year {p.event_time:+d}: {percent(p.estimate)} ({percent(p.lower)} to {percent(p.upper)}; "
            f"log ratio {fmt(p.estimate, 3)}){n}")


def event_study(points: Sequence[EventPoint], title: str, scale: str, width: int = 420, height: int = 260,
                desc: str = "") -> str:
    """The chart of one study (one entity, event kind and indicator) on the estimates' ``scale``."""
    c = _Canvas(width, height, title, desc or (
        f"Event-study chart: {title}. {axis_label(scale)} ({scale}, drawn on a log scale) by year relative to "
        "the event, with 95% intervals; years before the event are shaded and should lie near zero."))
    left, right, top, bottom = 56, width - 12, 26, height - 40
    pts = sorted((p for p in points if p.estimate is not None), key=lambda p: p.event_time)
    vals = _finite([v for p in pts for v in (p.estimate, p.lower, p.upper)])
    if not pts or not vals:
        c.text(width / 2, height / 2, "no estimates to show", anchor="middle")
        return c.render()
    ticks = percent_ticks(min([*vals, 0.0]), max([*vals, 0.0]))
    y = _Scale(ticks[0], ticks[-1], bottom, top)
    e0, e1 = pts[0].event_time, pts[-1].event_time
    x = _Scale(e0 - 0.5, e1 + 0.5, left, right)
    if e0 < 0:  # the pre-period: left of the event year
        c.add(f'<rect x="{left}" y="{top}" width="{x(-0.5) - left:.1f}" height="{bottom - top}" fill="#f2f2f2">'
              "<title>before the event: estimates here should be near zero</title></rect>")
        c.text(left + 4, top - 6, "before the event", size=10, fill="#555")
    step = min((abs(math.expm1(b) - math.expm1(a)) * 100 for a, b in itertools.pairwise(ticks)),
               default=1.0)
    digits = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    for t in ticks:
        c.add(f'<line x1="{left}" x2="{right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e5e5e5"/>')
        c.text(left - 4, y(t) + 3.5, percent(t, min(digits, 2)), size=10, anchor="end")
    c.text(12, (top + bottom) / 2, axis_label(scale), size=10, anchor="middle", rotate=-90)
    c.add(f'<line x1="{left}" x2="{right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#000" stroke-width="1.2">'
          "<title>no change relative to comparators</title></line>")
    if e0 <= 0 <= e1:
        c.add(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{bottom}" stroke="#555" stroke-dasharray="4 3">'
              "<title>the event (year 0)</title></line>")
        c.text(x(0) + 3, top - 6, "event", size=10, fill="#555")
    for p in pts:
        xx = x(p.event_time)
        if p.lower is not None and p.upper is not None and not p.reference and _finite([p.lower, p.upper]):
            c.add(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{y(p.lower):.1f}" y2="{y(p.upper):.1f}" stroke="{GROUP}" '
                  'stroke-width="1.6"/>')
        fill = "#fff" if p.reference else COLOURS["better"]
        c.add(_symbol("square" if p.reference else "circle", xx, y(float(p.estimate or 0.0)), 3.5, fill, GROUP,
                      _tip(p)))
    for e in range(e0, e1 + 1):
        c.text(x(e), bottom + 14, f"{e:+d}" if e else "0", size=9, anchor="middle")
    c.text((left + right) / 2, bottom + 30, "years relative to the event (□ reference year)", size=10,
           anchor="middle")
    return c.render()
