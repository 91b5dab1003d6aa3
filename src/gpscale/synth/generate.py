"""Generate synthetic England into a folder: ``nhs/`` (published layouts), ``groups/``, ``truth/``.

The same seed gives byte-identical files; different seeds differ. Writers run in a fixed order because
some draw from the world's shared generator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from gpscale.domain.vocabulary import RelativeTrend
from gpscale.synth import layouts
from gpscale.synth.events import event_truth
from gpscale.synth.ods_successors import write_successors
from gpscale.synth.world import FYS, LATENT, NAMED_GROUPS, World, build_world

#: Which indicators each latent measure drives (the QOF latent drives all three QOF scores).
LATENT_INDICATORS: dict[str, tuple[str, ...]] = {
    **{k: (k,) for k in LATENT if k != "qof"},
    "qof": ("qof_total", "qof_clinical", "qof_organisational"),
}

WRITERS: tuple[tuple[str, Callable[[World, Path], Path | list[Path]]], ...] = (
    ("ODS practice register", layouts.write_epraccur),
    ("ODS ePCN workbook", layouts.write_epcn),
    ("QOF achievement", layouts.write_qof),
    ("QOF prevalence", layouts.write_prevalence),
    ("GP Patient Survey", layouts.write_gpps),
    ("registrations by quinary age", layouts.write_registrations),
    ("hospital activity", layouts.write_hospital),
    ("payments to general practice", layouts.write_payments),
    ("English Prescribing Dataset", layouts.write_prescribing),
    ("ODS successor organisations", write_successors),
)


@dataclass(frozen=True)
class SynthResult:
    """Where everything went, and the counts a user would check."""

    out: Path
    files: tuple[Path, ...]
    practices_ever: int
    practices_open_at_end: int
    groups: int
    pcns: int


def generate(
    out: Path,
    seed: int = 1,
    practices: int = 6500,
    progress: Callable[[str, int, int], None] | None = None,
) -> SynthResult:
    """Write synthetic England for ``seed`` with about ``practices`` practices into ``out``."""
    world = build_world(seed, practices)
    nhs = out / "nhs"
    for sub in (nhs, out / "groups", out / "truth"):
        sub.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    steps = len(WRITERS) + 2
    for i, (label, writer) in enumerate(WRITERS):
        if progress:
            progress(label, i, steps)
        written = writer(world, nhs)
        files.extend(written if isinstance(written, list) else [written])
    if progress:
        progress("group registry and ground truth", len(WRITERS), steps)
    files.append(write_group_registry(world, out / "groups" / "registry.yaml"))
    files.extend(write_truth(world, out / "truth"))
    if progress:
        progress("surveys", len(WRITERS) + 1, steps)
    files.extend(_write_surveys(world, out / "surveys"))
    files.append(_write_manifest(out, seed, practices, files))
    open_end = world.practices["close_date"].isna().sum()
    pcns = int((world.groups["kind"] == "pcn").sum())
    return SynthResult(out, tuple(files), len(world.practices), int(open_end), len(world.groups), pcns)


def write_group_registry(world: World, path: Path) -> Path:
    """The named groups and their dated membership spells, in the gpscale registry YAML layout."""
    named = {g.group_id for g in NAMED_GROUPS}
    groups = []
    for g in world.groups[world.groups["group_id"].isin(named)].itertuples():
        spells = world.membership[world.membership["group_id"] == g.group_id].sort_values(
            ["practice_code", "start_date"]
        )
        groups.append(
            {
                "id": g.group_id,
                "name": g.name,
                "kind": g.kind,
                "legal_form": g.legal_form,
                "founded": g.founded.isoformat(),
                "contracts": str(g.contracts).split("/"),
                "members": [
                    {
                        "practice": s.practice_code,
                        "start": s.start_date.isoformat(),
                        "end": None if s.end_date is None or pd.isna(s.end_date) else s.end_date.isoformat(),
                    }
                    for s in spells.itertuples()
                ],
            }
        )
    doc = {"gpscale_group_registry": 1, "groups": groups}
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    return path


def expected_classification(latent: str, effect_per_year: float) -> RelativeTrend:
    """How a correct evaluation classifies a group's trend against England's under an injected effect."""
    _, polarity = LATENT[latent]
    up, down = RelativeTrend.directions(polarity)
    return up if effect_per_year > 0 else down


def write_truth(world: World, folder: Path) -> list[Path]:
    """Ground truth: the injected effect per group and indicator (all other pairs have none)."""
    rows = []
    for e in world.effects.itertuples():
        scale, _ = LATENT[str(e.latent)]
        size = float(e.effect_per_year)
        expected = expected_classification(str(e.latent), size)
        for ind in LATENT_INDICATORS[str(e.latent)]:
            rows.append(
                {"group_id": e.group_id, "indicator_id": ind, "effect_per_year": size, "scale": str(scale),
                 "expected_classification": str(expected),
                 "applies": "to member practices, growing with each year of membership"}
            )
    effects = pd.DataFrame(rows).sort_values(["group_id", "indicator_id"])
    p1 = folder / "effects.csv"
    effects.to_csv(p1, index=False, lineterminator="\n")
    p2 = folder / "README.md"
    p2.write_text(
        "# Ground truth of synthetic England\n\n"
        "`effects.csv` lists every (group, indicator) pair with an injected effect: the latent predictor\n"
        "(log scale for rates and ratios, logit for shares and QOF) of each member practice moves by\n"
        "`effect_per_year` for each year of membership, relative to England's trend; a correct evaluation\n"
        "classifies the group's trend against England's as `expected_classification`. Every pair not listed\n"
        f"has no injected effect, so a correct evaluation calls it '{RelativeTrend.SIMILAR}' at about the\n"
        "nominal rate.\n\n"
        "`event_effects.csv` is the truth for event studies (gpscale.synth.events): per group, indicator,\n"
        "cohort (financial year a practice first joined) and event time (years since that year), the mean\n"
        "latent shift over the cohort's open practices. Practices joining after a group's founding wave get\n"
        "1.5 times the founders' effect; in multi-site providers the effect starts the year before joining\n"
        "(anticipation); nothing else moves before an event.\n"
    )
    p3 = folder / "event_effects.csv"
    ev = event_truth(world.event_shifts, world.membership, world.list_size, world.practices, FYS)
    ev = ev.assign(indicator_id=ev["latent"].map(lambda k: LATENT_INDICATORS[str(k)])).explode("indicator_id")
    cols = ["group_id", "kind", "indicator_id", "cohort_fy", "event_time", "effect", "n_practices"]
    ev = ev.assign(scale=ev["latent"].map(lambda k: LATENT[str(k)][0]))[[*cols, "scale"]]
    ev.sort_values(cols[:5]).to_csv(p3, index=False, lineterminator="\n")
    return [p1, p2, p3]


def _write_surveys(world: World, folder: Path) -> list[Path]:
    try:
        from gpscale.surveys.synth import write_synthetic_surveys
    except ImportError:  # the survey kit is optional at this layer
        return []
    folder.mkdir(exist_ok=True)
    named = {g.group_id for g in NAMED_GROUPS}
    m = world.membership[world.membership["group_id"].isin(named)]
    groups = {gid: sorted(set(m.loc[m["group_id"] == gid, "practice_code"])) for gid in sorted(named)}
    open_codes = world.practices.loc[world.practices["close_date"].isna(), "practice_code"].tolist()
    commissioners = sorted(set(world.practices["commissioner"]))
    return list(write_synthetic_surveys(folder, world.seed, open_codes, commissioners, groups))


def _write_manifest(out: Path, seed: int, practices: int, files: list[Path]) -> Path:
    entries = []
    for f in sorted(files):
        entries.append({"file": str(f.relative_to(out)), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()})
    path = out / "manifest.json"
    path.write_text(json.dumps({"generator": "gpscale synth", "seed": seed, "practices": practices,
                                "files": entries}, indent=1) + "\n")
    return path
