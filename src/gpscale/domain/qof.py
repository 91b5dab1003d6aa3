"""The published maximum QOF points of each financial year: the one table every stage reads.

The QOF loaders check a file's stated maximum against it, the ``qof_total`` indicator divides by it
(``denominator.constant: qof_maximum_points``), and synthetic England writes it into its files.

Each range records where the figure was checked. Where the real files in ``shared/data/real`` cover a
year they decide: 2020/21 is **567**, not 559 (the ``ORGANISATION_REFERENCE_2021`` file's modal
``REVISED_MAXIMUM_POINTS`` and the sum of ``MAPPING_INDICATORS_2021`` indicator points are both 567;
97 points were recycled into new indicators and 8 were added that year, as the BMA's 2020/21 QOF guidance
also says). Years outside the table are unknown to this version: the loaders then take the maximum the
file's header states.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from gpscale.periods import FY_RE, fy_label


@dataclass(frozen=True)
class QofMaximum:
    """The national maximum points of the financial years starting ``first`` to ``last`` (inclusive)."""

    first: int
    last: int
    points: int
    evidence: str

    @property
    def label(self) -> str:
        """``FY2014/15-FY2019/20`` (or one year's label)."""
        a, b = fy_label(self.first), fy_label(self.last)
        return a if a == b else f"{a}-{b}"


QOF_MAXIMUM_POINTS: tuple[QofMaximum, ...] = (
    QofMaximum(2004, 2005, 1050, "NHS Digital, National QOF statistics for England 2004-05: average 958.7 points, "
               "91.3% of the total 1,050 available; 1,050 in the first two years (gpcontract.co.uk QOF FAQ)"),
    QofMaximum(2006, 2012, 1000, "the 2006/07 revision set 1,000 points (gpcontract.co.uk QOF FAQ); later "
               "changes to 2012/13 reallocated points within that total"),
    QofMaximum(2013, 2013, 900, "HSCIC QOF 2014-15 report as quoted by Pulse: 92.4% of a total of 900 points in "
               "2013/14"),
    QofMaximum(2014, 2019, 559, "341 points retired for 2014/15 (NHS Employers); real files: QOF_2017-18 to "
               "QOF_2019-20 headers '(559 max)', ORGANISATION_REFERENCE 2016/17-2019/20 modal 559, indicator "
               "mappings 2018/19 and 2019/20 sum to 559"),
    QofMaximum(2020, 2020, 567, "real files: ORGANISATION_REFERENCE_2021 modal 567, MAPPING_INDICATORS_2021 sums "
               "to 567; BMA QOF 2020/21 (139 + 74 + 354 = 567 points)"),
    QofMaximum(2021, 2024, 635, "real files: QOF_2021-22 header '(635 max)', MAPPING_INDICATORS 2021/22-2023/24 "
               "sum to 635; 2024/25 unchanged at 635 (GMS SFE Directions 2024)"),
    QofMaximum(2025, 2025, 564, "2025/26 GP contract: 212 points of 32 retired indicators removed, 141 "
               "redistributed to cardiovascular indicators (635 - 71 = 564)"),
)


def qof_max_points_of_year(start_year: int) -> int | None:
    """The national maximum points of the financial year starting in ``start_year`` (None if unknown)."""
    for m in QOF_MAXIMUM_POINTS:
        if m.first <= start_year <= m.last:
            return m.points
    return None


def qof_max_points(fy: str) -> int | None:
    """The national maximum points of a financial-year label such as ``FY2019/20`` (None if unknown)."""
    match = FY_RE.match(fy)
    if match is None:
        raise ValueError(f"{fy!r} is not a financial-year label (FYyyyy/yy)")
    return qof_max_points_of_year(int(match.group(1)))


def qof_maximum_changes() -> list[str]:
    """Financial years whose maximum differs from the year before: a percentage of a different maximum is
    a different measure, so every indicator over these maxima has a data break there."""
    return [fy_label(b.first) for a, b in pairwise(QOF_MAXIMUM_POINTS) if a.points != b.points]
