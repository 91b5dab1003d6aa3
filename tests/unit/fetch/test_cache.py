"""The cache folder: where it is, its lock, its manifest, and the names it stores files under."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gpscale.fetch.cache import Cache, EditionStatus, ManifestRecord, RecordSource, default_root, safe_name
from gpscale.fetch.errors import FetchError


def record(name: str = "f.csv", sha: str = "a" * 64) -> ManifestRecord:
    return ManifestRecord(entry="qof", edition="2019-20", name=name, sha256=sha, size=3,
                          source=RecordSource.BY_HAND, edition_status=EditionStatus.UNLISTED,
                          fetched_at="2026-03-02T12:00:00Z")


def test_cache_folder_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GPSCALE_CACHE", str(tmp_path / "mine"))
    assert default_root() == tmp_path / "mine"
    monkeypatch.delenv("GPSCALE_CACHE")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert default_root() == tmp_path / "xdg" / "gpscale"


def test_one_command_at_a_time(tmp_path: Path) -> None:
    pytest.importorskip("fcntl")
    cache = Cache(tmp_path)
    with (cache.locked(), pytest.raises(FetchError, match="another gpscale command is using the cache"),
          Cache(tmp_path).locked()):
        pass
    with cache.locked():  # released
        pass


def test_a_damaged_manifest_is_an_error_not_an_empty_cache(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(FetchError, match="not a gpscale cache manifest"):
        Cache(tmp_path).records()


def test_the_same_file_is_recorded_once(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    first = cache.add_records([record()])
    again = cache.add_records([record().model_copy(update={"fetched_at": "2026-04-01T00:00:00Z"})])
    assert again == first and len(cache.records()) == 1
    cache.add_records([record(sha="b" * 64)])
    assert len(cache.records()) == 2


def test_stored_names_are_one_safe_path_component() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("QOF 2022-23\\PREVALENCE_2223.csv") == "PREVALENCE_2223.csv"
    assert safe_name("GPPS_2025_Practice_data_(weighted)_(csv)_PUBLIC.csv") == \
        "GPPS_2025_Practice_data_(weighted)_(csv)_PUBLIC.csv"
    assert safe_name(".hidden;rm -rf") == "hidden_rm -rf"
