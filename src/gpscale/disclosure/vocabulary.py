"""The disclosure gate's closed vocabularies: why a cell is hidden, and which family of counts a table carries."""

from __future__ import annotations

from enum import StrEnum


class HideRule(StrEnum):
    """Why the gate hid a cell (the values written to ``suppression`` columns and the disclosure log)."""

    COUNT = "count under 5"
    DENOMINATOR = "denominator under 5"
    WEIGHTED = "weighted count under 5"
    SURVEY_BASE = "survey base under 10 respondents"
    COMPLEMENTARY = "complementary"
    UNPLANNED = "no disclosure decision for this cell"


class CellFamily(StrEnum):
    """Which published counts a table's rows carry (rows of one family share one hide decision per cell).

    ``practice``: a practice's counts for an indicator and period (the ``practice_values`` rows);
    ``entity``: a group's or England's pooled counts for an indicator and period (the ``scorecard``
    rows); ``none``: no counts of people or events (model estimates, registry facts).
    """

    PRACTICE = "practice"
    ENTITY = "entity"
    NONE = "none"
