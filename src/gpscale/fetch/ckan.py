"""Resource look-up on a CKAN portal (the NHSBSA open-data portal serves the English Prescribing Dataset).

A dataset (CKAN "package") lists one resource per month, named ``EPD_YYYYMM`` or ``EPD_SNOMED_YYYYMM``; its
download URL is read at run time from the ``package_show`` action rather than hard-coded, because the
portal has moved its storage before (resource URLs are not stable, resource names are).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpscale.fetch.catalogue import CkanSource
from gpscale.fetch.download import Downloader
from gpscale.fetch.errors import FetchError


@dataclass(frozen=True)
class Resource:
    name: str
    url: str
    size: int | None


def find_resource(downloader: Downloader, source: CkanSource, resource_name: str) -> Resource:
    """The resource of a CKAN package with this name (case-insensitive), or a FetchError naming the nearest."""
    url = source.api.rstrip("/") + "/package_show"
    answer = downloader.get_json(url, params={"id": source.package})
    resources = _resources(answer, url)
    wanted = resource_name.lower()
    for r in resources:
        if str(r.get("name", "")).lower() == wanted and r.get("url"):
            size = r.get("size")
            return Resource(str(r["name"]), str(r["url"]), int(size) if isinstance(size, int) else None)
    names = sorted(str(r.get("name", "")) for r in resources if r.get("name"))
    latest = f"; the latest listed is {names[-1]}" if names else ""
    raise FetchError(f"{source.package}: no resource named {resource_name} on {source.api}{latest}")


def _resources(answer: Any, url: str) -> list[dict[str, Any]]:
    if not isinstance(answer, dict) or answer.get("success") is not True:
        error = answer.get("error") if isinstance(answer, dict) else None
        raise FetchError(f"{url}: the portal did not answer package_show successfully ({error or answer!r:.200})")
    result = answer.get("result")
    resources = result.get("resources") if isinstance(result, dict) else None
    if not isinstance(resources, list):
        raise FetchError(f"{url}: package_show answered without a list of resources")
    return [r for r in resources if isinstance(r, dict)]
