"""A tiny synthetic world run through the real command line, for the subtraction-attack suite.

``gpscale synth`` writes 20 practices in the published layouts; two years of them (prescribing months
April 2022 to March 2024, the 2023 and 2024 GP Patient Surveys, the practice and PCN files) are edited as
a hostile data owner would, then ``gpscale ingest``, ``gpscale evaluate --groups FILE --excel`` and
``gpscale report`` (every scenario group's board pack and the national report) run as a user runs them.
The four scenarios of issue 12:

(a) ``FILE-A``, a group given only by the registry file passed to ``--groups``, whose member F88021 has
    broad-spectrum antibiotic counts under 5 in every 2023 month;
(b) ``U10021``, a PCN whose member J86142 leaves on 30 November 2022 (mid FY2022/23, from the ePCN file);
(c) ``U10049``, a PCN whose member B85726 holds broad-spectrum counts under 5 in every month;
(d) ``U10042``, a PCN whose member P92176 has a 2024 survey result on a weighted numerator of 4.844 out of
    a weighted base of 14.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from typer.testing import CliRunner

from gpscale.cli import app

runner = CliRunner()
INDICATORS = ("rx_broad_spectrum", "gpps_overall_good")
FILE_GROUP, FILE_MEMBERS, FILE_SMALL = "FILE-A", ("F88021", "M83486", "P83624"), "F88021"
SCENARIOS = {"a": FILE_GROUP, "b": "U10021", "c": "U10049", "d": "U10042"}
LEAVER = "J86142"  # leaves U10021 on 2022-11-30 (synthetic ePCN file, seed 3)
SMALL = "B85726"  # U10049's member with counts under 5
SURVEY_MEMBER, SURVEY_YEAR = "P92176", "FY2023/24"
BROAD_LINES = ("0501013K0AAAJAJ", "0501021K0AAAAAA", "0501120L0AAAAAA")  # the synthetic broad-spectrum lines
MONTHS = [f"{y}{m:02d}" for y in (2022, 2023, 2024) for m in range(1, 13) if "202204" <= f"{y}{m:02d}" <= "202403"]


@dataclass(frozen=True)
class CliWorld:
    root: Path
    store: Path
    results: Path
    registry: Path
    reports: dict[str, Path]  # "national" or a group id -> the HTML written by ``gpscale report``


def _invoke(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, f"gpscale {' '.join(args)}:\n{r.output}\n{r.exception!r}"
    return r.output


def _edit_prescribing(path: Path, small: dict[str, bool]) -> None:
    """Broad-spectrum items of 1 per line (so 1-3 a month) for the practices given (gzip in, gzip out)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    month = path.name.split("_")[1]
    for code, all_months in small.items():
        if all_months or month.startswith("2023"):
            hit = (df["PRACTICE_CODE"] == code) & df["BNF_CODE"].isin(BROAD_LINES)
            df.loc[hit, "ITEMS"] = "1"
    df.to_csv(path, index=False)


def _edit_survey(path: Path) -> None:
    """A weighted numerator of 4.844 (0.346 of 14) for the overall-experience question."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    hit = df["Practice_Code"] == SURVEY_MEMBER
    df.loc[hit, ["Q28base", "Q28_1pct", "Q28_2pct", "Q28_12pct"]] = ["14", "0.15", "0.196", "0.346"]
    df.to_csv(path, index=False)


def _registry(path: Path) -> Path:
    path.write_text(yaml.safe_dump({"gpscale_group_registry": 1, "groups": [{
        "id": FILE_GROUP, "name": "File-only Alliance", "kind": "federation", "founded": "2019-04-01",
        "members": [{"practice": c, "start": "2019-04-01", "end": None} for c in FILE_MEMBERS]}]}))
    return path


def build(root: Path) -> CliWorld:
    """Synthesise, edit, ingest, evaluate and report (about a minute on a quiet machine)."""
    synth = root / "synth"
    _invoke(["synth", "--out", str(synth), "--seed", "3", "--practices", "20"])
    nhs = root / "nhs"
    nhs.mkdir()
    for name in ("epraccur.csv", "ePCN.xlsx", "succ.csv"):
        shutil.copy(synth / "nhs" / name, nhs / name)
    for m in MONTHS:
        shutil.copy(synth / "nhs" / f"EPD_{m}.csv.gz", nhs / f"EPD_{m}.csv.gz")
        _edit_prescribing(nhs / f"EPD_{m}.csv.gz", {SMALL: True, LEAVER: True, FILE_SMALL: False})
    for year in (2023, 2024):
        name = f"GPPS_{year}_Practice_data_(weighted)_(csv)_PUBLIC.csv"
        shutil.copy(synth / "nhs" / name, nhs / name)
    _edit_survey(nhs / "GPPS_2024_Practice_data_(weighted)_(csv)_PUBLIC.csv")
    store, results, registry = root / "store.duckdb", root / "results", _registry(root / "registry.yaml")
    _invoke(["ingest", "--store", str(store), str(nhs)])
    _invoke(["evaluate", "--store", str(store), "--out", str(results), "--groups", str(registry),
             *[a for i in INDICATORS for a in ("--indicator", i)],
             *[a for x in ("scorecard", "trends", "variation") for a in ("--analysis", x)],
             "--excel", "--no-calibration"])
    reports = {}
    for key, args in [(g, ["--group", g]) for g in SCENARIOS.values()] + [("national", ["--national"])]:
        out = root / "reports" / f"{key}.html"
        out.parent.mkdir(exist_ok=True)
        _invoke(["report", "--results", str(results), "--out", str(out), *args])
        reports[key] = out
    return CliWorld(root, store, results, registry, reports)
