"""The two comparisons with England, and how result tables carry both without confusing them.

Every comparison of a group with England answers one of two questions (:class:`ComparisonType`): the
*evaluative* one (is the group different from random groups of England's practices of its size?) is the
default reading of every output; the *descriptive* one (is the group's rate different from England's,
given patient-level sampling?) stays available, labelled.

**Layout.** A table that carries comparisons (the scorecard, the summaries derived from it) holds the
default comparison in its plain columns (``lower``, ``upper``, ``method``, ``comparison``, ``p_value``,
``q_value``, ``comparison_fdr``, ``better``, ``n_worse``, ...), named by its ``comparison_type`` column,
and the other comparison in the same columns prefixed with its name (``descriptive_lower``,
``descriptive_comparison``, ``descriptive_better``, ...). Values, counts and provenance, which do not
depend on the comparison, are stored once. :func:`reading` gives the table as one comparison reads it
(the prefixed columns in place of the plain ones), so a page or download renders either comparison with
the same code; docs/bundle.md explains why the layout is wide rather than one row per comparison.

The sentences shown beside every comparison (:data:`SENTENCES`, :data:`NAMES`) live here so that the
reports, the dashboard and the API word them the same way.
"""

from __future__ import annotations

import pandas as pd

from gpscale.domain.vocabulary import ComparisonType

#: The comparison every output reads by default (plain columns).
DEFAULT_COMPARISON = ComparisonType.EVALUATIVE
#: The comparison kept beside it (prefixed columns).
OTHER_COMPARISON = ComparisonType.DESCRIPTIVE

#: Short names, as a toggle or a column heading shows them.
NAMES: dict[ComparisonType, str] = {
    ComparisonType.EVALUATIVE: "evaluative (against random groups of practices)",
    ComparisonType.DESCRIPTIVE: "descriptive (patient-level sampling only)",
}

#: One sentence per comparison saying what its "better" and "worse" mean.
SENTENCES: dict[ComparisonType, str] = {
    ComparisonType.EVALUATIVE: (
        "“Better” and “worse” here are the evaluative comparison: the group's value lies outside the range in "
        "which random groups of England's practices of the same size fall, so about 1 in 40 random groups is "
        "called better and 1 in 40 worse at 95% by chance alone."),
    ComparisonType.DESCRIPTIVE: (
        "“Better” and “worse” here are the descriptive comparison (as Fingertips publishes it): England's value "
        "lies outside the group's patient-level interval. It allows for the sampling of patients but not for the "
        "ordinary variation between practices, so many random groups of practices are flagged too."),
}


def prefix(kind: ComparisonType | str) -> str:
    """The column prefix of a comparison: none for the default, ``"descriptive_"`` for the other."""
    k = ComparisonType(kind)
    return "" if k is DEFAULT_COMPARISON else f"{k.value}_"


def reading(frame: pd.DataFrame, kind: ComparisonType | str = DEFAULT_COMPARISON) -> pd.DataFrame:
    """``frame`` as comparison ``kind`` reads it: its prefixed columns in place of the plain ones.

    The default comparison returns the frame's plain columns (the prefixed ones dropped); the other
    replaces every plain column that has a prefixed counterpart, keeps the column order and sets
    ``comparison_type``. Columns that do not depend on the comparison are shared.
    """
    pre = prefix(kind)
    other = prefix(OTHER_COMPARISON)
    if not pre:
        return frame.drop(columns=[c for c in frame.columns if c.startswith(other)])
    swapped = {c[len(pre):]: frame[c] for c in frame.columns if c.startswith(pre)}
    out = frame.drop(columns=[c for c in frame.columns if c.startswith(pre)])
    out = out.assign(**{c: v.to_numpy() for c, v in swapped.items() if c in out.columns})
    if "comparison_type" in out.columns:
        out["comparison_type"] = ComparisonType(kind).value
    return out


__all__ = ["DEFAULT_COMPARISON", "NAMES", "OTHER_COMPARISON", "SENTENCES", "ComparisonType", "prefix", "reading"]
