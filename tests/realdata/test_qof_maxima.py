"""Real data: the published QOF maxima table (gpscale.domain.qof) against every real file that states one.

* the overall achievement tables state the year's maximum in their headers ("Achievement score (559 max)");
* ORGANISATION_REFERENCE files give each practice's REVISED_MAXIMUM_POINTS, whose most common value is the
  national maximum (practices without some registers have less);
* the indicator mapping files list every indicator's points, which add up to the year's maximum.

2020/21 is the year these files settle: its reference and mapping files both say 567, not 559.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from gpscale.domain.qof import qof_max_points
from tests.shared_data import require_shared

pytestmark = pytest.mark.realdata

REAL = require_shared("real")
YEAR = re.compile(r"(?<!\d)(\d{2})(\d{2})(?!\d)")


def _fy_of_four_digits(name: str) -> str:
    """``ORGANISATION_REFERENCE_1920.csv`` -> ``FY2019/20``."""
    m = YEAR.search(name)
    assert m, name
    return f"FY20{m.group(1)}/{m.group(2)}"


def _read(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(path, encoding=encoding, dtype=str)
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"cannot read {path}")


def test_achievement_table_headers_state_the_tables_maximum() -> None:
    files = sorted((REAL / "qof_practice_overall_achievement").glob("QOF_*.csv"))
    assert files
    for f in files:
        score = [c for c in pd.read_csv(f, nrows=0, encoding="utf-8-sig").columns if "Achievement score" in c]
        stated = re.search(r"\d{3,4}", score[0])
        assert stated, (f.name, score)
        y = int(f.stem.split("_")[1][:4])
        assert qof_max_points(f"FY{y}/{(y + 1) % 100:02d}") == int(stated.group(0)), (f.name, score)


def test_organisation_reference_modal_maximum_is_the_tables() -> None:
    files = sorted((REAL / "qof_organisation_reference").glob("ORGANISATION_REFERENCE_*.csv"))
    assert len(files) >= 5
    for f in files:
        points = pd.to_numeric(_read(f)["REVISED_MAXIMUM_POINTS"], errors="coerce").dropna()
        modal = int(points.mode().iloc[0])
        assert (points == modal).mean() > 0.9, f.name  # nearly every practice can earn the full maximum
        assert qof_max_points(_fy_of_four_digits(f.name)) == modal, f.name


def test_indicator_points_add_up_to_the_tables_maximum() -> None:
    folder = REAL / "qof_organisation_reference"
    files = sorted([*folder.glob("MAPPING_INDICATORS_*.csv"), *folder.glob("INDICATOR_MAPPINGS_*.csv")])
    assert len(files) >= 5
    for f in files:
        total = pd.to_numeric(_read(f)["INDICATOR_POINT_VALUE"], errors="coerce").sum()
        assert qof_max_points(_fy_of_four_digits(f.name)) == total, f.name
