"""A folder holding files gpscale does not load: they are listed and skipped (``--strict`` refuses them); a
faulty file of a recognised format still rejects the whole ingest, with the store as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gpscale.sources import validate as v
from gpscale.sources.base import SourceError
from gpscale.store.db import open_store
from gpscale.store.ingest import ingest
from tests.synthetic_england import small_england
from tests.unit.store.test_ingest_atomic import content_hash


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """Two published files, a survey codebook and responses, the truth folder and a manifest."""
    synth = small_england().out
    d = tmp_path / "mixed"
    (d / "nhs").mkdir(parents=True)
    for name in ("epraccur.csv", "QOF_2019-20.csv"):
        shutil.copy(synth / "nhs" / name, d / "nhs" / name)
    shutil.copytree(synth / "surveys", d / "surveys")
    shutil.copytree(synth / "truth", d / "truth")
    shutil.copy(synth / "manifest.json", d / "manifest.json")
    return d


def test_unrecognised_files_in_a_folder_are_listed_and_skipped(folder: Path) -> None:
    with open_store(":memory:") as st:
        rep = ingest(st, [folder])
        assert sorted(f.path.name for f in rep.files) == ["QOF_2019-20.csv", "epraccur.csv"]
        skipped = {s.path.relative_to(folder).as_posix(): s.reason for s in rep.skipped}
        assert set(skipped) == {
            "manifest.json", "surveys/collaboration_codebook.yaml", "surveys/collaboration_responses.csv",
            "surveys/staff_codebook.yaml", "surveys/staff_responses.csv", "truth/README.md", "truth/effects.csv",
            "truth/event_effects.csv"}
        assert skipped["manifest.json"].startswith("not a data file")
        assert skipped["truth/effects.csv"].startswith("no loader recognises it (nearest match:")


def test_strict_refuses_the_folder_naming_every_unrecognised_file(folder: Path, tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as st:
        before = content_hash(st.con)
        with pytest.raises(SourceError) as ei:
            ingest(st, [folder], strict=True)
        assert ei.value.rule == v.UNKNOWN_FORMAT and "--strict: 8 file(s)" in str(ei.value)
        assert "staff_codebook.yaml" in str(ei.value) and "event_effects.csv" in str(ei.value)
        assert content_hash(st.con) == before


def test_a_named_unrecognised_file_is_still_an_error(folder: Path) -> None:
    with open_store(":memory:") as st, pytest.raises(SourceError) as ei:
        ingest(st, [folder / "nhs", folder / "truth" / "effects.csv"])
    assert ei.value.rule == v.UNKNOWN_FORMAT and "nearest match" in str(ei.value)


def test_a_faulty_file_of_a_recognised_format_rejects_the_whole_folder(folder: Path, tmp_path: Path) -> None:
    bad = folder / "nhs" / "PREVALENCE_1920.csv"
    bad.write_text("PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE\nA81001,AF,10,TOTAL\n")  # no list size
    with open_store(tmp_path / "s.duckdb") as st:
        before = content_hash(st.con)
        with pytest.raises(SourceError) as ei:
            ingest(st, [folder])
        assert ei.value.rule == v.MISSING_COLUMNS and "PREVALENCE_1920.csv" in str(ei.value)
        assert content_hash(st.con) == before
