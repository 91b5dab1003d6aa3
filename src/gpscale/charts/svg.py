"""Every gpscale chart: small, fast, dependency-free SVG for the dashboard, the reports and the surveys.

Vega-Lite through vl-convert takes 150-500 ms per chart on a busy machine; a dashboard page must answer
in well under that, so the charts are drawn here directly as SVG text (about a millisecond each; see
docs/adr/0008-one-chart-stack.md). Colours and labels come from :mod:`gpscale.charts.palette`. Every
chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` (what it shows, for screen readers),
marks carry ``<title>`` tooltips (only values that passed disclosure control), and significance is shown
by colour *and* shape (Okabe-Ito colour-blind-safe palette), never colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from gpscale.charts.palette import COLOURS, ENGLAND, GROUP

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Arial,sans-serif"


def fmt(v: float | None, digits: int = 1) -> str:
    """A number for display; missing (or suppressed) values are an en dash."""
    if v is None or not isinstance(v, int | float) or not math.isfinite(float(v)):
        return "–"
    x = float(v)
    if abs(x) >= 10000:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks: list[float] = []
    t = start
    while len(ticks) < 40:
        ticks.append(round(t, 10))
        if t >= hi - step * 1e-9:
            break
        t += step
    return ticks


@dataclass
class _Canvas:
    width: int
    height: int
    title: str
    desc: str
    parts: list[str] = field(default_factory=list)

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x: float, y: float, s: str, size: int = 11, anchor: str = "start", weight: str = "normal",
             fill: str = "#222", rotate: float | None = None) -> None:
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{fill}"{tr}>{escape(s)}</text>')

    def render(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="{self.width}" height="{self.height}" role="img" style="{FONT}">'
            f"<title>{escape(self.title)}</title><desc>{escape(self.desc)}</desc>"
            f'<rect width="100%" height="100%" fill="#fff"/>' + "".join(self.parts) + "</svg>"
        )


class _Scale:
    def __init__(self, d0: float, d1: float, r0: float, r1: float) -> None:
        self.d0, self.d1, self.r0, self.r1 = d0, d1, r0, r1

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)

    def of(self) -> Callable[[float], float]:
        """The scale as a plain function (the same arithmetic, its differences computed once: for many points)."""
        if self.d1 == self.d0:
            middle = (self.r0 + self.r1) / 2
            return lambda v: middle
        r0, d0, span, reach = self.r0, self.d0, self.d1 - self.d0, self.r1 - self.r0
        return lambda v: r0 + (v - d0) / span * reach


def _finite(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and isinstance(v, int | float) and math.isfinite(float(v))]


def _y_axis(c: _Canvas, y: _Scale, ticks: list[float], left: float, right: float, label: str) -> None:
    for t in ticks:
        yy = y(t)
        c.add(f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e5e5e5"/>')
        c.text(left - 4, yy + 3.5, fmt(t, 2 if abs(t) < 10 else 1).rstrip("0").rstrip(".") if "." in fmt(t, 2)
               else fmt(t), size=10, anchor="end")
    if label:
        c.text(12, (y.r0 + y.r1) / 2, label[:60], size=10, anchor="middle", rotate=-90)


def _period_axes(c: _Canvas, periods: Sequence[str], ticks: list[float], left: float, right: float, top: float,
                 bottom: float, unit: str, inset: float, labels: int) -> tuple[_Scale, _Scale]:
    """Scales and axes of a chart over periods: the value axis with ticks, at most ``labels`` period labels."""
    y = _Scale(ticks[0], ticks[-1], bottom, top)
    n = len(periods)
    x = _Scale(0, max(n - 1, 1), left + inset, right - inset)
    _y_axis(c, y, ticks, left, right, unit)
    step = max(1, math.ceil(n / labels))
    for i, p in enumerate(periods):
        if i % step == 0 or i == n - 1:
            c.text(x(i), bottom + 12, str(p), size=9, anchor="end", rotate=-40)
    return x, y


def _symbol(shape: str, x: float, y: float, r: float, fill: str, stroke: str, tip: str) -> str:
    t = f"<title>{escape(tip)}</title>" if tip else ""
    if shape == "up":
        pts = f"{x:.1f},{y - r:.1f} {x - r:.1f},{y + r * 0.8:.1f} {x + r:.1f},{y + r * 0.8:.1f}"
        return f'<polygon points="{pts}" fill="{fill}" stroke="{stroke}">{t}</polygon>'
    if shape == "down":
        pts = f"{x:.1f},{y + r:.1f} {x - r:.1f},{y - r * 0.8:.1f} {x + r:.1f},{y - r * 0.8:.1f}"
        return f'<polygon points="{pts}" fill="{fill}" stroke="{stroke}">{t}</polygon>'
    if shape == "square":
        return (f'<rect x="{x - r * 0.8:.1f}" y="{y - r * 0.8:.1f}" width="{r * 1.6:.1f}" height="{r * 1.6:.1f}" '
                f'fill="{fill}" stroke="{stroke}">{t}</rect>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="{stroke}">{t}</circle>'


def shape_for(label: str) -> str:
    return {"better": "up", "higher": "up", "worse": "down", "lower": "down"}.get(label, "circle")


# ------------------------------------------------------------------------------------------------ trend


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    lower: Sequence[float | None] | None = None
    upper: Sequence[float | None] | None = None
    colour: str = GROUP
    dashed: bool = False


def trend(periods: Sequence[str], series: Sequence[Series], title: str, unit: str, breaks: Sequence[str] = (),
          width: int = 640, height: int = 260, desc: str = "") -> str:
    """Lines over periods with optional interval bands; vertical dotted lines at data breaks (never joined)."""
    c = _Canvas(width, height, title, desc or f"{title}: values by period for {', '.join(s.name for s in series)}.")
    left, right, top, bottom = 64, width - 12, 14, height - 58
    vals = [v for s in series for v in (*s.values, *(s.lower or ()), *(s.upper or ()))]
    fin = _finite(vals)
    if not fin or not periods:
        c.text(width / 2, height / 2, "no data to show", anchor="middle")
        return c.render()
    lo, hi = min(fin), max(fin)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
    ticks = nice_ticks(lo - pad, hi + pad)
    x, y = _period_axes(c, periods, ticks, left, right, top, bottom, unit, 8, 16)
    segments = _segments(periods, breaks)
    for b in breaks:
        if b in periods:
            i = list(periods).index(b)
            xx = x(i - 0.5)
            c.add(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{bottom}" stroke="#555" stroke-dasharray="2,3">'
                  f"<title>data break at {escape(b)}: values before are not comparable</title></line>")
    for s in series:
        if s.lower is not None and s.upper is not None:
            for seg in segments:
                pts = [(i, s.lower[i], s.upper[i]) for i in seg if _ok(s.lower[i]) and _ok(s.upper[i])]
                if len(pts) >= 2:
                    path = " ".join(f"{x(i):.1f},{y(float(u)):.1f}" for i, _, u in pts)  # type: ignore[arg-type]
                    path += " " + " ".join(f"{x(i):.1f},{y(float(lw)):.1f}" for i, lw, _ in reversed(pts))  # type: ignore[arg-type]
                    c.add(f'<polygon points="{path}" fill="{s.colour}" fill-opacity="0.18" stroke="none"/>')
                for i, lw, u in pts:
                    c.add(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(float(lw)):.1f}" y2="{y(float(u)):.1f}" '  # type: ignore[arg-type]
                          f'stroke="{s.colour}" stroke-opacity="0.5"/>')
        dash = ' stroke-dasharray="5,3"' if s.dashed else ""
        for seg in segments:
            run: list[tuple[int, float]] = [(i, float(s.values[i])) for i in seg if _ok(s.values[i])]  # type: ignore[arg-type]
            if len(run) >= 2:
                path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in run)
                c.add(f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="2"{dash}/>')
        for i, v in enumerate(s.values):
            if _ok(v):
                tip = f"{s.name}, {periods[i]}: {fmt(v, 2)}"
                if s.lower is not None and s.upper is not None and _ok(s.lower[i]) and _ok(s.upper[i]):
                    tip += f" ({fmt(s.lower[i], 2)} to {fmt(s.upper[i], 2)})"
                c.add(_symbol("square" if s.dashed else "circle", x(i), y(float(v)), 3.2, s.colour, "#fff", tip))  # type: ignore[arg-type]
    _legend(c, [(s.name, s.colour, s.dashed) for s in series], left, height - 8)
    return c.render()


def _ok(v: float | None) -> bool:
    return v is not None and isinstance(v, int | float) and math.isfinite(float(v))


def _segments(periods: Sequence[str], breaks: Sequence[str]) -> list[list[int]]:
    cuts = {list(periods).index(b) for b in breaks if b in periods}
    out: list[list[int]] = [[]]
    for i in range(len(periods)):
        if i in cuts and out[-1]:
            out.append([])
        out[-1].append(i)
    return out


def _legend(c: _Canvas, items: list[tuple[str, str, bool]], x0: float, y0: float) -> None:
    x = x0
    for name, colour, dashed in items:
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        c.add(f'<line x1="{x:.1f}" x2="{x + 18:.1f}" y1="{y0 - 4:.1f}" y2="{y0 - 4:.1f}" stroke="{colour}" '
              f'stroke-width="2"{dash}/>')
        c.text(x + 22, y0, name[:40], size=10)
        x += 30 + 6.2 * min(len(name), 40)


# ------------------------------------------------------------------------------------------------ funnel


@dataclass
class FunnelPoint:
    label: str
    x: float
    y: float
    position: str  # better / worse / similar / higher / lower / not compared
    tip: str = ""
    named: bool = False


def funnel(points: Sequence[FunnelPoint], grid_x: Sequence[float], limits: Mapping[str, Sequence[float]],
           target: float, title: str, unit: str, x_label: str, comparator: str = "England",
           width: int = 640, height: int = 340, desc: str = "", log_x: bool = True, judged: bool = True) -> str:
    """Funnel plot: points by size, target line, 95% and 99.8% limit curves; named points labelled."""
    c = _Canvas(width, height, title, desc or f"Funnel plot: {title}.")
    left, right, top, bottom = 64, width - 14, 14, height - 62
    xs = _finite([p.x for p in points if p.x > 0]) + _finite([g for g in grid_x if g > 0])
    shown = _finite([p.y for p in points])
    ys = [*shown, target]
    if not shown:
        c.text(width / 2, height / 2, "no data to show", anchor="middle")
        return c.render()
    for k in ("lower_998", "upper_998"):
        ys += _finite(v for v in limits.get(k, []) if v is not None)
    p_lo = min([*shown, target])
    p_hi = max([*shown, target])
    span = p_hi - p_lo or abs(p_hi) * 0.1 or 1.0
    lo, hi = max(min(ys), p_lo - span * 1.5), min(max(ys), p_hi + span * 1.5)
    ticks = nice_ticks(lo, hi)
    y = _Scale(ticks[0], ticks[-1], bottom, top)
    tf = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    x_lo, x_hi = (min(xs), max(xs)) if xs else (1.0, 10.0)
    x = _Scale(tf(x_lo), tf(x_hi) if x_hi > x_lo else tf(x_lo) + 1, left + 6, right - 6)
    _y_axis(c, y, ticks, left, right, unit)
    for t in _x_ticks(x_lo, x_hi, log_x):
        xx = x(tf(t))
        c.add(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#444"/>')
        c.text(xx, bottom + 15, fmt(t, 0), size=9, anchor="middle")
    c.text((left + right) / 2, bottom + 30, x_label + (" (log scale)" if log_x else ""), size=10, anchor="middle")
    c.add(f'<line x1="{left}" x2="{right}" y1="{y(target):.1f}" y2="{y(target):.1f}" stroke="{ENGLAND}" '
          f'stroke-width="1.5"><title>{escape(comparator)}: {fmt(target, 2)}</title></line>')
    at_x, at_y = x.of(), y.of()  # the scales' arithmetic with their constants taken once (1,000+ points)

    styles = {"lower_95": "4,3", "upper_95": "4,3", "lower_998": "", "upper_998": ""}
    for k, dash in styles.items():
        vals = limits.get(k)
        if not vals:
            continue
        runs: list[list[tuple[float, float]]] = [[]]
        for g, v in zip(grid_x, vals, strict=False):
            inside = g > 0 and _ok(v) and ticks[0] <= float(v) <= ticks[-1]
            if inside:
                runs[-1].append((g, float(v)))
            elif runs[-1]:
                runs.append([])
        da = f' stroke-dasharray="{dash}"' if dash else ""
        for run in runs:
            if len(run) >= 2:
                d = " ".join(f"{at_x(tf(g)):.1f},{at_y(v):.1f}" for g, v in run)
                c.add(f'<polyline points="{d}" fill="none" stroke="#666" stroke-width="1.2"{da}/>')
    lo_y, hi_y = ticks[0], ticks[-1]
    for p in sorted(points, key=lambda q: q.position != "similar"):
        if not (_ok(p.y) and p.x > 0):
            continue
        col = COLOURS.get(p.position, "#999")
        stroke = "#333" if p.position in ("not compared", "similar") else "#fff"
        px, py = at_x(tf(p.x)), at_y(min(max(p.y, lo_y), hi_y))
        c.add(_symbol(shape_for(p.position), px, py, 4.2 if p.named else 3.4, col, stroke,
                      p.tip or f"{p.label}: {fmt(p.y, 2)} ({p.position})"))
        if p.named:
            right_side = px < (left + right) / 2
            c.text(px + (6 if right_side else -6), py - 5, p.label[:40], size=9, fill="#111",
                   anchor="start" if right_side else "end")
    ly = height - 10
    c.add(f'<line x1="{left}" x2="{left + 18}" y1="{ly - 4}" y2="{ly - 4}" stroke="#666" stroke-dasharray="4,3"/>')
    c.text(left + 22, ly, "95% limits", size=10)
    c.add(f'<line x1="{left + 95}" x2="{left + 113}" y1="{ly - 4}" y2="{ly - 4}" stroke="#666"/>')
    c.text(left + 117, ly, "99.8% limits", size=10)
    c.add(f'<line x1="{left + 200}" x2="{left + 218}" y1="{ly - 4}" y2="{ly - 4}" stroke="#000" stroke-width="1.5"/>')
    c.text(left + 222, ly, comparator, size=10)
    xk = left + 300
    for lab in ("better", "similar", "worse") if judged else ("higher", "similar", "lower"):
        c.add(_symbol(shape_for(lab), xk, ly - 4, 4, COLOURS[lab], "#333" if lab == "similar" else "#fff", ""))
        c.text(xk + 7, ly, lab, size=10)
        xk += 62
    return c.render()


def _x_ticks(lo: float, hi: float, log_x: bool) -> list[float]:
    if not log_x:
        return nice_ticks(lo, hi)
    out = []
    for e in range(math.floor(math.log10(max(lo, 1e-9))), math.ceil(math.log10(max(hi, 1e-9))) + 1):
        for m in (1, 2, 5):
            v = m * 10**e
            if lo * 0.999 <= v <= hi * 1.001:
                out.append(float(v))
    return out or [lo, hi]


# ------------------------------------------------------------------------------------------------ spine


@dataclass
class SpineRow:
    label: str
    england: float
    minimum: float
    q1: float
    q3: float
    maximum: float
    value: float | None
    comparison: str
    better_right: bool | None  # None: no judgement (higher drawn right)
    tip: str = ""


def spine(rows: Sequence[SpineRow], title: str, width: int = 680, desc: str = "") -> str:
    """Fingertips-style spine chart: per indicator, the range and interquartile band of all groups,
    England at the centre, and the group's value as a marker (right is better where there is a polarity)."""
    row_h = 24
    label_w = 310
    height = 30 + row_h * max(len(rows), 1) + 34
    c = _Canvas(width, height, title, desc or f"Spine chart: {title}.")
    left, right = label_w, width - 16
    mid = (left + right) / 2
    half = (right - left) / 2
    c.text(left, 14, "worse / lower", size=10, fill="#555")
    c.text(right, 14, "better / higher", size=10, anchor="end", fill="#555")
    c.add(f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="20" y2="{20 + row_h * len(rows)}" stroke="#000" '
          'stroke-width="1.5"><title>England</title></line>')
    for i, r in enumerate(rows):
        yc = 20 + row_h * i + row_h / 2
        c.text(left - 8, yc + 4, r.label if len(r.label) <= 50 else r.label[:49] + "…", size=10, anchor="end")
        span = max(abs(r.maximum - r.england), abs(r.england - r.minimum)) or 1.0
        flip = r.better_right is False

        def pos(v: float, span: float = span, flip: bool = flip, r: SpineRow = r) -> float:
            d = (v - r.england) / span
            return mid + (-d if flip else d) * half

        a, b = sorted((pos(r.minimum), pos(r.maximum)))
        c.add(f'<rect x="{a:.1f}" y="{yc - 7:.1f}" width="{b - a:.1f}" height="14" fill="#E3E3E3">'
              f"<title>range of groups: {fmt(r.minimum, 2)} to {fmt(r.maximum, 2)}</title></rect>")
        a, b = sorted((pos(r.q1), pos(r.q3)))
        c.add(f'<rect x="{a:.1f}" y="{yc - 7:.1f}" width="{b - a:.1f}" height="14" fill="#A8A8A8">'
              f"<title>middle half of groups: {fmt(r.q1, 2)} to {fmt(r.q3, 2)}</title></rect>")
        if r.value is not None and _ok(r.value):
            col = COLOURS.get(r.comparison, "#999")
            c.add(_symbol(shape_for(r.comparison), pos(float(r.value)), yc, 6, col,
                          "#333" if r.comparison in ("similar", "not compared") else "#fff",
                          r.tip or f"{r.label}: {fmt(r.value, 2)} ({r.comparison}); England {fmt(r.england, 2)}"))
        else:
            c.text(mid + 8, yc + 4, "hidden or no data", size=9, fill="#555")
    ly = height - 12
    c.add(f'<rect x="{left}" y="{ly - 10}" width="16" height="10" fill="#E3E3E3"/>')
    c.text(left + 20, ly, "range of all groups", size=10)
    c.add(f'<rect x="{left + 130}" y="{ly - 10}" width="16" height="10" fill="#A8A8A8"/>')
    c.text(left + 150, ly, "middle 50% (IQR)", size=10)
    c.add(f'<line x1="{left + 255}" x2="{left + 255}" y1="{ly - 12}" y2="{ly + 2}" stroke="#000" stroke-width="1.5"/>')
    c.text(left + 260, ly, "England", size=10)
    return c.render()


# ------------------------------------------------------------------------------------------------ SPC


def spc(periods: Sequence[str], values: Sequence[float], mean: Sequence[float], lower: Sequence[float],
        upper: Sequence[float], variation: Sequence[str], rules: Sequence[str], title: str, unit: str,
        width: int = 640, height: int = 260, desc: str = "") -> str:
    """XmR chart: values, mean, process limits; special-cause points coloured and shaped by variation."""
    c = _Canvas(width, height, title, desc or f"XmR chart: {title}.")
    left, right, top, bottom = 64, width - 12, 14, height - 58
    fin = _finite([*values, *lower, *upper])
    if not fin:
        c.text(width / 2, height / 2, "no data to show", anchor="middle")
        return c.render()
    ticks = nice_ticks(min(fin), max(fin))
    x, y = _period_axes(c, periods, ticks, left, right, top, bottom, unit, 6, 14)
    for arr, dash, name in ((mean, "", "mean"), (lower, "5,3", "lower process limit"),
                            (upper, "5,3", "upper process limit")):
        d = " ".join(f"{x(i):.1f},{y(float(v)):.1f}" for i, v in enumerate(arr) if _ok(v))
        da = f' stroke-dasharray="{dash}"' if dash else ""
        c.add(f'<polyline points="{d}" fill="none" stroke="#555" stroke-width="1.2"{da}><title>{name}</title>'
              "</polyline>")
    d = " ".join(f"{x(i):.1f},{y(float(v)):.1f}" for i, v in enumerate(values))
    c.add(f'<polyline points="{d}" fill="none" stroke="#444" stroke-width="1.4"/>')
    for i, v in enumerate(values):
        var = variation[i]
        label = ("better" if "improvement" in var else "worse" if "concern" in var
                 else "higher" if "(high)" in var else "lower" if "(low)" in var else "similar")
        col = COLOURS[label] if label != "similar" else "#777"
        tip = f"{periods[i]}: {fmt(v, 2)}, {var}" + (f" ({rules[i]})" if rules[i] else "")
        c.add(_symbol(shape_for(label) if label != "similar" else "circle", x(i), y(float(v)),
                      4 if label != "similar" else 2.6, col, "#fff", tip))
    ly = height - 10
    items = [("special cause improvement", "better"), ("special cause concern", "worse"), ("common cause", "similar")]
    xk = left
    for text, lab in items:
        c.add(_symbol(shape_for(lab) if lab != "similar" else "circle", xk, ly - 4, 4,
                      COLOURS[lab] if lab != "similar" else "#777", "#fff", ""))
        c.text(xk + 7, ly, text, size=10)
        xk += 8 + 6 * len(text) + 16
    return c.render()


# ------------------------------------------------------------------------------------------------ scatter


@dataclass
class ScatterPoint:
    x: float
    y: float
    label: str
    category: str = "similar"
    tip: str = ""


def scatter(points: Sequence[ScatterPoint], title: str, x_label: str, y_label: str, reference: float | None = None,
            fit: Sequence[tuple[float, float, float, float]] = (), width: int = 640, height: int = 320,
            desc: str = "", log_x: bool = True) -> str:
    """Scatter of groups (size against performance), optional reference line and fitted curve with band."""
    c = _Canvas(width, height, title, desc or f"Scatter plot: {title}.")
    left, right, top, bottom = 64, width - 14, 14, height - 56
    pts = [p for p in points if _ok(p.x) and _ok(p.y) and (p.x > 0 or not log_x)]
    if not pts:
        c.text(width / 2, height / 2, "no data to show", anchor="middle")
        return c.render()
    ys = [p.y for p in pts] + ([reference] if reference is not None else [])
    ys += [v for f in fit for v in f[2:] if _ok(v)]
    ticks = nice_ticks(min(ys), max(ys))
    y = _Scale(ticks[0], ticks[-1], bottom, top)
    tf = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    x_lo, x_hi = min(p.x for p in pts), max(p.x for p in pts)
    x = _Scale(tf(x_lo), tf(x_hi) if x_hi > x_lo else tf(x_lo) + 1, left + 6, right - 6)
    _y_axis(c, y, ticks, left, right, y_label)
    for t in _x_ticks(x_lo, x_hi, log_x):
        xx = x(tf(t))
        c.add(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#444"/>')
        c.text(xx, bottom + 15, fmt(t, 0), size=9, anchor="middle")
    c.text((left + right) / 2, bottom + 30, x_label + (" (log scale)" if log_x else ""), size=10, anchor="middle")
    if reference is not None:
        c.add(f'<line x1="{left}" x2="{right}" y1="{y(reference):.1f}" y2="{y(reference):.1f}" stroke="#000" '
              f'stroke-width="1.5"><title>England: {fmt(reference, 2)}</title></line>')
    for p in sorted(pts, key=lambda q: q.category != "similar"):
        col = COLOURS.get(p.category, "#999")
        c.add(_symbol(shape_for(p.category), x(tf(p.x)), y(p.y), 3, col,
                      "#333" if p.category in ("similar", "not compared") else "#fff",
                      p.tip or f"{p.label}: {fmt(p.x, 0)}, {fmt(p.y, 2)}"))
    fit_pts = [f for f in fit if f[0] > 0 or not log_x]
    if len(fit_pts) >= 2:
        band = " ".join(f"{x(tf(f[0])):.1f},{y(f[3]):.1f}" for f in fit_pts)
        band += " " + " ".join(f"{x(tf(f[0])):.1f},{y(f[2]):.1f}" for f in reversed(fit_pts))
        c.add(f'<polygon points="{band}" fill="#6A3D9A" fill-opacity="0.15"/>')
        line = " ".join(f"{x(tf(f[0])):.1f},{y(f[1]):.1f}" for f in fit_pts)
        c.add(f'<polyline points="{line}" fill="none" stroke="#6A3D9A" stroke-width="2.5"><title>fitted curve with '
              "95% band</title></polyline>")
    return c.render()


# ------------------------------------------------------------------------------------------------ bars (surveys)


@dataclass
class Bar:
    """One horizontal bar, or one segment of a stacked bar: ``row`` and optional ``series`` (colour group)."""

    row: str
    start: float
    end: float
    colour: str
    tip: str = ""
    series: str = ""
    lower: float | None = None  # interval whisker (share bars)
    upper: float | None = None


def _title_lines(c: _Canvas, title: str, notes: Sequence[str], width: int) -> float:
    """Title and wrapped subtitle notes at the top; returns the y below them."""
    c.text(8, 18, title[:110], size=13, weight="bold")
    y = 34.0
    chars = max(40, int((width - 16) / 5.6))
    for note in notes:
        words, line = note.split(), ""
        for w in words:
            if len(line) + len(w) + 1 > chars and line:
                c.text(8, y, line, size=10, fill="#555")
                y += 13
                line = w
            else:
                line = f"{line} {w}".strip()
        if line:
            c.text(8, y, line, size=10, fill="#555")
            y += 13
    return y + 6


def bars(rows: Sequence[str], items: Sequence[Bar], title: str, notes: Sequence[str] = (),
         x_label: str = "%", domain: tuple[float, float] = (0.0, 100.0), legend: Sequence[tuple[str, str]] = (),
         points: bool = False, width: int = 640, desc: str = "") -> str:
    """Horizontal bars by row (side by side by series, or stacked segments when they share a row and series),
    with optional interval whiskers; ``points`` draws a dot at ``end`` instead of a bar. A zero line is drawn
    when the domain spans zero (diverging Likert bars)."""
    series = list(dict.fromkeys(b.series for b in items)) or [""]
    band = 14 * len(series) + 8
    label_w = min(260, 8 + 6.0 * max((len(r) for r in rows), default=4))
    probe = _Canvas(width, 10, title, "")
    top = _title_lines(probe, title, notes, width)
    height = int(top + band * len(rows) + 46 + (16 if legend else 0))
    c = _Canvas(width, height, title, desc or f"Bar chart: {title}.")
    _title_lines(c, title, notes, width)
    left, right = label_w, width - 14
    x = _Scale(domain[0], domain[1], left, right)
    bottom = top + band * len(rows)
    for t in nice_ticks(domain[0], domain[1], 5):
        if domain[0] <= t <= domain[1]:
            c.add(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="#e5e5e5"/>')
            c.text(x(t), bottom + 13, fmt(abs(t), 0), size=10, anchor="middle")
    c.text((left + right) / 2, bottom + 28, x_label, size=10, anchor="middle")
    for i, r in enumerate(rows):
        c.text(left - 6, top + band * i + band / 2 + 4, r[:48], size=10, anchor="end")
    for b in items:
        if b.row not in rows:
            continue
        i, k = list(rows).index(b.row), series.index(b.series)
        y0 = top + band * i + 4 + 14 * k
        tip = f"<title>{escape(b.tip)}</title>" if b.tip else ""
        if points:
            c.add(_symbol("circle", x(b.end), y0 + 6, 4, b.colour, "#fff", b.tip))
        else:
            x0, x1 = sorted((x(b.start), x(b.end)))
            c.add(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{max(x1 - x0, 0.5):.1f}" height="12" fill="{b.colour}">'
                  f"{tip}</rect>")
        if b.lower is not None and b.upper is not None and _ok(b.lower) and _ok(b.upper):
            c.add(f'<line x1="{x(b.lower):.1f}" x2="{x(b.upper):.1f}" y1="{y0 + 6:.1f}" y2="{y0 + 6:.1f}" '
                  f'stroke="#222" stroke-width="1.2"/>')
    if domain[0] < 0 < domain[1]:
        c.add(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="#333"/>')
    lx = 8.0
    for name, colour in legend:
        c.add(f'<rect x="{lx:.1f}" y="{height - 16:.1f}" width="10" height="10" fill="{colour}"/>')
        c.text(lx + 14, height - 7, name[:30], size=10)
        lx += 24 + 6.0 * min(len(name), 30)
    return c.render()
