"""Header drift: next year's wording of a publication loads without code changes.

A copy of each file is written to a temporary folder with its header perturbed the way NHS headers
drift from year to year (case, underscores vs spaces vs line breaks, punctuation, a BOM, footnote digits,
trailing spaces, column order) and must load into exactly the same canonical rows as the original.
Real files are used too where ../shared/data/real is present.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from gpscale.store.schema import DATA_TABLES
from tests.fixtures import layouts as L
from tests.shared_data import require_shared


def perturb_cell(h: str, rnd: random.Random) -> str:
    """One plausible rewording of a header cell that keeps its meaning."""
    ops = [
        lambda s: s.upper(),
        lambda s: s.lower(),
        lambda s: s.title(),
        lambda s: s.replace("_", " "),
        lambda s: s.replace(" ", "_"),
        lambda s: s.replace(" ", "\n", 1),
        lambda s: s + " ",
        lambda s: " " + s,
        lambda s: s.replace("(", "[").replace(")", "]"),
        lambda s: s.replace("%", "per cent"),
        lambda s: s + ".",
        lambda s: s.replace(" ", "  "),
    ]
    for op in rnd.sample(ops, k=2):
        h = op(h)
    return h


def perturbed_copy(src: Path, dst_dir: Path, seed: int, reorder: bool = True) -> Path:
    rnd = random.Random(seed)
    text = src.read_bytes().decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [perturb_cell(h, rnd) for h in rows[0]]
    order = list(range(len(header)))
    if reorder:
        rnd.shuffle(order)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([header[i] for i in order])
    for r in rows[1:]:
        w.writerow([r[i] if i < len(r) else "" for i in order])
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / src.name
    dst.write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))
    return dst


def canonical_rows(path: Path) -> dict[str, list[tuple]]:
    store = open_store(":memory:")
    try:
        rep = ingest(store, [path])
        assert rep.files[0].rows_loaded > 0
        out = {}
        for t in DATA_TABLES:
            cols = [r[0] for r in store.con.execute(f"DESCRIBE {t}").fetchall() if r[0] != "ingest_id"]
            rows = store.con.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall()
            out[t] = sorted(rows, key=repr)
        return out
    finally:
        store.close()


FIXTURES = {
    "qof_achievement_2019": lambda d: L.write_qof_achievement(d, 2019),
    "qof_achievement_2012": lambda d: L.write_qof_achievement(d, 2012),
    "qof_achievement_2022": lambda d: L.write_qof_achievement(d, 2022, "2022"),
    "prevalence": lambda d: L.write_prevalence(d, 2020),
    "gpps": lambda d: L.write_gpps(d, 2019),
    "epd": lambda d: L.write_epd(d, 2019, 9),
    "quin_age": lambda d: L.write_quin_age(d, 2019, 4),
    "payments": lambda d: L.write_payments(d, 2019),
    "hospital": lambda d: L.write_hospital(d, 2019, practices=L.PRACTICES[:3]),
}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", sorted(FIXTURES))
def test_perturbed_header_loads_the_same_rows(tmp_path: Path, kind: str, seed: int) -> None:
    original = FIXTURES[kind](tmp_path / "orig")
    # GPPS question columns are matched by pattern (QN_Kpct), so keep their order-insensitive names intact
    copy = perturbed_copy(original, tmp_path / "drift", seed)
    assert canonical_rows(copy) == canonical_rows(original)


def test_epcn_header_cells_reworded(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    original = L.write_epcn(tmp_path / "orig")
    wb = load_workbook(original)
    rnd = random.Random(7)
    for ws in wb.worksheets:
        for cell in ws[1]:
            if isinstance(cell.value, str):
                cell.value = perturb_cell(cell.value, rnd)
    ws = wb.worksheets[1]
    ws.insert_rows(1, amount=2)  # title rows above the header, as some releases have
    ws.cell(row=1, column=1, value="PCN Core Partner Details as at 1 April")
    wb.worksheets[0].title = "PCN Details"
    (tmp_path / "drift").mkdir()
    copy = tmp_path / "drift" / original.name
    wb.save(copy)
    assert canonical_rows(copy) == canonical_rows(original)


REAL_SAMPLES = [
    "qof_practice_overall_achievement/QOF_2021-22.csv",
    "qof_practice_overall_achievement/QOF_2017-18.csv",
    "nhs_payments_to_general_practice/nhspaymentsgp-19-20-prac-csv.csv",
    "prescribing_openprescribing_fixtures/epd_201709.csv",
    "prescribing_openprescribing_fixtures/gp-reg-pat-prac-quin-age_201709.csv",
]


@pytest.mark.realdata
@pytest.mark.parametrize("rel", REAL_SAMPLES)
def test_real_file_with_perturbed_header(tmp_path: Path, rel: str) -> None:
    src = require_shared("real", rel)
    copy = perturbed_copy(src, tmp_path / "drift", seed=11)
    assert canonical_rows(copy) == canonical_rows(src)
