"""The event-study chart: estimate and interval by year relative to the event, the pre-period visible.

Drawn with the conventions of :mod:`gpscale.charts.svg` (one ``<svg role="img">`` with ``<title>`` and
``<desc>``, every text escaped, tooltips on marks, shape as well as colour): a line at zero (no change
relative to comparators), the years before the event shaded and labelled, the event year marked, one
point with its interval per year, and the reference year (the year before the event, zero by
definition) drawn hollow. docs/methods/event-study.md ("Reading the chart").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gpscale.charts.palette import COLOURS, GROUP
from gpscale.charts.svg import _Canvas, _finite, _Scale, _symbol, _y_axis, fmt, nice_ticks


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


def _tip(p: EventPoint) -> str:
    if p.reference:
        return f"year {p.event_time}: reference year (0 by definition)"
    n = f"; {p.n_treated} practices with the event, {p.n_comparators} comparators" if p.n_treated is not None else ""
    return f"year {p.event_time:+d}: {fmt(p.estimate, 3)} ({fmt(p.lower, 3)} to {fmt(p.upper, 3)}){n}"


def event_study(points: Sequence[EventPoint], title: str, scale: str, width: int = 420, height: int = 260,
                desc: str = "") -> str:
    """The chart of one study (one entity, event kind and indicator) on the estimates' ``scale``."""
    c = _Canvas(width, height, title, desc or (
        f"Event-study chart: {title}. Change relative to comparators ({scale}) by year relative to the event, "
        "with 95% intervals; years before the event are shaded and should lie near zero."))
    left, right, top, bottom = 56, width - 12, 26, height - 40
    pts = sorted((p for p in points if p.estimate is not None), key=lambda p: p.event_time)
    vals = _finite([v for p in pts for v in (p.estimate, p.lower, p.upper)])
    if not pts or not vals:
        c.text(width / 2, height / 2, "no estimates to show", anchor="middle")
        return c.render()
    ticks = nice_ticks(min([*vals, 0.0]), max([*vals, 0.0]))
    y = _Scale(ticks[0], ticks[-1], bottom, top)
    e0, e1 = pts[0].event_time, pts[-1].event_time
    x = _Scale(e0 - 0.5, e1 + 0.5, left, right)
    if e0 < 0:  # the pre-period: left of the event year
        c.add(f'<rect x="{left}" y="{top}" width="{x(-0.5) - left:.1f}" height="{bottom - top}" fill="#f2f2f2">'
              "<title>before the event: estimates here should be near zero</title></rect>")
        c.text(left + 4, top - 6, "before the event", size=10, fill="#555")
    _y_axis(c, y, ticks, left, right, scale)
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
