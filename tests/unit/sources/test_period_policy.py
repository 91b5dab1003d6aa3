"""Which period a file holds: content first, a disagreeing name is an error, --period only for the undated."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpscale.periods import PeriodType
from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.sources.period_policy import parse_stated_period, resolve_period

FY, MONTH = PeriodType.FINANCIAL_YEAR, PeriodType.MONTH


@pytest.mark.parametrize(
    ("typed", "label"),
    [("FY2019/20", "FY2019/20"), ("fy2019/20", "FY2019/20"), ("2019/20", "FY2019/20"), ("2019-20", "FY2019/20"),
     ("2019-09", "2019-09"), ("201909", "2019-09")],
)
def test_stated_periods_are_read_as_labels(typed: str, label: str) -> None:
    assert parse_stated_period(typed) == label


@pytest.mark.parametrize("typed", ["2019/21", "19/20", "2019-13", "next year", ""])
def test_unreadable_stated_periods_say_what_is_accepted(typed: str) -> None:
    with pytest.raises(ValueError, match="financial year"):
        parse_stated_period(typed)


def test_content_decides_and_a_disagreeing_name_is_an_error() -> None:
    assert resolve_period(Path("EPD.csv"), MONTH, "prescribing", content={"2019-09"}) == ["2019-09"]
    assert resolve_period(Path("EPD_201909.csv"), MONTH, "prescribing", content={"2019-09"}) == ["2019-09"]
    with pytest.raises(SourceError) as ei:
        resolve_period(Path("EPD_201909.csv"), MONTH, "prescribing", content={"2019-10"})
    assert ei.value.rule == v.PERIOD_INCONSISTENT and ei.value.where == "file name" and "2019-10" in str(ei.value)


def test_stated_period_is_for_files_that_carry_none() -> None:
    assert resolve_period(Path("prevalencebyprac.csv"), FY, "PREVALENCE", stated="FY2013/14") == ["FY2013/14"]
    assert resolve_period(Path("PREVALENCE_1920.csv"), FY, "PREVALENCE", stated="FY2019/20") == ["FY2019/20"]
    for path, kind, content, stated in (
        (Path("PREVALENCE_1920.csv"), FY, (), "FY2018/19"),  # disagrees with the name
        (Path("EPD.csv"), MONTH, {"2019-09"}, "2019-10"),  # disagrees with the content
        (Path("prevalencebyprac.csv"), FY, (), "2013-04"),  # a month for a financial-year file
    ):
        with pytest.raises(SourceError) as ei:
            resolve_period(path, kind, "x", content=content, stated=stated)
        assert ei.value.rule == v.PERIOD_INCONSISTENT and ei.value.where == "--period"


def test_no_period_anywhere_says_how_to_state_it() -> None:
    with pytest.raises(SourceError) as ei:
        resolve_period(Path("prevalencebyprac.csv"), FY, "PREVALENCE", example="PREVALENCE_1920.csv")
    assert ei.value.rule == v.PERIOD_UNKNOWN
    assert "--period FY2019/20 prevalencebyprac.csv" in str(ei.value) and "PREVALENCE_1920.csv" in str(ei.value)
