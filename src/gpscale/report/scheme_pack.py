"""Board-pack sections for a network in an incentive scheme: what it earned, how sure that is, who decides it.

One section per scheme bundle (:func:`gpscale.report.scheme_data.scheme_bundles`) that scores the group:
its targets with achievement, interval, payment and the "mostly chance" flag, next year's forecast
when the bundle has it, and the member practices that decide an outcome. Read from the disclosed
bundle only; no figure is computed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from gpscale.report.html import Col, is_true, table_html
from gpscale.report.pack_tables import APPENDIX_ROWS
from gpscale.report.scheme_data import CHANCE_NOTE, SchemeResults, chance_flags, pounds, scheme_bundles

if TYPE_CHECKING:
    from gpscale.report.board import Section
    from gpscale.report.data import ResultsData


def scheme_sections(data: ResultsData, group_id: str) -> list[Section]:
    """The group's section in each scheme that scores it (none when no scheme bundle does)."""
    from gpscale.report.board import Block, Section

    out: list[Section] = []
    for b in scheme_bundles(data.bundle.folder):
        s = SchemeResults(b)
        net = s.network(group_id)
        if net is None:
            continue
        paid = pounds(s.scores(group_id), "payment_pence")
        lines = [f"{s.title} ({s.period}, membership {s.meta('membership_view')}): "
                 f"{_int(net.get('targets_met'))} of {_int(net.get('targets'))} targets met, paid "
                 f"{pounds(_one(net), 'payment_pence').iloc[0]['payment_gbp'] or 'not published'}.", CHANCE_NOTE]
        sec = Section(f"scheme-{s.scheme_id}", f"Incentive scheme: {s.title}", lines)
        sec.blocks.append(Block("table", table_html(chance_flags(paid, "target_in_interval"), [
            Col("target_id", "target"), Col("target", "what"), Col("achievement", "achievement", "num"),
            Col("achievement_lower", "lower", "num"), Col("achievement_upper", "upper", "num"), Col("met", "met"),
            Col("chance", "chance"), Col("payment_gbp", "payment"), Col("suppression", "hidden because")],
            f"Targets, {s.period}")))
        fc = s.forecast(group_id)
        if not fc.empty:
            fc = chance_flags(pounds(fc, "expected_payment_pence"), "chance_decides")
            sec.blocks.append(Block("table", table_html(fc, [
                Col("target_id", "target"), Col("p_met", "probability met", "num"), Col("chance", "chance"),
                Col("expected_gbp", "expected payment"), Col("status", "status")],
                f"Forecast of {s.forecast_period}")))
        co = s.contributions(group_id)
        if "decisive" in co:
            decisive = co[co["decisive"].map(is_true)]
            sec.blocks.append(Block("table", table_html(pounds(decisive, "payment_change_without_pence",
                                                               "payment_change_at_standard_pence"), [
                Col("practice_code", "practice"), Col("target_id", "target"),
                Col("practice_value", "practice value", "num"),
                Col("payment_change_without_gbp", "payment change without it"),
                Col("payment_change_at_standard_gbp", "payment change if it met the target")],
                "Member practices that decide an outcome", max_rows=APPENDIX_ROWS,
                empty="no single member decides an outcome")))
        out.append(sec)
    return out


def _int(v: object) -> str:
    try:
        return f"{int(v):,}"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return "–"


def _one(row: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame([row])
