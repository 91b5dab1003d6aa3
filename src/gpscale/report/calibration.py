"""How often random groups of practices are flagged: the calibration table as reports and the dashboard show it.

The bundle's ``calibration`` table (:mod:`gpscale.evaluate.calibration`, written by every ``gpscale
evaluate`` unless ``--no-calibration``) holds, per analysis, comparison, indicator and confidence level, the
rate at which placebo groups (random sets of England's practices sized like the real groups) were flagged.
Nothing here computes a statistic: :func:`placebo_sentence` quotes the table's pooled rows (every year
pooled) and their range over indicators; :func:`size_sentence` the size analysis's rows the same way, with
their intervals; :func:`calibration_view` selects the rows a page shows; :func:`calibration_section` is the
national report's section. docs/methods/placebo-calibration.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from gpscale.domain.comparisons import SENTENCES
from gpscale.domain.vocabulary import ComparisonType
from gpscale.report import sections as S
from gpscale.report.data import ResultsData
from gpscale.report.html import Col

if TYPE_CHECKING:
    from gpscale.report.board import Section

TITLE = "How often would random groups of practices be flagged? (placebo calibration)"

#: The columns a page shows, in order.
COLUMNS = [
    Col("analysis", "analysis"), Col("comparison_type", "comparison"), Col("indicator", "indicator"),
    Col("period_type", "periods"), Col("n_periods", "years/months", "int"), Col("compared", "placebo comparisons",
                                                                                 "int"),
    Col("higher_rate", "flagged higher", "num", digits=3), Col("lower_rate", "flagged lower", "num", digits=3),
    Col("flagged_rate", "flagged in total", "num", digits=3),
    Col("flagged_rate_lower", "lower", "num", digits=3), Col("flagged_rate_upper", "upper", "num", digits=3),
    Col("expected_rate", "nominal", "num", digits=3), Col("verdict", "verdict"),
]


def calibration_view(data: ResultsData, conf: float = 0.95) -> S.Table:
    """Every analysis, comparison and indicator at ``conf``, all periods pooled (``period = "all"``)."""
    t = data.table("calibration")
    if t is None:
        return S.Table("calibration", TITLE, pd.DataFrame(), missing=S.not_computed("calibration")
                       + " (it was run with --no-calibration, or before issue 14)")
    t = t[(t["period"] == "all") & (t["confidence"] == conf)]
    titles = {k: v.title for k, v in data.indicators.items()}
    t = t.assign(indicator=[titles.get(i, i) for i in t["indicator_id"]]).sort_values(
        ["analysis", "comparison_type", "indicator_id", "period_type"]).reset_index(drop=True)
    if t.empty:
        return S.Table("calibration", TITLE, t, missing="the calibration wrote no rows at this confidence level")
    design = str(t["design"].iloc[0])
    caption = (f"{S.pct(conf)} comparisons; every year (or month) pooled; {design}; seed {t['seed'].iloc[0]}; "
               f"membership view {data.view}. Intervals are Wilson {S.pct(conf)} intervals on the rate.")
    notes = [SENTENCES[ComparisonType.EVALUATIVE], SENTENCES[ComparisonType.DESCRIPTIVE]]
    return S.Table("calibration", TITLE, t, caption=caption, notes=notes)


def _range(rates: pd.Series) -> str:
    lo, hi = float(rates.min()), float(rates.max())
    return f"{lo:.1%}" if abs(hi - lo) < 0.0005 else f"between {lo:.1%} and {hi:.1%}"


def placebo_sentence(data: ResultsData, conf: float = 0.95) -> str:
    """One sentence: how often the scorecard's comparisons flag random groups, quoted from the bundle."""
    view = calibration_view(data, conf)
    if view.missing:
        return f"How often random groups of practices would be flagged is not known: {view.missing}."
    card = view.frame[(view.frame["analysis"] == "scorecard") & (view.frame["compared"] > 0)]
    ev = card[card["comparison_type"] == ComparisonType.EVALUATIVE.value]
    de = card[card["comparison_type"] == ComparisonType.DESCRIPTIVE.value]
    if ev.empty:
        return "How often random groups of practices would be flagged is not known: no scorecard calibration rows."
    text = (f"Random groups of England's practices, sized like the groups in this report, are called better or "
            f"worse than England at {S.pct(conf)} by the evaluative comparison used throughout for "
            f"{_range(ev['flagged_rate'])} of comparisons per indicator (nominal {1 - conf:.1%})")
    if not de.empty:
        text += (f", and by the descriptive (Fingertips) comparison for {_range(de['flagged_rate'])}, because "
                 "practices differ from each other")
    return text + "."


def _rate(row: pd.Series) -> str:
    lo, hi = row["flagged_rate_lower"], row["flagged_rate_upper"]
    return f"{row['flagged_rate']:.1%} (Wilson 95% interval {lo:.1%} to {hi:.1%})"


def size_sentence(data: ResultsData, conf: float = 0.95) -> str:
    """One sentence: how often the size analysis finds a size slope among sets of placebo groups, quoted from
    the bundle's ``size`` rows (every year pooled; the lowest and highest indicator with their intervals)."""
    view = calibration_view(data, conf)
    f = view.frame
    rows = f[(f["analysis"] == "size") & (f["compared"] > 0)] if not view.missing else f
    if view.missing or rows.empty:
        return ("How often the size analysis finds a size slope among random groups of practices is not known: the "
                f"calibration has no size rows at {S.pct(conf)} (the size analysis is fitted at 95% and needs list "
                "sizes).")
    rows = rows.sort_values(["flagged_rate", "indicator_id"])
    low, high = rows.iloc[0], rows.iloc[-1]
    text = ("Among random groups of England's practices, sized like the groups in this report, the size analysis "
            f"finds a size slope (its {S.pct(conf)} interval excluding zero) for ")
    if len(rows) == 1:
        text += f"{_rate(low)} of sets and years"
    else:
        text += (f"between {_rate(low)} ({low['indicator']}) and {_rate(high)} ({high['indicator']}) of "
                 "sets and years, depending on the indicator")
    sets = int(high["placebo_groups"])
    return text + (f" (nominal {1 - conf:.1%}; {sets} sets of placebo groups); well above nominal, random groups "
                   "show the association too: it comes from the practices' own sizes, not from grouping them.")


def calibration_section(data: ResultsData, conf: float = 0.95) -> Section:
    """The national report's calibration section: the sentence, then the table (the appendix keeps it short)."""
    from gpscale.report.board import Block, Section, _table  # board imports this module's sentence

    view = calibration_view(data, conf)
    blocks = [Block("missing", caption=f"{view.title}: {view.missing}") if view.missing
              else _table(view.frame, COLUMNS, f"{view.title} ({view.caption})", max_rows=200)]
    return Section("calibration", TITLE, [placebo_sentence(data, conf), *view.notes], blocks)
