"""The one palette: colours, shapes' text labels and series colours for every gpscale chart and table.

Okabe-Ito colour-blind-safe colours by comparison label (text labels always accompany them, so colour is
never the only cue), light tints for table cells, the series colours of a group and England, and the
diverging and categorical scales of survey charts (ColorBrewer RdBu and a colour-blind-safe set).
"""

from __future__ import annotations

from typing import Final

#: The label shown for a row the disclosure gate hid.
SUPPRESSED: Final = "suppressed"

#: Okabe-Ito colours by comparison label (text labels always accompany them).
COLOURS = {
    "better": "#0072B2",
    "worse": "#D55E00",
    "similar": "#999999",
    "higher": "#CC79A7",
    "lower": "#009E73",
    "not compared": "#FFFFFF",
    SUPPRESSED: "#FFFFFF",
}
#: Light tints of the same colours for table cells and badges (dark text stays readable on them).
TINTS = {"better": "#BFDDF2", "worse": "#F6C9AC", "similar": "#EEEEEE", "higher": "#EED3E4", "lower": "#BFE6D9"}
#: Short text labels used inside rug cells (the legend spells them out).
SYMBOLS = {
    "better": "▲ better",
    "worse": "▼ worse",
    "similar": "● similar",
    "higher": "△ higher",
    "lower": "▽ lower",
    "not compared": "– n/c",
    SUPPRESSED: "* hidden",
}
GROUP = "#0072B2"
ENGLAND = "#000000"
#: Survey charts: negative answers (strongest first), positive answers (weakest first), neutral, categories.
NEGATIVE = ("#b2182b", "#d6604d", "#f4a582", "#fddbc7")
POSITIVE = ("#d1e5f0", "#92c5de", "#4393c3", "#2166ac")
NEUTRAL = "#d9d9d9"
CATEGORY = ("#1b6ca8", "#e07b39", "#3a9d5d", "#8e5ea2", "#c44e52", "#7f7f7f", "#bcbd22")


def css() -> str:
    """The comparison tints as CSS rules for badges and scorecard (rug) cells."""
    return "\n".join(f".badge.{k}, table.rug td.{k} {{ background: {v}; }}" for k, v in TINTS.items()) + "\n"
