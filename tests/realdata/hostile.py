"""Hostile inputs built from the real files at test time: each case and the outcome it must have.

Every case writes its input (a real file cut, renamed, re-encoded, edited...) into a temporary folder, then
ingests it into a copy of a store already holding real files, or runs a command against a bad store. The
outcome it must end in is either

* a **clear error**: the rule expected, the file named, the place (line, sheet and cell, column, header,
  edition comparison) named, and the store exactly as before (a content hash of every table); or
* a **correct load**: the data right (checked against the unmodified real file) and any bad rows quarantined
  with their rule and row.

:func:`run_case` classifies what actually happened: ``clear-error``, ``correct-load``, ``silent-wrong-data``
(accepted although it should have been refused, or loaded wrong values), ``vague-error`` (refused with
another rule or without naming the place), ``refused-good-input`` and ``traceback``.
"""

from __future__ import annotations

import codecs
import csv
import io
import random
import shutil
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.store.db import Store, open_store
from gpscale.store.ingest import IngestReport, expand_paths, ingest
from tests.fixtures import bad_stores as B
from tests.shared_data import shared_path

REAL = shared_path("real")
PREV = REAL / "qof_prevalence" / "PREVALENCE_1920.csv"
PREV_2021 = REAL / "qof_prevalence" / "PREVALENCE_2021_v2.csv"
PREV_1819 = REAL / "qof_prevalence" / "PREVALENCE_1819_v2.csv"
EPRACCUR = REAL / "ods_epraccur" / "epraccur_2019-12.csv"
EPD = REAL / "prescribing_openprescribing_fixtures" / "epd_201709.csv"
EPD_OCT = REAL / "prescribing_openprescribing_fixtures" / "epd_201710.csv"
QOF = REAL / "qof_practice_overall_achievement" / "QOF_2019-20.csv"
QOF_2122 = REAL / "qof_practice_overall_achievement" / "QOF_2021-22.csv"
EPCN = REAL / "ods_epcn" / "ePCN_2019-12.xlsx"
REG = REAL / "gp_registered_patients" / "gp-reg-pat-prac-all_2021-01.csv"
MAP = REAL / "practice_pcn_mapping" / "gp-reg-pat-prac-map_2020-09.csv"
FINGERTIPS = REAL / "fingertips_practice_extracts" / "fingertips_93553_IMD2019_practice.csv"
PAYMENTS = REAL / "nhs_payments_to_general_practice" / "nhspaymentsgp-19-20-prac-csv.csv"
ASTHMA = REAL / "qof_practice_domain_xlsx" / "qof-1415-prac-asthma.xlsx"
BYPRAC = REAL / "prescribing_openprescribing_fixtures" / "prevalencebyprac_fixture.csv"

#: The real files the store each case starts from holds (plus two registries written from real codes).
BASELINE = (PREV, EPRACCUR, EPD, QOF, EPCN, REG, MAP, FINGERTIPS)


# ---- outcomes --------------------------------------------------------------------------------------------


class Outcome:
    CLEAR_ERROR = "clear-error"
    CORRECT_LOAD = "correct-load"
    SILENT_WRONG = "silent-wrong-data"
    VAGUE_ERROR = "vague-error"
    REFUSED_GOOD = "refused-good-input"
    TRACEBACK = "traceback"


@dataclass(frozen=True)
class Error:
    """The case must be refused with ``rule``; ``where`` and ``says`` must appear in the location/message."""

    rule: str
    where: str = ""
    says: tuple[str, ...] = ()


@dataclass(frozen=True)
class Load:
    """The case must load; ``check(store, report, ingest_id)`` asserts the data and quarantine are right."""

    check: Callable[[Store, IngestReport, int], None]


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    build: Callable[[Path], list[Path]]
    expect: Error | Load
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CliCase:
    """A command run against a bad ``--store``: one ``error:`` line, exit code 2, the path untouched."""

    id: str
    what: str
    build: Callable[[Path], Path]
    says: str = ""
    locked: bool = False  # a second process holds the store open while the commands run


@dataclass
class Result:
    case: str
    outcome: str
    detail: str


# ---- file helpers ---------------------------------------------------------------------------------------


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write(d: Path, name: str, data: bytes | list[bytes]) -> Path:
    p = d / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else b"".join(data))
    return p


def excerpt(path: Path, n: int) -> list[bytes]:
    """Header and the first ``n`` data lines of a real CSV."""
    return lines_of(path)[: n + 1]


def set_field(line: bytes, i: int, value: bytes) -> bytes:
    """The CSV line with field ``i`` replaced (parsed and written back with the csv module, quotes kept)."""
    end = "\r\n" if line.endswith(b"\r\n") else "\n"
    cells = next(csv.reader([line.decode().rstrip("\r\n")]))
    cells[i] = value.decode()
    out = io.StringIO()
    csv.writer(out, lineterminator=end).writerow(cells)
    return out.getvalue().encode()


def practices_of(path: Path, n: int) -> list[str]:
    """The first ``n`` active GP practice codes of a real epraccur file."""
    out = []
    for line in lines_of(path):
        cells = [c.strip(b'"').decode() for c in line.rstrip(b"\r\n").split(b",")]
        if len(cells) == 27 and cells[12] == "A" and cells[25] == "4":
            out.append(cells[0])
        if len(out) == n:
            break
    return out


def registry_yaml(groups: list[tuple[str, str, list[str]]], extra: str = "") -> bytes:
    body = ["gpscale_group_registry: 1", "groups:"]
    for gid, name, members in groups:
        body += [f"  - id: {gid}", f"    name: {name}", "    kind: federation", "    members:"]
        body += [f"      - {{practice: {p}, start: 2015-04-01}}" for p in members]
    return ("\n".join(body) + "\n" + extra).encode()


def registry_groups(prefix: str, codes: list[str], n_groups: int = 4) -> list[tuple[str, str, list[str]]]:
    size = len(codes) // n_groups
    return [(f"{prefix}-{i}", f"{prefix} group {i}", codes[i * size : (i + 1) * size]) for i in range(n_groups)]


def baseline_registries(d: Path) -> list[Path]:
    codes = practices_of(EPRACCUR, 80)
    return [
        write(d, "registry_federations.yaml", registry_yaml(registry_groups("FED", codes[:40]))),
        write(d, "registry_networks.yaml", registry_yaml(registry_groups("NET", codes[40:]))),
    ]


def workbook_excerpt(d: Path, name: str, rows: int = 150, sheet: str | None = None) -> Path:
    """The real asthma workbook cut to its header block and the first ``rows`` practices (sheet renamed)."""
    from openpyxl import Workbook, load_workbook

    src = load_workbook(ASTHMA, read_only=True, data_only=True)
    ws = src[src.sheetnames[0]]
    wb = Workbook()
    out = wb.active
    assert out is not None
    out.title = sheet or ws.title
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        if i >= 16 + rows:
            break
        out.append(list(row))
    src.close()
    p = d / name
    wb.save(p)
    return p


# ---- store helpers --------------------------------------------------------------------------------------


def store_hash(con: duckdb.DuckDBPyConnection) -> str:
    """An order-independent hash of every row of every table (the ingest log without its timestamps)."""
    parts = []
    tables = sorted(r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = 'main'"
    ).fetchall())
    for t in tables:
        cols = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall() if r[0] != "loaded_at"]
        n, h = con.execute(f"SELECT count(*), sum(hash({', '.join(cols)})::HUGEINT) FROM {t}").fetchall()[0]
        parts.append(f"{t}:{n}:{h}")
    return "|".join(parts)


def one(store: Store, sql: str, params: list[Any] | None = None) -> Any:
    return store.con.execute(sql, params or []).fetchall()[0][0]


# ---- load checks ----------------------------------------------------------------------------------------


def rejects_are(expected: set[tuple[int, str]]) -> Callable[[Store, IngestReport, int], None]:
    """The load quarantined exactly these (row, rule) and kept every other row."""

    def check(store: Store, report: IngestReport, ingest_id: int) -> None:
        got = {(r.row_number, r.rule) for _, r in report.rejects}
        assert got == expected, f"quarantined {sorted(got)}, expected {sorted(expected)}"
        f = report.files[-1]
        assert f.rows_rejected == len(expected) and f.rows_loaded > 0

    return check


def same_measures_as(source_file: str, period: str = "FY2019/20") -> Callable[[Store, IngestReport, int], None]:
    """The loaded file's measure rows equal those of the unmodified real file (loaded in a fresh store)."""

    def check(store: Store, report: IngestReport, ingest_id: int) -> None:
        reference = REFERENCE_MEASURES[source_file]
        got = store.con.execute(
            """SELECT measure_id, practice_code, numerator, denominator FROM measure_value
               WHERE ingest_id = ? AND period = ? ORDER BY ALL""",
            [ingest_id, period],
        ).fetchall()
        assert got == reference, f"{len(got)} rows differ from the {len(reference)} of {source_file}"
        got_rejects = sorted((r.row_number, r.rule) for _, r in report.rejects)
        assert [rule for _, rule in got_rejects] == REFERENCE_REJECTS[source_file], got_rejects

    return check


def replaced_without_loss(store: Store, report: IngestReport, ingest_id: int) -> None:
    f = report.files[-1]
    assert f.status in ("replaced-older", "unchanged"), f.status
    if f.status == "replaced-older":
        assert one(store, "SELECT forced FROM ingest_edition WHERE ingest_id = ?", [ingest_id]) is False


REFERENCE_MEASURES: dict[str, list[tuple[Any, ...]]] = {}
REFERENCE_REJECTS: dict[str, list[str]] = {}


def load_references() -> None:
    """Measure rows of the unmodified real prevalence file (what re-encoded or reordered copies must equal)."""
    if REFERENCE_MEASURES:
        return
    with open_store(":memory:") as st:
        rep = ingest(st, [PREV])
        REFERENCE_REJECTS[PREV.name] = [r.rule for _, r in sorted(rep.rejects, key=lambda x: x[1].row_number or 0)]
        REFERENCE_MEASURES[PREV.name] = st.con.execute(
            "SELECT measure_id, practice_code, numerator, denominator FROM measure_value ORDER BY ALL"
        ).fetchall()


# ---- running a case -------------------------------------------------------------------------------------


@contextmanager
def store_copy(baseline: Path, d: Path) -> Iterator[Store]:
    p = d / "store.duckdb"
    shutil.copyfile(baseline, p)
    st = open_store(p)
    try:
        yield st
    finally:
        st.close()


def run_case(case: Case, baseline: Path, d: Path) -> Result:
    try:
        paths = case.build(d)
    except Exception:  # the case itself is broken: report it, never hide it
        return Result(case.id, Outcome.TRACEBACK, "building the input failed:\n" + traceback.format_exc())
    with store_copy(baseline, d) as st:
        before = store_hash(st.con)
        try:
            report = ingest(st, paths, **case.kwargs)
        except SourceError as e:
            after = store_hash(st.con)
            if isinstance(case.expect, Load):
                return Result(case.id, Outcome.REFUSED_GOOD, str(e))
            exp = case.expect
            problems = []
            if e.rule != exp.rule:
                problems.append(f"rule {e.rule}, expected {exp.rule}")
            if not any(p.name in str(e) for p in expand_paths(paths)):
                problems.append("the file is not named")
            if exp.where and (not e.where or exp.where not in e.where):
                problems.append(f"place {e.where!r}, expected it to name {exp.where!r}")
            problems += [f"message does not say {s!r}" for s in exp.says if s not in str(e)]
            if after != before:
                return Result(case.id, Outcome.SILENT_WRONG, f"refused but the store changed: {e}")
            if problems:
                return Result(case.id, Outcome.VAGUE_ERROR, "; ".join(problems) + f" — {e}")
            return Result(case.id, Outcome.CLEAR_ERROR, str(e))
        except Exception:
            return Result(case.id, Outcome.TRACEBACK, traceback.format_exc())
        if isinstance(case.expect, Error):
            return Result(case.id, Outcome.SILENT_WRONG, f"accepted; expected {case.expect.rule}: {report.files}")
        ingest_id = one(st, "SELECT max(ingest_id) FROM ingest_log")
        try:
            case.expect.check(st, report, ingest_id)
        except AssertionError as e:
            return Result(case.id, Outcome.SILENT_WRONG, f"loaded wrong: {e}")
        return Result(case.id, Outcome.CORRECT_LOAD, "; ".join(f"{f.path.name}: {f.status}" for f in report.files))


def run_cli_case(case: CliCase, d: Path) -> Result:
    from gpscale.cli import app

    store = case.build(d)
    before = store.read_bytes() if store.is_file() else None
    with ExitStack() as stack:
        if case.locked:
            stack.enter_context(B.held_by_another_process(store))
        prev = write(d, "in/PREVALENCE_1920.csv", excerpt(PREV, 50))
        outs = []
        for args in (
            ["ingest", "--store", str(store), str(prev)],
            ["store", "summary", "--store", str(store)],
            ["evaluate", "--store", str(store), "--out", str(d / "results")],
            ["groups", "list", "--store", str(store)],
        ):
            r = CliRunner().invoke(app, args)
            errors = [x for x in r.output.splitlines() if x.startswith("error:")]
            tb = r.exception is not None and not isinstance(r.exception, SystemExit)
            if tb or "Traceback" in r.output:
                return Result(case.id, Outcome.TRACEBACK, f"{args[0]}: {r.output}")
            if r.exit_code != 2 or len(errors) != 1 or str(store) not in errors[0] or case.says not in errors[0]:
                return Result(case.id, Outcome.VAGUE_ERROR, f"{args[0]} exit {r.exit_code}: {r.output}")
            outs.append(errors[0])
    after = store.read_bytes() if store.is_file() else None
    if after != before:
        return Result(case.id, Outcome.SILENT_WRONG, "the --store path was changed")
    return Result(case.id, Outcome.CLEAR_ERROR, outs[0])


# ---- the cases ------------------------------------------------------------------------------------------


def _prev_lines() -> list[bytes]:
    return lines_of(PREV)


def cut_lines(src: Path, share: float, name: str | None = None) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        ls = lines_of(src)
        return [write(d, name or src.name, ls[: max(2, int(len(ls) * share))])]

    return build


def cut_bytes(src: Path, share: float) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        data = src.read_bytes()
        return [write(d, src.name, data[: int(len(data) * share)])]

    return build


def copy_as(src: Path, name: str) -> Callable[[Path], list[Path]]:
    return lambda d: [write(d, name, src.read_bytes())]


def edit_prev(edit: Callable[[list[bytes]], list[bytes]], name: str = "PREVALENCE_1516.csv", n: int = 3000):
    """A 3,000-row excerpt of the real 2019/20 prevalence file, edited, under a year not in the store."""
    return lambda d: [write(d, name, edit(excerpt(PREV, n)))]


def edit_full_prev(edit: Callable[[list[bytes]], list[bytes]], name: str = "PREVALENCE_1920.csv"):
    return lambda d: [write(d, name, edit(_prev_lines()))]


def at(line_no: int, field_i: int, value: bytes) -> Callable[[list[bytes]], list[bytes]]:
    def edit(ls: list[bytes]) -> list[bytes]:
        ls = list(ls)
        ls[line_no - 1] = set_field(ls[line_no - 1], field_i, value)
        return ls

    return edit


def reencode(codec: str, bom: bytes, name: str = "PREVALENCE_1920.csv"):
    def build(d: Path) -> list[Path]:
        return [write(d, name, bom + PREV.read_text(encoding="ascii").encode(codec))]

    return build


def epraccur_lines() -> list[bytes]:
    return lines_of(EPRACCUR)


def edit_epraccur(edit: Callable[[list[bytes]], list[bytes]], name: str = "epraccur_2015-06.csv", n: int = 2000):
    return lambda d: [write(d, name, edit(epraccur_lines()[:n]))]


def with_name(line: bytes, name: bytes) -> bytes:
    cells = line.split(b'","')
    cells[1] = name
    return b'","'.join(cells)


def name_of_practice(code: str, as_of_file: str) -> Callable[[Store, IngestReport, int], None]:
    def check(store: Store, report: IngestReport, ingest_id: int) -> None:
        got = one(store, "SELECT name FROM practice_record WHERE practice_code = ? AND ingest_id = ?",
                  [code, ingest_id])
        assert got == as_of_file, f"name {got!r}, expected {as_of_file!r}"
        assert not report.rejects

    return check


def epd_lines() -> list[bytes]:
    return lines_of(EPD)


def repeated_epd_rows(n: int) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        ls = epd_lines()
        return [write(d, EPD.name, [ls[0], *([ls[1]] * n)])]

    return build


def edit_epd(edit: Callable[[list[bytes]], list[bytes]], name: str = "epd_201601.csv", n: int = 400):
    """The first rows of the real EPD month re-dated to January 2016 (a month not in the store), edited."""
    def build(d: Path) -> list[Path]:
        ls = [ln.replace(b"2017_09", b"2016_01") for ln in epd_lines()[: n + 1]]
        return [write(d, name, edit(ls))]

    return build


EPD_ITEMS = 20  # ITEMS is the 21st field of the EPD layout


def registry_case(groups: Callable[[list[str]], bytes], name: str = "my_groups.yaml"):
    return lambda d: [write(d, name, groups(practices_of(EPRACCUR, 120)))]


def yaml_group(gid: str, name: str, members: list[tuple[str, str, str]], kind: str = "federation",
               parent: str | None = None) -> str:
    out = [f"  - id: {gid}", f"    name: {name}", f"    kind: {kind}"]
    if parent:
        out.append(f"    parent: {parent}")
    out.append("    members:")
    for code, start, end in members:
        out.append(f"      - {{practice: {code}, start: {start}" + (f", end: {end}}}" if end else "}"))
    return "\n".join(out)


def registry_doc(*groups: str) -> bytes:
    return ("gpscale_group_registry: 1\ngroups:\n" + "\n".join(groups) + "\n").encode()


def billion_laughs(d: Path) -> list[Path]:
    lol = ['gpscale_group_registry: 1', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lol.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    lol.append("groups: [{id: X, name: *i, kind: custom, members: []}]")
    return [write(d, "laughs.yaml", ("\n".join(lol) + "\n").encode())]


def registry_edited(d: Path) -> list[Path]:
    """The stored federations registry, one practice added, saved under another name."""
    codes = practices_of(EPRACCUR, 121)
    groups = registry_groups("FED", codes[:40])
    groups[0] = (groups[0][0], groups[0][1], [*groups[0][2], codes[120]])
    return [write(d, "federations_v2_final.yaml", registry_yaml(groups))]


def registry_half(d: Path) -> list[Path]:
    return [write(d, "federations_trimmed.yaml", registry_yaml(registry_groups("FED", practices_of(EPRACCUR, 40))[:2]))]


def registry_straddling(d: Path) -> list[Path]:
    codes = practices_of(EPRACCUR, 80)
    groups = [registry_groups("FED", codes[:40])[0], registry_groups("NET", codes[40:])[0]]
    return [write(d, "mixed.yaml", registry_yaml(groups))]


def registry_csv(rows: list[str], name: str = "groups.csv") -> Callable[[Path], list[Path]]:
    head = "group_id,group_name,kind,practice_code,start_date,end_date\n"
    return lambda d: [write(d, name, (head + "\n".join(rows) + "\n").encode())]


def workbook_renamed_sheet(d: Path) -> list[Path]:
    (d / "v1").mkdir()
    (d / "v2").mkdir()
    first = workbook_excerpt(d / "v1", "qof-1415-prac-asthma.xlsx")
    second = workbook_excerpt(d / "v2", "qof-1415-prac-asthma-reissued.xlsx", sheet="Asthma (revised)")
    return [first, second]


def workbook_one_edition(store: Store, report: IngestReport, ingest_id: int) -> None:
    assert [f.status for f in report.files] == ["loaded", "replaced-older"], [f.status for f in report.files]
    n, keys = store.con.execute(
        """SELECT count(*), count(DISTINCT (measure_id, practice_code, period)) FROM measure_value m
           JOIN ingest_log l USING (ingest_id) WHERE l.format = 'qof_domain_workbook'"""
    ).fetchall()[0]
    assert n == keys > 0, f"{n} rows for {keys} keys"


def folder_with_undated(d: Path) -> list[Path]:
    write(d / "folder", "PREVALENCE_1516.csv", excerpt(PREV, 100))
    write(d / "folder", BYPRAC.name, BYPRAC.read_bytes())
    return [d / "folder"]


def big_repeated_prevalence(d: Path) -> list[Path]:
    ls = excerpt(PREV, 1000)
    body = ls[1:] * 200  # 200,000 rows, the same 1,000 keys 200 times: ~5 MB
    return [write(d, "PREVALENCE_1516.csv", [ls[0], *body])]


def shuffled_prev(d: Path) -> list[Path]:
    ls = _prev_lines()
    body = ls[1:]
    random.Random(11).shuffle(body)
    return [write(d, "PREVALENCE_1920.csv", [ls[0], *body])]


def permuted_columns(d: Path) -> list[Path]:
    out = []
    for ln in _prev_lines():
        c = ln.rstrip(b"\r\n").split(b",")
        out.append(b",".join([c[4], c[2], c[0], c[3], c[1]]) + b"\r\n")
    return [write(d, "PREVALENCE_1920.csv", out)]


def extra_column(d: Path) -> list[Path]:
    ls = _prev_lines()
    out = [ls[0].rstrip(b"\r\n") + b",NOTES\r\n"] + [ln.rstrip(b"\r\n") + b",checked\r\n" for ln in ls[1:]]
    return [write(d, "PREVALENCE_1920.csv", out)]


def corrected_edition(d: Path) -> list[Path]:
    ls = _prev_lines()
    for i in (2, 500, 90_000):
        c = ls[i].rstrip(b"\r\n").split(b",")
        c[2] = str(int(c[2]) + 1).encode()
        ls[i] = b",".join(c) + b"\r\n"
    return [write(d, "PREVALENCE_1920_v2.csv", ls)]


def corrected_values(store: Store, report: IngestReport, ingest_id: int) -> None:
    f = report.files[-1]
    assert f.status == "replaced-older", f.status
    total = one(store, "SELECT sum(numerator) FROM measure_value WHERE ingest_id = ?", [ingest_id])
    base = sum(r[2] for r in REFERENCE_MEASURES[PREV.name])
    assert total == base + 3, (total, base)
    old, new = store.con.execute(
        "SELECT replaced_fingerprint, fingerprint FROM ingest_edition WHERE ingest_id = ?", [ingest_id]
    ).fetchall()[0]
    assert old and new and old != new


def forced(store: Store, report: IngestReport, ingest_id: int) -> None:
    assert report.files[-1].status == "replaced-older"
    assert one(store, "SELECT forced FROM ingest_edition WHERE ingest_id = ?", [ingest_id]) is True
    assert one(store, "SELECT replaced_fingerprint FROM ingest_edition WHERE ingest_id = ?", [ingest_id])


def unchanged(store: Store, report: IngestReport, ingest_id: int) -> None:
    assert [f.status for f in report.files] == ["unchanged"], report.files


def fingertips_edited(d: Path) -> list[Path]:
    ls = lines_of(FINGERTIPS)
    i = next(k for k, ln in enumerate(ls) if b",GPs," in ln or b",GP," in ln)
    cells = ls[i].split(b",")
    cells[12] = b"33.33"
    ls[i] = b",".join(cells)
    return [write(d, "imd_scores_downloaded_again.csv", ls)]


def fingertips_one_edition(store: Store, report: IngestReport, ingest_id: int) -> None:
    assert report.files[-1].status == "replaced-older", report.files
    n, keys = store.con.execute(
        "SELECT count(*), count(DISTINCT (measure_id, practice_code, period)) FROM measure_value "
        "WHERE source = 'fingertips'"
    ).fetchall()[0]
    assert n == keys, f"{n} rows for {keys} keys"


def byprac_with_period(store: Store, report: IngestReport, ingest_id: int) -> None:
    f = report.files[-1]
    assert f.status == "loaded" and f.periods == ("FY2013/14",)
    assert one(store, "SELECT count(DISTINCT practice_code) FROM measure_value WHERE ingest_id = ?", [ingest_id]) == 4


def suppressed_is_null(store: Store, report: IngestReport, ingest_id: int) -> None:
    assert not report.rejects and report.files[-1].nulls_suppressed == 1
    got = one(store, "SELECT numerator FROM measure_value WHERE ingest_id = ? AND practice_code = 'A81006' "
                     "AND measure_id = 'prevalence:OB'", [ingest_id])
    assert got is None, got


def utf8_bom_registry(d: Path) -> list[Path]:
    codes = practices_of(EPRACCUR, 4)
    return [write(d, "bom.yaml", codecs.BOM_UTF8 + registry_yaml([("BOM-1", "Bom group", codes)]))]


def registry_loaded(n_groups: int) -> Callable[[Store, IngestReport, int], None]:
    def check(store: Store, report: IngestReport, ingest_id: int) -> None:
        assert one(store, "SELECT count(*) FROM group_record WHERE ingest_id = ?", [ingest_id]) == n_groups
        dup = one(store, "SELECT count(*) - count(DISTINCT group_id) FROM group_record g JOIN ingest_log l "
                         "USING (ingest_id) WHERE l.format = 'group_registry' AND l.status = 'loaded'")
        assert dup == 0, f"{dup} duplicated group ids"

    return check


def mixed_encoding_epraccur(d: Path) -> list[Path]:
    ls = epraccur_lines()[:2000]
    ls[10] = with_name(ls[10], "CENTRE MÉDICAL".encode())
    ls[500] = with_name(ls[500], "CENTRE MÉDICAL".encode("latin-1"))
    return [write(d, "epraccur_2015-06.csv", ls)]


def latin1_epraccur(d: Path) -> list[Path]:
    ls = epraccur_lines()[:2000]
    ls[10] = with_name(ls[10], "CENTRE MÉDICAL".encode("cp1252"))
    return [write(d, "epraccur_2015-06.csv", ls)]


def utf8_epraccur(d: Path) -> list[Path]:
    ls = epraccur_lines()[:2000]
    ls[10] = with_name(ls[10], "CENTRE MÉDICAL".encode())
    return [write(d, "epraccur_2015-06.csv", ls)]


def epraccur_code(i: int) -> str:
    return epraccur_lines()[i].split(b",")[0].strip(b'"').decode()


def mixed_payments(d: Path) -> list[Path]:
    """An accent in UTF-8 on line 2 and one in Latin-1 on line 301 of the real payments file."""
    ls = lines_of(PAYMENTS)
    ls[1] = ls[1][:20] + "É".encode() + ls[1][20:]
    ls[300] = ls[300][:20] + "É".encode("latin-1") + ls[300][20:]
    return [write(d, PAYMENTS.name, ls)]


def epd_latin1(d: Path) -> list[Path]:
    ls = [ln.replace(b"2017_09", b"2016_01") for ln in epd_lines()[:400]]
    ls[200] = set_field(ls[200], 16, "0105010B0BIAAÉS".encode()).replace("É".encode(), "É".encode("latin-1"))
    ls[100] = ls[100].replace(b"ACORN PRACTICE", "ACORN PRACTICE É".encode())
    return [write(d, "epd_201601.csv", ls)]


def epd_latin1_names(d: Path) -> list[Path]:
    """EPD only loads codes and counts: bytes in a name column it never reads cannot reach the store."""
    ls = [ln.replace(b"2017_09", b"2016_01") for ln in epd_lines()[:400]]
    ls[200] = ls[200].replace(b"ACORN PRACTICE", "ACORN PRACTICE É".encode("latin-1"))
    ls[100] = ls[100].replace(b"ACORN PRACTICE", "ACORN PRACTICE É".encode())
    return [write(d, "epd_201601.csv", ls)]


def truncated_workbook(d: Path) -> list[Path]:
    data = EPCN.read_bytes()
    return [write(d, "ePCN_2020-01.xlsx", data[: len(data) // 2])]


def drop_column(i: int) -> Callable[[list[bytes]], list[bytes]]:
    def edit(ls: list[bytes]) -> list[bytes]:
        out = []
        for ln in ls:
            c = ln.rstrip(b"\r\n").split(b",")
            del c[i]
            out.append(b",".join(c) + b"\r\n")
        return out

    return edit


def rename_header(i: int, new: bytes) -> Callable[[list[bytes]], list[bytes]]:
    def edit(ls: list[bytes]) -> list[bytes]:
        ls = list(ls)
        c = ls[0].rstrip(b"\r\n").split(b",")
        c[i] = new
        ls[0] = b",".join(c) + b"\r\n"
        return ls

    return edit


def insert_line(i: int, content: bytes) -> Callable[[list[bytes]], list[bytes]]:
    return lambda ls: [*ls[:i], content, *ls[i:]]


def replace_line(i: int, fn: Callable[[bytes], bytes]) -> Callable[[list[bytes]], list[bytes]]:
    return lambda ls: [*ls[: i - 1], fn(ls[i - 1]), *ls[i:]]


def lower_header(ls: list[bytes]) -> list[bytes]:
    return [ls[0].lower(), *ls[1:]]


def blank_lines(ls: list[bytes]) -> list[bytes]:
    return [ls[0], b"\r\n", *ls[1:50], b"\r\n", b"   \r\n", *ls[50:]]


def to_lf(ls: list[bytes]) -> list[bytes]:
    return [ln.replace(b"\r\n", b"\n") for ln in ls]


def to_cr(ls: list[bytes]) -> list[bytes]:
    return [ln.replace(b"\r\n", b"\r") for ln in ls]


def twice(ls: list[bytes]) -> list[bytes]:
    return [*ls, *ls[1:]]


def many_bad(ls: list[bytes]) -> list[bytes]:
    return [ls[0], *(set_field(ln, 2, b"n/k?") if i % 10 == 0 else ln for i, ln in enumerate(ls[1:]))]


def excerpt_rows_loaded(n_rows: int, rejects: set[tuple[int, str]]) -> Callable[[Store, IngestReport, int], None]:
    """A prevalence excerpt of ``n_rows`` loaded whole but for the rows quarantined as expected."""

    def check(store: Store, report: IngestReport, ingest_id: int) -> None:
        rejects_are(rejects)(store, report, ingest_id)
        got = one(store, "SELECT count(*) FROM measure_value WHERE ingest_id = ?", [ingest_id])
        assert got == n_rows - len(rejects), f"{got} rows loaded"

    return check


CASES: tuple[Case, ...] = (
    # -- editions: what would silently replace or duplicate data --------------------------------------
    Case("prev-cut-to-1pct", "PREVALENCE 2019/20 cut to 1% on a line end replaces the complete edition",
         cut_lines(PREV, 0.01), Error(v.REPLACEMENT_LOSES_DATA, "edition comparison", ("practices", "--replace"))),
    Case("prev-cut-to-50pct-mid-line", "cut in the middle of a line at half the file",
         cut_bytes(PREV, 0.5), Error(v.REPLACEMENT_LOSES_DATA, "edition comparison")),
    Case("prev-cut-to-97pct", "the last 3% of lines missing", cut_lines(PREV, 0.97),
         Error(v.REPLACEMENT_LOSES_DATA, "edition comparison")),
    Case("prev-2021-named-1920", "2020/21 data saved as PREVALENCE_1920.csv (the year only in the name)",
         copy_as(PREV_2021, "PREVALENCE_1920.csv"), Error(v.REPLACEMENT_LOSES_DATA, "edition comparison",
                                                         ("reappear unchanged",))),
    Case("prev-1819-named-1920", "2018/19 data saved as PREVALENCE_1920_v3.csv (more practices and rows)",
         copy_as(PREV_1819, "PREVALENCE_1920_v3.csv"),
         Error(v.REPLACEMENT_LOSES_DATA, "edition comparison", ("reappear unchanged",))),
    Case("prev-cut-forced", "the 1% cut forced with --replace: loaded, the log marks it forced",
         cut_lines(PREV, 0.01), Load(forced), {"replace": True}),
    Case("prev-corrected-edition", "a v2 with three registers revised replaces the stored edition",
         corrected_edition, Load(corrected_values)),
    Case("prev-identical-renamed", "the same bytes under another name are already loaded",
         copy_as(PREV, "PREVALENCE_1920 (1).csv"), Load(unchanged)),
    Case("prev-identical-other-year-name", "the same bytes named for 2018/19",
         copy_as(PREV, "PREVALENCE_1819.csv"), Error(v.SAME_FILE_OTHER_EDITION, "file name", ("FY2019/20",))),
    Case("prev-rows-shuffled", "the same rows in another order", shuffled_prev, Load(replaced_without_loss)),
    Case("prev-columns-permuted", "the same columns in another order", permuted_columns,
         Load(same_measures_as(PREV.name))),
    Case("prev-extra-column", "an extra column nobody asked for", extra_column, Load(same_measures_as(PREV.name))),
    Case("prev-file-twice", "two copies of the file concatenated", edit_full_prev(twice),
         Error(v.DUPLICATE_KEY, "lines 2, 141122")),
    Case("prev-one-line-repeated", "one line repeated further down",
         edit_prev(insert_line(2000, b"A81001,AF,95,TOTAL,4111\r\n")), Error(v.DUPLICATE_KEY, "lines 2, 2001")),
    Case("prev-repeated-rows-5mb", "200,000 rows repeating the same 1,000 keys (streamed, refused)",
         big_repeated_prevalence, Error(v.DUPLICATE_KEY, "lines 2, 1002")),
    Case("epraccur-cut-to-10pct", "epraccur cut to 10% replaces the complete snapshot", cut_lines(EPRACCUR, 0.1),
         Error(v.REPLACEMENT_LOSES_DATA, "edition comparison")),
    Case("epd-repeated-identical-rows", "100,000 copies of one real EPD row named as the stored month",
         repeated_epd_rows(100_000), Error(v.DUPLICATE_KEY, "rows", ("exact copies",))),
    Case("epd-cut-in-half", "EPD month cut in half", cut_lines(EPD, 0.5),
         Error(v.REPLACEMENT_LOSES_DATA, "edition comparison")),
    Case("epd-october-named-september", "October rows in a file named for September",
         copy_as(EPD_OCT, "EPD_201709.csv"), Error(v.PERIOD_INCONSISTENT, "file name", ("2017-10",))),
    Case("registrations-month-mismatch", "January 2021 registrations (an excerpt) named for February",
         lambda d: [write(d, "gp-reg-pat-prac-all_2021-02.csv", excerpt(REG, 500))],
         Error(v.PERIOD_INCONSISTENT, "file name", ("2021-01",))),
    Case("registrations-copy-named-other-month", "the loaded January 2021 file copied under a February name",
         copy_as(REG, "gp-reg-pat-prac-all_2021-02.csv"), Error(v.SAME_FILE_OTHER_EDITION, "file name")),
    Case("registrations-map-month-mismatch", "the September 2020 map (an excerpt) named for 2020-10",
         lambda d: [write(d, "gp-reg-pat-prac-map_2020-10.csv", excerpt(MAP, 500))],
         Error(v.PERIOD_INCONSISTENT, "file name", ("2020-09",))),
    Case("qof-2122-named-1920", "a 635-point 2021/22 table named for 2019/20 (559 points)",
         copy_as(QOF_2122, "QOF_2019-20_v2.csv"), Error(v.PERIOD_INCONSISTENT, "header")),
    Case("qof-cut", "QOF achievement 2019/20 cut to 20%", cut_lines(QOF, 0.2),
         Error(v.REPLACEMENT_LOSES_DATA, "edition comparison")),
    Case("fingertips-edited-renamed", "the IMD extract downloaded again (one value revised) under another name",
         fingertips_edited, Load(fingertips_one_edition)),
    Case("fingertips-identical-renamed", "the same extract under another name", copy_as(FINGERTIPS, "imd.csv"),
         Load(unchanged)),
    Case("workbook-sheet-renamed", "a re-issued workbook whose sheet was renamed: the same edition, not a second",
         workbook_renamed_sheet, Load(workbook_one_edition)),
    Case("workbook-named-wrong-year", "a 2014/15 workbook named for 2013/14",
         lambda d: [workbook_excerpt(d, "qof-1314-prac-asthma.xlsx")], Error(v.PERIOD_INCONSISTENT, "file name")),
    # -- group registries ------------------------------------------------------------------------------
    Case("registry-billion-laughs", "524 bytes of nested YAML aliases", billion_laughs,
         Error("malformed-registry", "", ("aliases",))),
    Case("registry-deep-nesting", "YAML nested 100,000 deep",
         lambda d: [write(d, "deep.yaml", b"gpscale_group_registry: 1\ngroups: " + b"[" * 100_000 + b"]" * 100_000)],
         Error("malformed-registry", "", ("nests",))),
    Case("registry-too-large", "a 9 MB registry file",
         lambda d: [write(d, "huge.yaml", b"gpscale_group_registry: 1\n# " + b"x" * 9_000_000 + b"\ngroups: []\n")],
         Error("malformed-registry", "file", ("bytes",))),
    Case("registry-edited-renamed", "the stored registry edited (one member added) and saved under a new name",
         registry_edited, Load(registry_loaded(4))),
    Case("registry-renamed-drops-groups", "the stored registry with half its groups, under a new name",
         registry_half, Error(v.REPLACEMENT_LOSES_DATA, "edition comparison")),
    Case("registry-ids-of-two-registries", "a file holding groups of two stored registries", registry_straddling,
         Error("group-in-two-registries", "groups")),
    Case("registry-empty-id", "a group with an empty id",
         registry_case(lambda c: registry_doc(yaml_group("''", "Blank", [(c[0], "2015-04-01", "")])),),
         Error("empty-id-or-name", "group 1")),
    Case("registry-null-id", "a group whose id is null",
         registry_case(lambda c: registry_doc(yaml_group("null", "Nothing", [(c[0], "2015-04-01", "")])),),
         Error("empty-id-or-name", "group 1")),
    Case("registry-empty-name", "a group with an empty name",
         registry_case(lambda c: registry_doc(yaml_group("G1", "''", [(c[0], "2015-04-01", "")])),),
         Error("empty-id-or-name", "group G1")),
    Case("registry-empty-practice", "a member without a practice code",
         registry_case(lambda c: registry_doc(yaml_group("G1", "Group", [("''", "2015-04-01", "")])),),
         Error("empty-id-or-name", "group G1, member 1")),
    Case("registry-group-twice", "the same group id twice in one file",
         registry_case(lambda c: registry_doc(yaml_group("G1", "One", [(c[0], "2015-04-01", "")]),
                                              yaml_group("G1", "Two", [(c[1], "2015-04-01", "")]))),
         Error("duplicate-group-id", "group G1")),
    Case("registry-overlapping-spells", "a practice in a group twice at once",
         registry_case(lambda c: registry_doc(yaml_group("G1", "One", [(c[0], "2015-04-01", ""),
                                                                        (c[0], "2016-04-01", "2017-03-31")]))),
         Error("overlapping-spells", "group G1, member 2")),
    Case("registry-end-before-start", "a membership ending before it starts",
         registry_case(lambda c: registry_doc(yaml_group("G1", "One", [(c[0], "2016-04-01", "2015-03-31")]))),
         Error("end-before-start", "group G1, member 1")),
    Case("registry-unknown-kind", "a group of an unknown kind",
         registry_case(lambda c: registry_doc(yaml_group("G1", "One", [(c[0], "2015-04-01", "")], kind="club"))),
         Error("unknown-group-kind", "group G1")),
    Case("registry-bad-practice-code", "a member code that is no ODS code",
         registry_case(lambda c: registry_doc(yaml_group("G1", "One", [("81001A", "2015-04-01", "")]))),
         Error(v.INVALID_ODS_CODE, "group G1, member 1")),
    Case("registry-unknown-parent", "a parent no file or store knows",
         registry_case(lambda c: registry_doc(yaml_group("G1", "One", [(c[0], "2015-04-01", "")], parent="NOPE"))),
         Error("unknown-parent", "group G1")),
    Case("registry-impossible-date", "a start date of 2015-02-30",
         registry_case(lambda c: registry_doc(yaml_group("G1", "One", [(c[0], "2015-02-30", "")]))),
         Error(v.IMPOSSIBLE_DATE, "group G1, member 1")),
    Case("registry-not-utf8", "a registry saved in Latin-1",
         lambda d: [write(d, "latin.yaml", registry_doc(yaml_group("G1", "Médical", [(practices_of(EPRACCUR, 1)[0],
                                                                                       "2015-04-01", "")])).decode()
                          .encode("latin-1"))], Error("malformed-registry", "", ("UTF-8",))),
    Case("registry-csv-conflicting-group", "a CSV registry giving one group two names",
         registry_csv(["G1,One,federation,A81001,2015-04-01,", "G1,Another,federation,A81002,2015-04-01,"]),
         Error("duplicate-group-id", "line 3")),
    Case("registry-csv-empty-id", "a CSV registry row without a group id",
         registry_csv([",Nameless,federation,A81001,2015-04-01,"]), Error("empty-id-or-name", "line 2")),
    Case("registry-utf8-bom", "a registry with a UTF-8 byte-order mark loads", utf8_bom_registry,
         Load(registry_loaded(1))),
    # -- encodings and CSV shape --------------------------------------------------------------------------
    Case("prev-utf16-le-bom", "the real file re-saved as UTF-16 LE with a BOM",
         reencode("utf-16-le", codecs.BOM_UTF16_LE), Load(same_measures_as(PREV.name))),
    Case("prev-utf16-be-bom", "re-saved as UTF-16 BE with a BOM", reencode("utf-16-be", codecs.BOM_UTF16_BE),
         Load(same_measures_as(PREV.name))),
    Case("prev-utf16-no-bom", "re-saved as UTF-16 LE without a BOM", reencode("utf-16-le", b""),
         Load(same_measures_as(PREV.name))),
    Case("prev-utf8-bom", "re-saved with a UTF-8 BOM", reencode("utf-8", codecs.BOM_UTF8),
         Load(same_measures_as(PREV.name))),
    Case("prev-lf-line-ends", "line ends converted to LF", edit_full_prev(to_lf), Load(same_measures_as(PREV.name))),
    Case("prev-cr-line-ends", "old Mac line ends (CR only)", edit_full_prev(to_cr), Load(same_measures_as(PREV.name))),
    Case("prev-blank-lines", "blank and whitespace-only lines inserted", edit_full_prev(blank_lines),
         Load(same_measures_as(PREV.name))),
    Case("prev-lower-case-header", "header written in lower case", edit_full_prev(lower_header),
         Load(same_measures_as(PREV.name))),
    Case("epraccur-mixed-encoding", "one name in UTF-8 (line 11), another in Latin-1 (line 501)",
         mixed_encoding_epraccur, Error(v.MIXED_ENCODING, "line 501", ("line 11",))),
    Case("epraccur-latin1", "a Windows-1252 file (one accented name) is read as such",
         latin1_epraccur, Load(name_of_practice(epraccur_code(10), "CENTRE MÉDICAL"))),
    Case("epraccur-utf8", "a UTF-8 file (one accented name)", utf8_epraccur,
         Load(name_of_practice(epraccur_code(10), "CENTRE MÉDICAL"))),
    Case("payments-bom-then-latin1", "a UTF-8 (BOM) payments file with a Latin-1 byte on line 301",
         mixed_payments, Error(v.MIXED_ENCODING, "line 301")),
    Case("epd-mixed-encoding", "an EPD file with a Latin-1 BNF code on line 201 among UTF-8 lines", epd_latin1,
         Error(v.MIXED_ENCODING, "line 201")),
    Case("epd-latin1-in-unread-column", "Latin-1 and UTF-8 practice names (a column gpscale does not load)",
         epd_latin1_names, Load(rejects_are(set()))),
    Case("prev-nul-bytes", "NUL bytes on line 51",
         edit_prev(replace_line(51, lambda ln: ln[:5] + b"\x00\x00" + ln[5:])),
         Error(v.MALFORMED_CSV, "line 51", ("NUL",))),
    Case("binary-garbage-csv", "random bytes named .csv", lambda d: [write(d, "PREVALENCE_1516.csv",
                                                                          random.Random(3).randbytes(50_000))],
         Error(v.UNKNOWN_FORMAT, "header")),
    Case("empty-file", "an empty file", lambda d: [write(d, "PREVALENCE_1516.csv", b"")], Error(v.EMPTY_FILE, "")),
    Case("header-only", "the header and no rows", edit_prev(lambda ls: ls[:1]), Error(v.EMPTY_FILE, "row 1")),
    Case("workbook-truncated", "an ePCN workbook cut in half", truncated_workbook, Error("unreadable-workbook", "")),
    Case("csv-named-xlsx", "a CSV named .xlsx", lambda d: [write(d, "PREVALENCE_1516.xlsx", PREV.read_bytes()[:5000])],
         Error("unreadable-workbook", "")),
    Case("prev-duplicate-column", "REGISTER named twice in the header", edit_prev(rename_header(4, b"REGISTER")),
         Error(v.DUPLICATE_COLUMN, "header", ("'REGISTER'",))),
    Case("prev-missing-column", "PATIENT_LIST_SIZE dropped", edit_prev(drop_column(4)),
         Error(v.MISSING_COLUMNS, "header", ("list_size",))),
    Case("epraccur-26-fields-first-line", "the first epraccur line missing a field: the row quarantined",
         edit_epraccur(lambda ls: [ls[0].replace(b'"","A"', b'"A"', 1), *ls[1:]]),
         Load(rejects_are({(1, v.WRONG_FIELD_COUNT)}))),
    Case("prev-short-line", "line 301 missing its last field",
         edit_prev(replace_line(301, lambda ln: ln.rsplit(b",", 1)[0] + b"\r\n")),
         Load(excerpt_rows_loaded(3000, {(300, v.WRONG_FIELD_COUNT)}))),
    Case("prev-stray-quote", "a quote opened on line 101 and never closed",
         edit_prev(replace_line(101, lambda ln: ln.replace(b",OB,", b',"OB,'))), Error(v.MALFORMED_CSV, "line 101")),
    Case("prev-stray-quotes", "quotes on lines 101 and 120 swallowing the lines between",
         edit_prev(lambda ls: replace_line(120, lambda ln: ln.replace(b",", b'",', 1))(
             replace_line(101, lambda ln: ln.replace(b",OB,", b',"OB,'))(ls))),
         Error(v.MALFORMED_CSV, "line 101")),
    # -- values -----------------------------------------------------------------------------------------
    Case("prev-fractional-register", "register 1523.5 on line 101", edit_prev(at(101, 2, b"1523.5")),
         Load(excerpt_rows_loaded(3000, {(100, v.NON_WHOLE_COUNT)}))),
    Case("prev-negative-register", "register -5", edit_prev(at(101, 2, b"-5")),
         Load(excerpt_rows_loaded(3000, {(100, v.NEGATIVE_COUNT)}))),
    Case("prev-text-register", "register 'lots'", edit_prev(at(101, 2, b"lots")),
         Load(excerpt_rows_loaded(3000, {(100, v.NON_NUMERIC_COUNT)}))),
    Case("prev-register-1e400", "register 1e400", edit_prev(at(101, 2, b"1e400")),
         Load(excerpt_rows_loaded(3000, {(100, v.NON_NUMERIC_COUNT)}))),
    Case("prev-register-nan", "register NaN", edit_prev(at(101, 2, b"NaN")),
         Load(excerpt_rows_loaded(3000, {(100, v.NON_NUMERIC_COUNT)}))),
    Case("prev-register-above-list", "register above the list size", edit_prev(at(101, 2, b"999999")),
         Load(excerpt_rows_loaded(3000, {(100, v.NUMERATOR_ABOVE_DENOMINATOR)}))),
    Case("prev-bad-practice-code", "practice code 81001A", edit_prev(at(101, 0, b"81001A")),
         Load(excerpt_rows_loaded(3000, {(100, v.INVALID_ODS_CODE)}))),
    Case("prev-suppressed-register", "register '*' becomes a null, counted", edit_prev(at(101, 2, b"*")),
         Load(suppressed_is_null)),
    Case("prev-many-bad-registers", "one register in ten unreadable", edit_prev(many_bad),
         Error(v.TOO_MANY_REJECTS, "row 1")),
    Case("epraccur-close-before-open", "a practice closing before it opened",
         edit_epraccur(lambda ls: [*ls[:4], ls[4].replace(b'"19740401",""', b'"19740401","19700101"', 1), *ls[5:]]),
         Load(rejects_are({(5, v.IMPOSSIBLE_DATE)}))),
    Case("epraccur-february-30", "an open date of 30 February",
         edit_epraccur(lambda ls: [*ls[:4], ls[4].replace(b'"19740401"', b'"19740230"', 1), *ls[5:]]),
         Load(rejects_are({(5, v.IMPOSSIBLE_DATE)}))),
    Case("epd-fractional-items", "ITEMS 1.5", edit_epd(at(11, EPD_ITEMS, b"1.5")),
         Load(rejects_are({(10, v.NON_WHOLE_COUNT)}))),
    Case("epd-negative-items", "ITEMS -1", edit_epd(at(11, EPD_ITEMS, b"-1")),
         Load(rejects_are({(10, v.NEGATIVE_COUNT)}))),
    Case("qof-points-above-maximum", "600 points of 559",
         lambda d: [write(d, "QOF_2017-18.csv", at(3, 8, b"600.00")(excerpt(QOF, 200)))],
         Load(rejects_are({(2, v.NUMERATOR_ABOVE_DENOMINATOR)}))),
    # -- periods ----------------------------------------------------------------------------------------
    Case("byprac-no-period", "the undated prevalencebyprac file", copy_as(BYPRAC, BYPRAC.name),
         Error(v.PERIOD_UNKNOWN, "file name", ("--period",))),
    Case("byprac-period-stated", "the undated file with --period FY2013/14", copy_as(BYPRAC, BYPRAC.name),
         Load(byprac_with_period), {"period": "FY2013/14"}),
    Case("byprac-month-stated", "--period given as a month for a financial-year file", copy_as(BYPRAC, BYPRAC.name),
         Error(v.PERIOD_INCONSISTENT, "--period"), {"period": "2013-04"}),
    Case("prev-period-disagrees", "--period FY2016/17 for a file named 2015/16", edit_prev(lambda ls: ls),
         Error(v.PERIOD_INCONSISTENT, "--period"), {"period": "FY2016/17"}),
    Case("epd-period-disagrees", "--period 2017-10 for September rows", edit_epd(lambda ls: ls),
         Error(v.PERIOD_INCONSISTENT, "--period"), {"period": "2017-10"}),
    Case("epraccur-period-stated", "--period for a file that has no financial year", edit_epraccur(lambda ls: ls),
         Error(v.PERIOD_INCONSISTENT, "--period"), {"period": "FY2015/16"}),
    Case("folder-with-undated-file", "a folder holding one undated file is refused whole, naming it",
         folder_with_undated, Error(v.PERIOD_UNKNOWN, "file name", (BYPRAC.name,))),
)


def _real_store(d: Path) -> Path:
    p = d / "real.duckdb"
    with open_store(p) as st:
        ingest(st, [EPD])
    return p


CLI_CASES: tuple[CliCase, ...] = (
    CliCase("store-is-csv", "--store x.csv (an existing CSV)", B.csv_file, "not a DuckDB database"),
    CliCase("store-is-parquet", "--store x.parquet", B.parquet_file, "not a DuckDB database"),
    CliCase("store-is-directory", "--store a directory", B.directory, "directory"),
    CliCase("store-truncated", "a store cut in half", B.truncated(_real_store), "truncated"),
    CliCase("store-garbage", "random bytes named .duckdb",
            lambda d: write(d, "g.duckdb", random.Random(5).randbytes(30_000)), "damaged"),
    CliCase("store-locked-by-another-process", "a store another process holds open", _real_store, "in use",
            locked=True),
)
