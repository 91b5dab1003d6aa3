"""The event-study chart: accessible (title, desc), escaped, the pre-period and the reference year visible."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gpscale.charts.event_study import EventPoint, event_study

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
    assert "year +2: 0.200 (0.150 to 0.250); 12 practices with the event, 40 comparators" in text
    # six years as circles; rectangles: background, shaded pre-period, the reference square
    assert text.count("<circle") == 6 and text.count("<rect") == 3
    # no year before the event: nothing shaded
    after = event_study(_points(first=0), "t", "log rate ratio")
    assert "<title>before the event" not in after and "<title>before the event" in text


def test_no_estimates_says_so():
    text = event_study([EventPoint(0, None, None, None)], "t", "log odds ratio")
    assert "no estimates to show" in text
