"""Real data: OpenPrescribing's EPD fixture rows for four practices, September and October 2017.

The rows, the practices' quinary list sizes of the same months and the HSCIC 2013 STAR-PU table are
loaded through the loaders and, as a cross-check, also
parsed here with pandas straight into the canonical tables (with the shipped 2013 weights); either way
antibacterial items per 1,000 STAR-PU and the broad-spectrum % must match the hand calculation below.
Skipped when ../shared/data is absent.
"""

from __future__ import annotations

import pandas as pd
import pytest

from gpscale.indicators.compute import compute_indicators
from gpscale.store.db import open_store
from tests.fixtures.indicator_store import insert
from tests.shared_data import require_shared

pytestmark = pytest.mark.realdata

FIXTURES = require_shared("real", "prescribing_openprescribing_fixtures")

FILES = ["epd_201709.csv", "epd_201710.csv", "gp-reg-pat-prac-quin-age_201709.csv",
         "gp-reg-pat-prac-quin-age_201710.csv", "prescribing_units_STAR-PU_ASTRO-PU_2013.xlsx"]

# ---------------------------------------------------------------------------------- the hand calculation
# HSCIC STAR-PU(13) "Oral antibacterials (BNF 5.1 sub-set) ITEM based", bands 0-4, 5-14, 15-24, 25-34,
# 35-44, 45-54, 55-64, 65-74, 75+:
MALE = [0.8377155655095184, 0.3138732420636401, 0.33969141052120033, 0.2409056506545999,
        0.2668526596045998, 0.31587104773713576, 0.44801597638273855, 0.6931228760507959, 0.9860710593612275]
FEMALE = [0.7652339111849917, 0.3965845878554479, 0.6256560773480663, 0.5803189179127629,
          0.5851314623781853, 0.618586515495957, 0.7388612532655764, 0.9727081572044829, 1.2658322296629296]

# Registered patients summed from the quinary bands of gp-reg-pat-prac-quin-age (5_9 + 10_14 = 5-14, ...,
# 75_79 + ... + 95+ = 75+), males then females, in the bands above:
LISTS = {
    ("B85010", "2017-09"): [233, 440, 435, 453, 392, 527, 391, 316, 235, 212, 424, 397, 463, 423, 539, 418, 322, 319],
    ("B85054", "2017-09"): [266, 609, 511, 558, 680, 898, 769, 614, 360, 257, 603, 500, 552, 715, 832, 691, 639, 475],
    ("L84018", "2017-09"): [183, 375, 364, 368, 403, 461, 417, 386, 263, 149, 361, 354, 392, 409, 506, 431, 403, 407],
    ("L84073", "2017-09"): [142, 264, 226, 251, 258, 324, 263, 225, 147, 122, 235, 233, 251, 295, 280, 239, 236, 190],
    ("B85010", "2017-10"): [231, 441, 435, 456, 394, 531, 391, 312, 234, 216, 429, 390, 463, 426, 540, 422, 319, 321],
    ("B85054", "2017-10"): [261, 611, 510, 561, 681, 894, 771, 613, 360, 258, 600, 488, 552, 719, 827, 691, 642, 471],
    ("L84018", "2017-10"): [184, 377, 360, 372, 402, 467, 413, 388, 264, 145, 363, 350, 391, 412, 502, 434, 408, 407],
    ("L84073", "2017-10"): [138, 264, 226, 256, 258, 322, 262, 224, 150, 126, 233, 229, 251, 296, 275, 243, 235, 188],
}

# Items counted in the EPD rows (ITEMS summed by BNF_CODE prefix):
#   antibacterials: 0501* except 050109* (antituberculosis) and 050110* (antileprotic)
#   broad: 0501013K0* co-amoxiclav, 0501021* cephalosporins, 050112* quinolones
#   selected: 050101*, 0501021*, 050103*, 050105*, 050108*, 050111*, 050112*, 050113*
ITEMS = {  # (antibacterials, broad, selected)
    ("B85010", "2017-09"): (328, 28, 327),
    ("B85054", "2017-09"): (537, 52, 524),
    ("L84018", "2017-09"): (269, 31, 267),
    ("L84073", "2017-09"): (174, 16, 170),  # plus 1 antituberculosis item, not counted
    ("B85010", "2017-10"): (344, 25, 344),
    ("B85054", "2017-10"): (521, 39, 514),
    ("L84018", "2017-10"): (269, 25, 267),
    ("L84073", "2017-10"): (193, 22, 189),  # plus 1 antituberculosis item
}


def star_pu(key: tuple[str, str]) -> float:
    counts = LISTS[key]
    return sum(n * w for n, w in zip(counts, MALE + FEMALE, strict=True))


# e.g. L84073 September 2017: STAR-PU = 142×0.8377 + 264×0.3139 + ... + 190×1.2658 = 2,399.45;
# 174 items / 2,399.45 × 1,000 = 72.52 per 1,000 STAR-PU; broad spectrum 16 / 170 = 9.41 %
HAND = {
    key: (abx / star_pu(key) * 1000, broad / selected * 100)
    for key, (abx, broad, selected) in ITEMS.items()
}


def test_hand_calculation_is_what_we_think():
    assert round(star_pu(("L84073", "2017-09")), 2) == 2399.45
    assert round(HAND[("L84073", "2017-09")][0], 2) == 72.52
    assert round(HAND[("L84073", "2017-09")][1], 2) == 9.41


# ----------------------------------------------------------------------------------------------- loading


def _load_with_pandas(store) -> None:
    """The canonical rows, parsed here (used only when the loaders are not ready)."""
    for f in FILES[:2]:
        epd = pd.read_csv(FIXTURES / f, encoding="utf-8-sig", dtype={"BNF_CODE": str, "PRACTICE_CODE": str})
        insert(store, "prescribing", pd.DataFrame({
            "practice_code": epd.PRACTICE_CODE, "period": epd.YEAR_MONTH.str.replace("_", "-"),
            "bnf_code": epd.BNF_CODE, "items": epd.ITEMS, "quantity": epd.TOTAL_QUANTITY,
            "adq_usage": epd.ADQUSAGE, "nic": epd.NIC, "actual_cost": epd.ACTUAL_COST,
        }))
    for f in FILES[2:4]:
        reg = pd.read_csv(FIXTURES / f, encoding="utf-8-sig")
        month = pd.to_datetime(reg.EXTRACT_DATE, format="%d%b%Y").dt.strftime("%Y-%m")
        insert(store, "practice_population", pd.DataFrame({
            "practice_code": reg.ORG_CODE, "period": month, "period_type": "month",
            "sex": reg.SEX.str.lower(), "age_band": reg.AGE_GROUP_5.str.lower(),
            "patients": reg.NUMBER_OF_PATIENTS,
        }))
    # weights: the shipped 2013 table (read from the same workbook; tests/unit checks they agree)


@pytest.fixture(scope="module", params=["loaders", "pandas"])
def results(request):
    """Computed values, with the files loaded by the loaders and, as a cross-check, parsed here."""
    store = open_store(":memory:")
    if request.param == "loaders":
        from gpscale.store.ingest import ingest

        ingest(store, [FIXTURES / f for f in FILES])
    else:
        _load_with_pandas(store)
    df = compute_indicators(store, ["rx_antibacterial_items", "rx_broad_spectrum"])
    store.close()
    return request.param, df.set_index(["indicator_id", "practice_code", "period"])


def test_antibacterial_items_per_1000_star_pu(results):
    how, df = results
    for (practice, month), (rate, _) in HAND.items():
        got = df.loc[("rx_antibacterial_items", practice, month), "value"]
        assert got == pytest.approx(rate, rel=1e-12), (how, practice, month)


def test_broad_spectrum_percent(results):
    how, df = results
    for (practice, month), (_, pct) in HAND.items():
        got = df.loc[("rx_broad_spectrum", practice, month), "value"]
        assert got == pytest.approx(pct, rel=1e-12), (how, practice, month)


def test_exactly_four_practices_by_two_months(results):
    _, df = results
    assert len(df) == 16 and set(df.index.get_level_values("period")) == {"2017-09", "2017-10"}
