"""STAR-PU weights and age-band mapping for weighted prescribing denominators.

A practice's STAR-PU for a scheme is Σ over sex and age band of (registered patients × weight), the
weight being the national annual prescribing per patient of that band (HSCIC tables, 2013 and 2009
vintages). Registrations are published in quinary bands (0_4 … 90_94, 95+); the weights in ten-year-ish
bands (0_4, 5_14, 15_24 … 65_74, 75+), so quinary bands are summed into the published ones first.

The weights needed by the default indicators ship as package data (``weights/star_pu.yaml``, with its
source cited). A store whose ``prescribing_weight`` table holds rows for the same ``scheme`` and
``vintage`` uses those instead (the loader of the HSCIC workbook must use the scheme ids below).

Run ``python -m gpscale.indicators.weights WORKBOOK.xlsx`` to re-read the HSCIC workbook and print the
shipped schemes' weights for a diff against the package data.
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

#: The published STAR-PU age bands, in order.
STAR_PU_BANDS: tuple[str, ...] = (
    "0_4", "5_14", "15_24", "25_34", "35_44", "45_54", "55_64", "65_74", "75+",
)

#: Workbook titles of the schemes shipped (scheme id -> title in the HSCIC "STAR-PUs" sheet).
SHIPPED_SCHEMES: dict[str, str] = {
    "oral_antibacterials_item": "Oral antibacterials (BNF 5.1 sub-set) ITEM based STAR PU",
    "hypnotics_adq": "Hypnotics (BNF 4.1.1 sub-set) ADQ based STAR PU",
}


def _band_map() -> dict[str, str]:
    """Every age-band label the store may hold -> the STAR-PU band it belongs to."""
    m: dict[str, str] = {b: b for b in STAR_PU_BANDS}
    for lo in range(0, 95, 5):
        q = f"{lo}_{lo + 4}"
        if lo < 5:
            m[q] = "0_4"
        elif lo >= 75:
            m[q] = "75+"
        else:
            decade_lo = 5 + 10 * ((lo - 5) // 10)
            m[q] = f"{decade_lo}_{decade_lo + 9}"
    for open_band in ("75+", "80+", "85+", "90+", "95+"):
        m[open_band] = "75+"
    return m


#: quinary (and published) age band -> STAR-PU band
AGE_BAND_TO_STAR_PU: dict[str, str] = _band_map()


def band_map_frame() -> pd.DataFrame:
    """The age-band mapping as a two-column frame (age_band, star_pu_band) for joins."""
    return pd.DataFrame(
        {"age_band": list(AGE_BAND_TO_STAR_PU), "star_pu_band": list(AGE_BAND_TO_STAR_PU.values())}
    )


@cache
def _shipped() -> dict[str, dict[str, object]]:
    text = (resources.files("gpscale.indicators") / "weights" / "star_pu.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text)["schemes"])


def shipped_weights() -> pd.DataFrame:
    """All shipped weights: scheme, vintage, sex, age_band (STAR-PU band), weight."""
    rows = []
    for scheme, spec in _shipped().items():
        vintages = spec["vintages"]
        assert isinstance(vintages, dict)
        for vintage, by_sex in vintages.items():
            for sex, by_band in by_sex.items():
                for band, w in by_band.items():
                    rows.append((scheme, str(vintage), sex, str(band), float(w)))
    return pd.DataFrame(rows, columns=["scheme", "vintage", "sex", "age_band", "weight"])


def available() -> dict[str, list[str]]:
    """Shipped scheme -> vintages available."""
    return {s: sorted(str(v) for v in spec["vintages"]) for s, spec in _shipped().items()}  # type: ignore[attr-defined]


def check_complete(weights: pd.DataFrame, scheme: str, vintage: str) -> None:
    """Raise a ValueError naming what is missing unless ``weights`` covers both sexes × every band."""
    have = weights[(weights.scheme == scheme) & (weights.vintage == vintage)]
    if have.empty:
        known = ", ".join(f"{s} ({'/'.join(v)})" for s, v in available().items())
        raise ValueError(
            f"no STAR-PU weights for scheme {scheme!r} vintage {vintage!r}; shipped: {known}"
        )
    missing = [
        f"{sex} {band}"
        for sex in ("male", "female")
        for band in STAR_PU_BANDS
        if have[(have.sex == sex) & (have.age_band == band)].empty
    ]
    if missing:
        raise ValueError(f"STAR-PU weights {scheme!r} {vintage!r} lack bands: {', '.join(missing)}")


def read_hscic_workbook(path: Path | str) -> pd.DataFrame:
    """The shipped schemes' weights read from the HSCIC workbook (sheet STAR-PUs)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb["STAR-PUs"].iter_rows(values_only=True))
    band = {"0-4": "0_4", "5-14": "5_14", "75+": "75+"}
    band.update({f"{lo}-{lo + 9}": f"{lo}_{lo + 9}" for lo in range(15, 75, 10)})
    out = []
    titles = {t: s for s, t in SHIPPED_SCHEMES.items()}
    for i, r in enumerate(rows):
        title = str(r[0]).strip() if r and r[0] else ""
        if title not in titles:
            continue
        for cells in rows[i + 3 : i + 12]:
            for vintage, cm, cf in (("2013", 3, 4), ("2009", 7, 8)):
                for sex, c in (("male", cm), ("female", cf)):
                    if isinstance(cells[c], int | float):
                        out.append((titles[title], vintage, sex, band[str(cells[2])], float(cells[c])))
    return pd.DataFrame(out, columns=["scheme", "vintage", "sex", "age_band", "weight"])


def main(argv: list[str]) -> int:  # pragma: no cover - a maintenance tool
    if len(argv) != 2:
        print("usage: python -m gpscale.indicators.weights WORKBOOK.xlsx", file=sys.stderr)
        return 2
    fresh = read_hscic_workbook(argv[1])
    merged = fresh.merge(shipped_weights(), on=["scheme", "vintage", "sex", "age_band"], how="outer",
                         suffixes=("_workbook", "_shipped"))
    merged["same"] = merged.weight_workbook == merged.weight_shipped
    print(merged.to_string())
    return 0 if bool(merged.same.all()) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv))
