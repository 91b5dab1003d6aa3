"""NHS England's seven regions (from April 2020), by ODS code: the names a region comparator is labelled with.

The QOF NHS-geographies mapping and the registrations map give each practice's region code (``Y56``...);
the store keeps the code, so its name is looked up here. Codes from before 2020 (the four regions and
their subdivisions) are not listed: a comparator in one of them is labelled by its code.
"""

from __future__ import annotations

#: England's ONS code and name: the entity every comparison defaults to.
ENGLAND_ID = "E92000001"
ENGLAND_NAME = "England"

NHS_REGIONS: dict[str, str] = {
    "Y56": "London",
    "Y58": "South West",
    "Y59": "South East",
    "Y60": "Midlands",
    "Y61": "East of England",
    "Y62": "North West",
    "Y63": "North East and Yorkshire",
}


def region_name(code: str) -> str:
    """The region's name (``Y63`` -> ``North East and Yorkshire``), or the code itself when not known."""
    return NHS_REGIONS.get(code.strip().upper(), code)
