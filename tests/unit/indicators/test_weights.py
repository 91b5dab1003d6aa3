"""STAR-PU weights: the shipped table equals the HSCIC workbook, and quinary bands map to STAR-PU bands."""

from __future__ import annotations

import pytest

from gpscale.indicators import weights as wt
from tests.shared_data import shared_path

WORKBOOK = shared_path("real", "prescribing_openprescribing_fixtures", "prescribing_units_STAR-PU_ASTRO-PU_2013.xlsx")


def test_quinary_bands_map_to_star_pu_bands():
    m = wt.AGE_BAND_TO_STAR_PU
    assert m["0_4"] == "0_4" and m["5_9"] == m["10_14"] == "5_14" and m["15_19"] == m["20_24"] == "15_24"
    assert m["70_74"] == "65_74" and m["75_79"] == m["90_94"] == m["95+"] == m["85+"] == "75+"
    assert set(m.values()) == set(wt.STAR_PU_BANDS)


def test_shipped_schemes_are_complete():
    w = wt.shipped_weights()
    wt.check_complete(w, "oral_antibacterials_item", "2013")
    wt.check_complete(w, "oral_antibacterials_item", "2009")
    wt.check_complete(w, "hypnotics_adq", "2013")
    with pytest.raises(ValueError, match="no STAR-PU weights for scheme 'hypnotics_adq' vintage '2009'"):
        wt.check_complete(w, "hypnotics_adq", "2009")
    with pytest.raises(ValueError, match="lack bands: female 75\\+"):
        wt.check_complete(w[~((w.sex == "female") & (w.age_band == "75+"))], "hypnotics_adq", "2013")


@pytest.mark.realdata
@pytest.mark.skipif(not WORKBOOK.exists(), reason=f"HSCIC workbook not found at {WORKBOOK}")
def test_shipped_weights_equal_the_workbook():
    fresh = wt.read_hscic_workbook(WORKBOOK)
    shipped = wt.shipped_weights()
    keys = ["scheme", "vintage", "sex", "age_band"]
    merged = fresh.merge(shipped, on=keys, how="outer", suffixes=("_xlsx", "_yaml"), indicator=True)
    assert (merged._merge == "both").all(), merged[merged._merge != "both"]
    assert (merged.weight_xlsx == merged.weight_yaml).all()
    assert len(merged) == 2 * 9 * 3  # two sexes × nine bands × three scheme-vintages
