"""The event-study chart: accessible (title, desc), escaped, the pre-period and the reference year visible."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from gpscale.charts.event_study import EventPoint, event_study, percent, percent_ticks

NS = "{http://www.w3.org/2000/svg}"


def _points(first: int = -3) -> list[EventPoint]:
    return [EventPoint(e, 0.0 if e == -1 else 0.1 * e, None if e == -1 else 0.1 * e - 0.05,
                       None if e == -1 else 0.1 * e + 0.05, reference=e == -1, n_treated=12, n_comparators=40)
            for e in range(first, 4)]


def test_the_chart_is_valid_svg_with_an_escaped_title_and_a_description():
    text = event_study(_points(), 'QOF: <script>alert("x")</script> & Co', "log odds ratio")
    root = ET.fromstring(text)  # well-formed: every text escaped
    assert root.get("role") == "img"
    assert root.find(f"{NS}title").text == 'QOF: <script>alert("x")</script> & Co'
    assert "shaded" in root.find(f"{NS}desc").text and "<script>" not in text


def test_pre_period_event_line_and_reference_year_are_drawn_with_their_tooltips():
    text = event_study(_points(), "t", "log rate ratio")
    assert "before the event" in text and "the event (year 0)" in text
    assert "year -1: reference year (0 by definition)" in text
    # exp(0.2) = 1.221, exp(0.15) = 1.162, exp(0.25) = 1.284
    assert ("year +2: +22% (+16% to +28%; log ratio 0.200); 12 practices with the event, 40 comparators"
            in text)
    # six years as circles; rectangles: background, shaded pre-period, the reference square
    assert text.count("<circle") == 6 and text.count("<rect") == 3
    # no year before the event: nothing shaded
    after = event_study(_points(first=0), "t", "log rate ratio")
    assert "<title>before the event" not in after and "<title>before the event" in text


def test_no_estimates_says_so():
    text = event_study([EventPoint(0, None, None, None)], "t", "log odds ratio")
    assert "no estimates to show" in text


def test_the_axis_reads_as_percentage_changes_at_round_values_placed_on_the_log_ratio_scale():
    # a tick labelled +10% sits where the odds are 1.1 times the comparators': log 1.1
    assert percent_ticks(-0.1, 0.3) == pytest.approx([math.log(x) for x in (0.9, 1.0, 1.1, 1.2, 1.3, 1.4)])
    assert [percent(math.log(x)) for x in (0.9, 1.0, 1.1, 1.5, 0.5)] == ["−10%", "0%", "+10%", "+50%", "−50%"]
    text = event_study(_points(), "t", "log odds ratio")
    labels = re.findall(r">([^<>]*%)</text>", text)
    # estimates and intervals span log -0.35 to 0.35: -29.5% to +41.9%, in steps of 20%
    assert labels == ["−40%", "−20%", "0%", "+20%", "+40%", "+60%"]
    assert "% change in the odds vs comparators" in text
    assert "% change in the rate vs comparators" in event_study(_points(), "t", "log rate ratio")


def test_a_range_too_wide_for_round_percentages_keeps_round_log_ratios_labelled_in_percent():
    # -86% to +639%: round percentages (steps of 200%) would leave the lower half without a tick
    assert percent_ticks(-2.0, 2.0) == pytest.approx([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert percent(-1.0) == "−63%" and percent(1.0) == "+172%"
