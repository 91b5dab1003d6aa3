"""The main job end to end: synthetic England → store → indicators → groups → evaluation → bundle → schemes → reports.

``gpscale demo`` (and ``make demo``) runs it on the embedded synthetic England.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gpscale.bundle import open_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
from gpscale.evaluate.run import Evaluation, evaluate
from gpscale.evaluate.schemes.example_runs import ExampleRun, run_examples
from gpscale.report.board import write_group_report, write_national_report
from gpscale.store import open_store
from gpscale.store.ingest import IngestReport, ingest
from gpscale.synth import generate
from gpscale.synth.world import NAMED_GROUPS

Step = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    out: Path
    store: Path
    report: Path
    tables: list[Path]
    evaluation: Evaluation
    ingest: IngestReport
    schemes: tuple[ExampleRun, ...] = ()


def _synth_is_current(folder: Path, seed: int, practices: int) -> bool:
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return False
    meta = json.loads(manifest.read_text())
    return bool(meta.get("seed") == seed and meta.get("practices") == practices)


def run_demo(out: Path, seed: int = 1, practices: int = 6500, step: Step | None = None, *, csv: bool = False,
             excel: bool = False) -> DemoResult:
    """Run the whole pipeline into ``out``; reuse synthetic files already generated with the same settings.

    The results bundle is Parquet only unless ``csv`` / ``excel`` ask for copies (at the default size a CSV
    copy of the practice values alone is about 550 MB).
    """
    say = step or (lambda _msg: None)
    synth_dir = out / "synth"
    if _synth_is_current(synth_dir, seed, practices):
        say(f"synthetic England (seed {seed}, {practices} practices) already in {synth_dir}")
    else:
        say(f"generating synthetic England (seed {seed}, {practices} practices)")
        generate(synth_dir, seed=seed, practices=practices)
    store_path = out / "gpscale.duckdb"
    with open_store(store_path) as store:
        say("ingesting the published-layout files")
        report = ingest(store, [synth_dir / "nhs", synth_dir / "groups"])
        say("evaluating every group: scorecard, trends, variation, characteristics, is bigger better?")
        ev = evaluate(store, progress=lambda msg: say(f"  {msg}"))
    say("disclosure control and the results bundle")
    tables = write_bundle(make_bundle(ev), out / "results", meta=bundle_meta(ev), csv=csv, excel=excel)
    say("the example network incentive schemes (docs/schemes.md)")
    schemes = tuple(run_examples(store_path, out / "results", say=lambda msg: say(f"  {msg}")))
    say("writing the national report and a board pack for each named group")
    bundle = open_bundle(out / "results")
    report_path = write_national_report(bundle, out / "reports" / "national.html")[0]
    for g in NAMED_GROUPS:
        write_group_report(bundle, g.group_id, out / "reports" / f"{g.group_id}.html")
    bundle.close()
    return DemoResult(out, store_path, report_path, tables, ev, report, schemes)


def named_group_summary(ev: Evaluation, confidence: float = 0.95) -> pd.DataFrame:
    """Latest financial-year comparison of each named group on each indicator (for the terminal)."""
    c = ev.scorecard
    c = c[(c["confidence"] == confidence) & (c["period_type"] == "fy") & (c["entity_type"] == "group")]
    c = c[c["entity_id"].isin([g.group_id for g in NAMED_GROUPS])]
    latest = c.groupby("indicator_id")["period"].transform("max")
    return c[c["period"] == latest][["entity_id", "indicator_id", "period", "value", "lower", "upper",
                                     "comparator_value", "comparison"]]


def size_summary(ev: Evaluation) -> pd.DataFrame:
    """The "is bigger better?" conclusion for the latest financial year of each indicator (for the terminal)."""
    eff = ev.size_effect
    if eff.empty:
        return eff
    latest = eff.groupby("indicator_id")["period"].transform("max")
    return eff[eff["period"] == latest][["indicator_id", "period", "n_groups", "per_doubling_natural",
                                         "natural_lower", "natural_upper", "conclusion"]]
