"""A national-size synthetic English Prescribing Dataset month for the prescribing benchmarks (issue 17).

Written by DuckDB in the published 26-column layout: ~6,500 practices × ~2,800 presentations spread over
the BNF sections the prescribing indicators read (antibacterials, hypnotics, NSAIDs) and many they do not,
so that pre-aggregation at ingest meets a realistic mix of codes. Every (practice, presentation) pair
appears once, so the file holds no repeated rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

#: Chemical substances (9-character BNF codes) the presentations are drawn from: indicator sections first,
#: then common drugs no shipped indicator reads.
SUBSTANCES: tuple[str, ...] = (
    "0501013B0", "0501013K0", "0501021A0", "0501030T0", "0501050B0", "0501080W0", "0501090H0",
    "0501100A0", "0501110C0", "0501120L0", "0501130H0", "0401010T0", "0401010AC", "0401010AD",
    "0401020K0", "0401030A0", "1001010J0", "1001010P0", "1001010C0", "1001010AH", "0212000B0",
    "0212000Y0", "0601022B0", "0603020T0", "0304010G0", "0403030Q0", "0206020A0", "0205051R0",
    "0103050P0", "0407010H0", "0301011R0", "0302000C0", "0602010V0", "0906040G0", "1310012F0",
    "0208020V0", "0204000H0", "0101021B0", "0704020J0", "1108010L0",
)

#: Presentations per substance (40 × 70 = 2,800 codes).
PRESENTATIONS = 70
PRACTICES = 6500


def write_epd_month(path: Path, rows: int) -> Path:
    """Write ``rows`` EPD rows for month 2019-09 to ``path`` (CSV with header) and return it."""
    codes = ", ".join(f"'{s}'" for s in SUBSTANCES)
    cols = {
        "YEAR_MONTH": "'201909'",
        "REGIONAL_OFFICE_NAME": "'NORTH EAST AND YORKSHIRE'",
        "REGIONAL_OFFICE_CODE": "'Y63'",
        "ICB_NAME": "'NHS NORTH EAST AND NORTH CUMBRIA INTEGRATED CARE BOARD'",
        "ICB_CODE": "'QHM'",
        "PCO_NAME": "'NHS TEES VALLEY CCG'",
        "PCO_CODE": "'16C00'",
        "PRACTICE_NAME": "'THE DENSHAM SURGERY ' || p",
        "PRACTICE_CODE": "chr(65 + (p % 26)::INT) || lpad(CAST(81000 + p AS VARCHAR), 5, '0')",
        "ADDRESS_1": "'THE HEALTH CENTRE'",
        "ADDRESS_2": "'LAWSON STREET'",
        "ADDRESS_3": "'STOCKTON-ON-TEES'",
        "ADDRESS_4": "'CLEVELAND'",
        "POSTCODE": "'TS18 1HU'",
        "BNF_CHEMICAL_SUBSTANCE": "s",
        "CHEMICAL_SUBSTANCE_BNF_DESCR": "'Substance ' || s",
        "BNF_CODE": f"s || chr(65 + (c // {PRESENTATIONS} % 26)::INT) || 'A' || lpad(CAST(c % {PRESENTATIONS} AS "
        "VARCHAR), 4, '0')",
        "BNF_DESCRIPTION": "'Presentation ' || c",
        "BNF_CHAPTER_PLUS_CODE": "'Chapter ' || substr(s, 1, 2)",
        "QUANTITY": "CAST(7 * (1 + i % 4) AS DOUBLE)",
        "ITEMS": "1 + i % 23",
        "TOTAL_QUANTITY": "CAST(7 * (1 + i % 4) * (1 + i % 23) AS DOUBLE)",
        "ADQUSAGE": "round(3.5 * (1 + i % 4) * (1 + i % 23) / 3, 3)",
        "NIC": "round(0.37 * (1 + i % 97), 2)",
        "ACTUAL_COST": "round(0.3441 * (1 + i % 97), 5)",
        "UNIDENTIFIED": "'N'",
    }
    sel = ", ".join(f"{expr} AS {name}" for name, expr in cols.items())
    n_codes = len(SUBSTANCES) * PRESENTATIONS
    src = (
        f"SELECT i, i % {PRACTICES} AS p, (i // {PRACTICES}) % {n_codes} AS c, "
        f"list_extract([{codes}], ((i // {PRACTICES}) % {n_codes}) // {PRESENTATIONS} + 1) AS s "
        f"FROM range({rows}) t(i)"
    )
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"COPY (SELECT {sel} FROM ({src})) TO '{path}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    return path
