"""Synthetic England: determinism, structure, and that every file is read as its published format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gpscale.indicators.library import load_definitions
from gpscale.sources.registry import detect
from gpscale.synth import generate
from tests.synthetic_england import small_england


def _digests(folder: Path) -> dict[str, str]:
    return {e["file"]: e["sha256"] for e in json.loads((folder / "manifest.json").read_text())["files"]}


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = generate(tmp_path / "a", seed=5, practices=25)
    b = generate(tmp_path / "b", seed=5, practices=25)
    da, db = _digests(a.out), _digests(b.out)
    assert da == db
    assert len(da) > 200  # every layout, every year and month
    for rel in ("nhs/ePCN.xlsx", "nhs/EPD_201709.csv.gz", "truth/effects.csv", "groups/registry.yaml"):
        assert (a.out / rel).read_bytes() == (b.out / rel).read_bytes()


def test_different_seeds_differ(tmp_path):
    a = generate(tmp_path / "a", seed=5, practices=25)
    b = generate(tmp_path / "b", seed=6, practices=25)
    da, db = _digests(a.out), _digests(b.out)
    assert da != db
    assert (a.out / "nhs/epraccur.csv").read_bytes() != (b.out / "nhs/epraccur.csv").read_bytes()


#: File name pattern → the published format its loader must detect.
EXPECTED_FORMAT = {
    r"epraccur\.csv": "ods_epraccur",
    r"ePCN\.xlsx": "ods_epcn",
    r"QOF_\d{4}-\d{2}\.csv": "qof_achievement",
    r"QOF_DOMAINS_\d{4}-\d{2}\.csv": "qof_domains",
    r"PREVALENCE_\d{4}\.csv": "qof_prevalence",
    r"GPPS_\d{4}_Practice_data_\(weighted\)_\(csv\)_PUBLIC\.csv": "gpps_practice",
    r"GPPS 2017 Practice data \(weighted\) \(csv\) PUBLIC\.csv": "gpps_practice",
    r"(June|July) \d{4} Practice level data weighted( CSV)?\.csv": "gpps_practice",
    r"\d{4}_overall_csv\.csv": "gpps_practice",
    r"EPD_\d{6}\.csv\.gz": "prescribing",
    r"gp-reg-pat-prac-quin-age_\d{6}\.csv\.gz": "gp_reg_patients",
    r"nhspaymentsgp-\d{2}-\d{2}-prac-csv\.csv": "nhs_payments",
    r"hospital_activity_\d{4}-\d{2}\.csv\.gz": "hospital_activity",
    r"succ\.csv": "ods_successor",
    r"registry\.yaml": "group_registry",
}


def _expected(name: str) -> str:
    for pattern, fmt in EXPECTED_FORMAT.items():
        if re.fullmatch(pattern, name):
            return fmt
    raise AssertionError(f"no expected format listed for synthetic file {name}")


def test_every_synthetic_file_is_detected_as_its_published_format():
    synth = small_england()
    files = [*sorted((synth.out / "nhs").iterdir()), synth.out / "groups" / "registry.yaml"]
    seen = set()
    for f in files:
        _, det = detect(f)
        assert det.format == _expected(f.name), f.name
        seen.add(det.format)
    assert seen == set(EXPECTED_FORMAT.values())


def test_world_structure_is_realistic():
    synth = small_england()
    nhs = synth.out / "nhs"
    epraccur = pd.read_csv(nhs / "epraccur.csv", header=None, dtype=str, keep_default_na=False)
    assert epraccur.shape[1] == 27
    assert (epraccur[12] == "C").sum() > 0, "some practices close"
    assert (epraccur[10] > "20090401").sum() > 0, "some practices open during the period"
    qof_2009 = pd.read_csv(nhs / "QOF_2009-10.csv")
    qof_2023 = pd.read_csv(nhs / "QOF_2023-24.csv")
    assert len(qof_2023) < len(qof_2009), "closures and mergers shrink the number of practices"
    assert "Achievement score (max. 1000)" in qof_2009.columns
    assert "Achievement score (635 max)" in qof_2023.columns
    quin = pd.read_csv(nhs / "gp-reg-pat-prac-quin-age_201904.csv.gz")
    bands = set(quin.loc[quin["SEX"] == "FEMALE", "AGE_GROUP_5"])
    assert {"0_4", "45_49", "95+", "ALL"} <= bands and len(bands) == 21
    # PCNs from 2019 cover nearly all practices (the QOF file names the PCN of each practice)
    pcn = qof_2023["PCN ODS code"].fillna("")
    assert (pcn != "").mean() > 0.9
    assert pcn[pcn != ""].str.fullmatch(r"U\d{5}").all()


def test_named_groups_have_changing_membership_and_ground_truth():
    synth = small_england()
    reg = yaml.safe_load((synth.out / "groups" / "registry.yaml").read_text())
    kinds = {g["kind"] for g in reg["groups"]}
    assert kinds == {"super_partnership", "multi_site", "federation", "network"}
    starts = {m["start"] for g in reg["groups"] for m in g["members"]}
    assert len(starts) > len(reg["groups"]), "members join at different dates"
    truth = pd.read_csv(synth.out / "truth" / "effects.csv")
    assert {"group_id", "indicator_id", "effect_per_year", "expected_classification"} <= set(truth.columns)
    # what a correct evaluation says of each injected effect, by its sign and the indicator's polarity
    polarity = {i: d.polarity for i, d in load_definitions().items()}
    for r in truth.itertuples():
        up = r.effect_per_year > 0
        if polarity[r.indicator_id] == "no_judgement":
            want = "Rising relative to England" if up else "Falling relative to England"
        else:
            good = up == (polarity[r.indicator_id] == "high_is_good")
            want = "Improving relative to England" if good else "Worsening relative to England"
        assert r.expected_classification == want, r
    assert truth["group_id"].isin([g["id"] for g in reg["groups"]]).any()


def test_rejects_too_few_practices(tmp_path):
    with pytest.raises(ValueError, match="at least 20"):
        generate(tmp_path, seed=1, practices=5)
