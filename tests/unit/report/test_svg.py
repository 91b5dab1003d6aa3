"""The fast SVG charts."""

from __future__ import annotations

import numpy as np

from gpscale.charts import svg

# ------------------------------------------------------------------------------------------------ charts


def test_nice_ticks_cover_the_range_with_round_steps():
    ticks = svg.nice_ticks(3.2, 97.5)
    assert ticks[0] <= 3.2 and ticks[-1] >= 97.5
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0]) and steps[0] in (10, 20, 25)
    assert svg.nice_ticks(5, 5)[-1] > 5  # a flat series still gets an axis
    assert svg.fmt(None) == "–" and svg.fmt(float("nan")) == "–" and svg.fmt(12345.6) == "12,346"


def test_trend_never_joins_across_a_data_break_and_says_so():
    periods = ["FY2010/11", "FY2011/12", "FY2012/13", "FY2013/14", "FY2014/15"]
    s = svg.Series("G", [1, 2, 3, 4, 5], [0.5, 1.5, 2.5, 3.5, 4.5], [1.5, 2.5, 3.5, 4.5, 5.5])
    out = svg.trend(periods, [s], "t", "u", breaks=["FY2013/14"])
    assert out.count("<polyline") == 2  # one line per side of the break
    assert "data break at FY2013/14" in out
    assert out.startswith("<svg") and 'role="img"' in out and "<title>t</title>" in out


def test_chart_text_is_escaped():
    p = [svg.FunnelPoint("<script>alert(1)</script>", 100, 0.5, "worse", named=True)]
    out = svg.funnel(p, [10, 100, 1000], {"lower_95": [0.2, 0.4, 0.45], "upper_95": [0.8, 0.6, 0.55]}, 0.5,
                     "A & B", "%", "n")
    assert "<script>" not in out and "&lt;script&gt;" in out and "A &amp; B" in out


def test_funnel_labels_named_points_and_draws_both_limits():
    pts = [svg.FunnelPoint(f"P{i}", 100 * (i + 1), 0.5 + 0.01 * i, "similar") for i in range(10)]
    pts.append(svg.FunnelPoint("Outlier Practice", 500, 0.9, "worse", named=True))
    grid = list(np.geomspace(50, 1500, 30))
    limits = {k: [0.5 + sign * z * 0.5 / np.sqrt(g) for g in grid]
              for k, sign, z in (("lower_95", -1, 1.96), ("upper_95", 1, 1.96), ("lower_998", -1, 3.09),
                                 ("upper_998", 1, 3.09))}
    out = svg.funnel(pts, grid, limits, 0.5, "f", "%", "denominator")
    assert ">Outlier Practice<" in out  # named on the chart
    assert out.count('stroke-dasharray="4,3"') >= 3 and "99.8% limits" in out
    assert "<polygon" in out  # the worse point is a downward triangle, not only a colour


def test_spine_puts_better_on_the_right_for_low_is_good():
    row = svg.SpineRow("x", england=10, minimum=5, q1=8, q3=12, maximum=15, value=6, comparison="better",
                       better_right=False)
    out = svg.spine([row], "s")
    centre = float(out.split('<line x1="')[1].split('"')[0])
    marker_x = float(out.split("<polygon points=\"")[1].split(",")[0])
    assert marker_x > centre  # a low value is good here, so it is drawn right of England


def test_spc_marks_special_causes_with_their_rule():
    out = svg.spc(["2024-01", "2024-02", "2024-03"], [1, 2, 9], [2, 2, 2], [0, 0, 0], [4, 4, 4],
                  ["common cause", "common cause", "special cause concern"], ["", "", "beyond limits"], "s", "u")
    assert "special cause concern (beyond limits)" in out


def test_a_scale_as_a_plain_function_places_every_value_where_the_scale_does():
    """``_Scale.of`` (used for the 1,000+ points of a funnel) is the scale's own arithmetic, to the last bit."""
    rng = np.random.default_rng(3)
    for d0, d1, r0, r1 in [*rng.normal(0, 1e3, (200, 4)).tolist(), (5.0, 5.0, 10.0, 300.0), (0.0, 1.0, 276.0, 14.0)]:
        scale = svg._Scale(d0, d1, r0, r1)
        at = scale.of()
        for v in [*rng.normal(0, 2e3, 50).tolist(), d0, d1, 0.0]:
            assert at(v) == scale(v)
