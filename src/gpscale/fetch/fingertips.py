"""A client for the OHID Fingertips API: one indicator per call, at a practice, PCN, sub-ICB or ICB level.

Endpoints used (see OHID's Fingertips API annex and https://fingertips.phe.org.uk/api):

* ``area_types`` — every area type with its id and name. Ids change between Fingertips versions (PCNs were
  204, "PCNs (v. 27/10/23)", in the April 2024 annex), so they are looked up at run time by name;
* ``available_data?indicator_id=N`` — the area types an indicator has data for, to choose between several
  versions of the same kind of area (the newest version with data wins);
* ``all_data/csv/by_indicator_id?indicator_ids=N&child_area_type_id=A&parent_area_type_id=P`` — the data, in
  the all_data CSV layout (27 columns: Indicator ID, ..., Value, Lower/Upper CI 95.0 and 99.8 limits,
  Count, Denominator, Value note, comparisons, ...).

The CSV is downloaded like any other file (retries, HTML refusal) and stored in the cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gpscale.fetch.download import Downloaded, Downloader, Progress
from gpscale.fetch.errors import FetchError


class AreaKind(StrEnum):
    """The levels gpscale asks Fingertips for (and England, the usual parent for comparisons)."""

    PRACTICE = "practice"
    PCN = "pcn"
    SUB_ICB = "sub-icb"
    ICB = "icb"
    ENGLAND = "england"


#: How each kind is recognised in the names of Fingertips area types (case-insensitive).
AREA_NAME_PATTERNS: dict[AreaKind, re.Pattern[str]] = {
    AreaKind.PRACTICE: re.compile(r"^(gps?|general practices?)\b", re.I),
    AreaKind.PCN: re.compile(r"^(pcns?|primary care networks?)\b", re.I),
    AreaKind.SUB_ICB: re.compile(r"^(icb sub-?locations?|sub-?icbs?( locations?)?)\b", re.I),
    AreaKind.ICB: re.compile(r"^icbs?\b(?!\s*sub)", re.I),
    AreaKind.ENGLAND: re.compile(r"^england$", re.I),
}

CSV_FIRST_COLUMN = "Indicator ID"


@dataclass(frozen=True)
class AreaType:
    id: int
    name: str


class FingertipsClient:
    """Looks area types up at run time and downloads one indicator's all_data CSV."""

    def __init__(self, downloader: Downloader, api: str) -> None:
        self.downloader = downloader
        self.api = api.rstrip("/")

    def area_types(self) -> list[AreaType]:
        answer = self.downloader.get_json(f"{self.api}/area_types")
        if not isinstance(answer, list):
            raise FetchError(f"{self.api}/area_types: expected a list of area types")
        out = []
        for item in answer:
            if isinstance(item, dict) and isinstance(item.get("Id"), int) and isinstance(item.get("Name"), str):
                out.append(AreaType(item["Id"], item["Name"]))
        if not out:
            raise FetchError(f"{self.api}/area_types: no area types in the answer")
        return out

    def available_area_type_ids(self, indicator_id: int) -> set[int]:
        answer = self.downloader.get_json(f"{self.api}/available_data", params={"indicator_id": indicator_id})
        if not isinstance(answer, list):
            raise FetchError(f"{self.api}/available_data: expected a list")
        return {
            int(a["AreaTypeId"])
            for a in answer
            if isinstance(a, dict) and a.get("IndicatorId") == indicator_id and isinstance(a.get("AreaTypeId"), int)
        }

    def resolve(self, kind: AreaKind, types: list[AreaType], available: set[int] | None = None) -> AreaType:
        """The area type of this kind: among those named like it, the ones with data for the indicator
        (when known), and of those the newest version (the highest id)."""
        named = [t for t in types if AREA_NAME_PATTERNS[kind].search(t.name.strip())]
        if not named:
            listing = "; ".join(f"{t.id} {t.name}" for t in types)
            raise FetchError(f"Fingertips has no area type for {kind.value} (area types: {listing})")
        candidates = named
        if available is not None and kind is not AreaKind.ENGLAND:
            candidates = [t for t in named if t.id in available]
            if not candidates:
                listing = ", ".join(f"{t.id} ({t.name})" for t in named)
                raise FetchError(f"the indicator has no data at {kind.value} level in Fingertips (tried {listing})")
        return max(candidates, key=lambda t: t.id)

    def data_url(self, indicator_id: int, child: AreaType, parent: AreaType) -> str:
        return (
            f"{self.api}/all_data/csv/by_indicator_id?indicator_ids={indicator_id}"
            f"&child_area_type_id={child.id}&parent_area_type_id={parent.id}"
        )

    def download(
        self,
        indicator_id: int,
        kind: AreaKind,
        part: Path,
        *,
        parent: AreaKind = AreaKind.ENGLAND,
        progress: Progress | None = None,
    ) -> tuple[Downloaded, AreaType, AreaType]:
        """Download one indicator at one level; return the download and the child and parent area types used."""
        types = self.area_types()
        child = self.resolve(kind, types, self.available_area_type_ids(indicator_id))
        parent_type = self.resolve(parent, types)
        url = self.data_url(indicator_id, child, parent_type)
        manual = (
            f"Open https://fingertips.phe.org.uk, find indicator {indicator_id}, download its data for "
            f"{child.name} as CSV, then run `gpscale fetch add FILE --entry fingertips`."
        )
        got = self.downloader.download(url, part, what=f"Fingertips indicator {indicator_id} data", manual=manual,
                                       progress=progress)
        check_all_data_csv(got.path, url)
        return got, child, parent_type


def check_all_data_csv(path: Path, url: str) -> None:
    """Refuse anything that is not a Fingertips all_data CSV (an error page, JSON, an empty answer)."""
    with path.open("rb") as f:
        head = f.read(256).decode("utf-8-sig", errors="replace")
    if not head.startswith(CSV_FIRST_COLUMN):
        path.unlink(missing_ok=True)
        first = head.splitlines()[0][:80] if head else "(empty)"
        raise FetchError(f"{url}: not a Fingertips all_data CSV (it starts {first!r})")


def parse_edition(edition: str) -> tuple[int, AreaKind]:
    """``93930-practice`` → (93930, AreaKind.PRACTICE)."""
    indicator, _, area = edition.partition("-")
    if not indicator.isdigit():
        raise FetchError(f"fingertips/{edition}: name an indicator id, e.g. fingertips/93930 or fingertips/93930-pcn")
    try:
        kind = AreaKind(area or AreaKind.PRACTICE.value)
    except ValueError as exc:
        raise FetchError(f"fingertips/{edition}: area must be one of practice, pcn, sub-icb, icb") from exc
    if kind is AreaKind.ENGLAND:
        raise FetchError("fingertips: ask for practice, pcn, sub-icb or icb rows (England rows come with them)")
    return int(indicator), kind
