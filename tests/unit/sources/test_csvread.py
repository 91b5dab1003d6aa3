"""The streaming CSV reader: encodings, real line numbers, quoting errors where the quote opened, chunks."""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.sources.csvread import CsvReader, sniff_encoding

ROWS = [["A81001", "CENTRE MÉDICAL", "12"], ["A81002", "THE SURGERY", "7"], ["B82007", "HEALTH CENTRE", "3"]]
TEXT = "code,name,n\r\n" + "".join(",".join(r) + "\r\n" for r in ROWS)


def read_all(path: Path, chunk_bytes: int = 1 << 20) -> tuple[list[str], pd.DataFrame, list[int]]:
    r = CsvReader(path, chunk_bytes=chunk_bytes)
    chunks = list(r.chunks())
    frame = pd.concat([c.frame() for c in chunks], ignore_index=True)
    return r.headers, frame, [line for c in chunks for line in c.lines]


@pytest.mark.parametrize(
    ("encoding", "bom", "label"),
    [
        ("utf-8", b"", "8bit"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("cp1252", b"", "8bit"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16-le"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be"),
        ("utf-16-le", b"", "utf-16-le"),
    ],
)
def test_every_encoding_reads_the_same_text(tmp_path: Path, encoding: str, bom: bytes, label: str) -> None:
    p = tmp_path / "f.csv"
    p.write_bytes(bom + TEXT.encode(encoding))
    assert sniff_encoding(p.read_bytes()[:4096]) == label
    headers, frame, lines = read_all(p)
    assert headers == ["code", "name", "n"]
    assert frame.values.tolist() == ROWS
    assert lines == [2, 3, 4]


def test_mixed_encoding_names_the_first_line_that_differs(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_bytes(b"code,name\nA81001," + "MÉDICAL".encode() + b"\nA81002,PLAIN\nA81003," + "MÉDICAL".encode("latin-1")
                  + b"\n")
    with pytest.raises(SourceError) as ei:
        read_all(p)
    assert ei.value.rule == v.MIXED_ENCODING and ei.value.where == "line 4" and "line 2 is UTF-8" in str(ei.value)


def test_latin1_then_utf8_is_mixed_too(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_bytes(b"code,name\nA81001," + "MÉDICAL".encode("latin-1") + b"\nA81003," + "MÉDICAL".encode() + b"\n")
    with pytest.raises(SourceError) as ei:
        read_all(p)
    assert ei.value.rule == v.MIXED_ENCODING and ei.value.where == "line 3"


def test_stray_quote_is_reported_where_it_opened(tmp_path: Path) -> None:
    body = [f"A8{i:04d},{i},x" for i in range(300)]
    body[99] = 'A80099,"99,x'  # line 101 (header is line 1)
    p = tmp_path / "f.csv"
    p.write_text("code,n,t\n" + "\n".join(body) + "\n")
    with pytest.raises(SourceError) as ei:
        read_all(p)
    assert ei.value.rule == v.MALFORMED_CSV and ei.value.where == "line 101"
    body[119] = body[119].replace(",", '",', 1)  # closed again at line 121: a misshapen multi-line row
    p.write_text("code,n,t\n" + "\n".join(body) + "\n")
    with pytest.raises(SourceError) as ei:
        read_all(p)
    assert ei.value.where == "line 101" and "runs to line 121" in str(ei.value)


def test_quoted_line_breaks_keep_real_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text('"code","long\nname"\nA81001,"two\nlines"\n\nA81002,x\n')
    headers, frame, lines = read_all(p)
    assert headers == ["code", "long\nname"]
    assert frame.values.tolist() == [["A81001", "two\nlines"], ["A81002", "x"]]
    assert lines == [3, 6]


def test_a_column_named_twice_is_refused_by_name(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text("code,REGISTER,list,register\nA81001,1,2,3\n")
    with pytest.raises(SourceError) as ei:
        CsvReader(p)
    assert ei.value.rule == v.DUPLICATE_COLUMN and "'register'" in str(ei.value) and "columns 2 and 4" in str(ei.value)


def test_nul_bytes_are_refused_at_their_line(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_bytes(b"a,b\n1,2\n3,\x004\n")
    with pytest.raises(SourceError) as ei:
        read_all(p)
    assert ei.value.rule == v.MALFORMED_CSV and ei.value.where == "line 3"


def test_chunks_give_the_same_rows_whichever_path_reads_them(tmp_path: Path) -> None:
    """Plain chunks go to pandas, chunks with quotes, accents or misshapen lines to the csv module."""
    plain = [f"A8{i:04d},{i},{i * 2}" for i in range(2000)]
    mixed = list(plain)
    mixed[500] = 'A80500,"500",1000'
    mixed[1500] = "A81500,1500"  # one field short
    for name, body in (("plain", plain), ("mixed", mixed)):
        p = tmp_path / f"{name}.csv"
        p.write_text("code,n,m\n" + "\n\n".join(body[:10]) + "\n" + "\n".join(body[10:]) + "\n")
        r = CsvReader(p, chunk_bytes=4096)
        chunks = list(r.chunks())
        assert len(chunks) > 5
        assert [c.start for c in chunks] == [sum(len(x) for x in chunks[:i]) for i in range(len(chunks))]
        lines = [line for c in chunks for line in c.lines]
        assert lines[:3] == [2, 4, 6] and lines[-1] == 2000 + 10
        frame = pd.concat([c.frame() for c in chunks], ignore_index=True)
        assert len(frame) == 2000
        wrong = [(c.start + i, seen) for c in chunks for i, seen in c.wrong_width]
        if name == "mixed":
            assert frame.iloc[500].tolist() == ["A80500", "500", "1000"] and wrong == [(1500, 2)]
        else:
            assert frame.iloc[1999].tolist() == ["A81999", "1999", "3998"] and wrong == []


def test_old_mac_line_ends(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_bytes(TEXT.replace("\r\n", "\r").encode())
    _, frame, lines = read_all(p)
    assert frame.values.tolist() == ROWS and lines == [2, 3, 4]
