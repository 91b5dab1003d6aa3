from datetime import date

import pytest

from gpscale.periods import PeriodType, fy_label, fy_of, fy_of_month, months_of_fy, parse_period


def test_financial_year_labels_and_bounds():
    p = parse_period("FY2019/20")
    assert p.type is PeriodType.FINANCIAL_YEAR
    assert (p.start, p.end) == (date(2019, 4, 1), date(2020, 3, 31))
    assert fy_label(1999) == "FY1999/00"
    assert fy_of(date(2020, 3, 31)) == "FY2019/20"
    assert fy_of(date(2020, 4, 1)) == "FY2020/21"


def test_months():
    p = parse_period("2020-02")
    assert p.type is PeriodType.MONTH and p.end == date(2020, 2, 29)
    assert months_of_fy(2019)[0] == "2019-04" and months_of_fy(2019)[-1] == "2020-03"
    assert fy_of_month("2020-03") == "FY2019/20"


@pytest.mark.parametrize("bad", ["2019/20", "FY2019/21", "2019-13", "201909", ""])
def test_bad_labels_name_the_label(bad):
    with pytest.raises(ValueError, match=r"period label|second year|month must"):
        parse_period(bad)
