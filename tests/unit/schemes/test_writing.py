"""Scheme tables written as CSV and Excel: text that a spreadsheet would run as a formula is neutralised."""

from __future__ import annotations

import csv
import json

import openpyxl
import pandas as pd

from gpscale.evaluate.schemes.writing import neutralise_formulas, write_tables

NASTY = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn", "Plain name", "a=b"]


def test_formula_prefixes_are_neutralised_and_numbers_are_not():
    df = pd.DataFrame({"group_name": NASTY, "payment_pence": range(len(NASTY)), "lower": [-1.5] * len(NASTY)})
    out = neutralise_formulas(df)
    assert out["group_name"].tolist() == ["'" + v for v in NASTY[:6]] + ["Plain name", "a=b"]
    assert out["payment_pence"].tolist() == list(range(len(NASTY))) and (out["lower"] == -1.5).all()
    assert df["group_name"].tolist() == NASTY  # the caller's frame is untouched


def test_csv_excel_and_manifest(tmp_path):
    df = pd.DataFrame({"group_name": NASTY, "payment_pence": pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64")})
    paths = write_tables({"totals": df}, tmp_path, excel=True, manifest={"scheme_id": "x"})
    assert {p.name for p in paths} == {"totals.csv", "scheme.xlsx", "manifest.json"}
    with (tmp_path / "totals.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")" and rows[2][1] == ""  # a null stays empty, never 0
    sheet = openpyxl.load_workbook(tmp_path / "scheme.xlsx")["totals"]
    cells = [sheet.cell(row=r, column=1).value for r in range(2, 10)]
    assert all(not str(c).startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert sheet.cell(row=2, column=1).data_type == "s"
    meta = json.loads((tmp_path / "manifest.json").read_text())
    assert meta["scheme_id"] == "x" and meta["tables"]["totals"]["rows"] == 8
