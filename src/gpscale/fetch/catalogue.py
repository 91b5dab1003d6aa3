"""The catalogue of publications `gpscale fetch` knows, as validated data.

The catalogue itself is ``catalogue.yaml`` beside this module (one entry per publication: landing page, how
to get it, what a zip must hold, known editions with size and SHA-256, licence). This module holds the
models that validate it and the small amount of logic that turns an entry and an edition id into a plan:
a URL to download, a CKAN resource or Fingertips call to look up, a page to read for the link, or the steps
to follow by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from string import Formatter

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpscale.fetch.errors import FetchError

MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
_HEX = re.compile(r"^[0-9a-f]+$")


class Licence(StrEnum):
    """Licences the catalogued publications are released under."""

    OGL_3 = "OGL-3.0"


class Access(StrEnum):
    """How an entry's files are obtained."""

    DIRECT = "direct"  # a URL per edition (listed, or from a template), or one "current" URL
    DISCOVER = "discover"  # read the edition's landing page and follow the link whose name matches
    CKAN = "ckan"  # look the resource up on a CKAN portal (NHSBSA open data), then download it
    FINGERTIPS = "fingertips"  # the Fingertips API, one indicator per call
    MANUAL = "manual"  # by hand only


class FileKind(StrEnum):
    """What a download must be (a web page instead is refused)."""

    CSV = "csv"
    XLSX = "xlsx"
    ZIP = "zip"


class UnexpectedMembers(StrEnum):
    """What to do with a zip member no pattern allows."""

    REFUSE = "refuse"
    REPORT = "report"


class ChecksumSource(StrEnum):
    """Where a known checksum comes from (how far it can be trusted to identify the publisher's file)."""

    PUBLISHER = "publisher"  # stated by the publisher
    PUBLIC_RECORD = "public-record"  # a third party's record of the publisher's file (may be truncated)
    REPOSITORY_COPY = "repository-copy"  # computed from a copy in a public repository; may differ from the original


class ChecksumMatch(StrEnum):
    """How a file compares with a known checksum."""

    FULL = "full"  # same size and the full SHA-256
    PARTIAL = "partial"  # same size and every hex digit of SHA-256 known (a prefix and/or suffix)
    DIFFERENT = "different"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Checksum(_Model):
    """A known file: its size and SHA-256 (in full, or only a prefix and suffix when that is all on record)."""

    size: int | None = Field(default=None, ge=0)
    sha256: str | None = None
    sha256_prefix: str | None = None
    sha256_suffix: str | None = None
    source: ChecksumSource

    @field_validator("sha256", "sha256_prefix", "sha256_suffix")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is not None and not _HEX.match(v):
            raise ValueError(f"{v!r} is not lower-case hexadecimal")
        return v

    @model_validator(mode="after")
    def _complete(self) -> Checksum:
        if self.sha256 is not None and len(self.sha256) != 64:
            raise ValueError("sha256 must have 64 hex digits (use sha256_prefix/sha256_suffix for a partial one)")
        if self.sha256 is None and not (self.sha256_prefix or self.sha256_suffix):
            raise ValueError("a checksum needs sha256, or a sha256_prefix/sha256_suffix")
        if self.sha256 is None and self.size is None:
            raise ValueError("a partial checksum needs the size too")
        return self

    @property
    def digits_known(self) -> int:
        return 64 if self.sha256 else len(self.sha256_prefix or "") + len(self.sha256_suffix or "")

    def compare(self, size: int, sha256: str) -> ChecksumMatch:
        """Compare a file's size and SHA-256 with this record."""
        if self.size is not None and size != self.size:
            return ChecksumMatch.DIFFERENT
        if self.sha256 is not None:
            return ChecksumMatch.FULL if sha256 == self.sha256 else ChecksumMatch.DIFFERENT
        if sha256.startswith(self.sha256_prefix or "") and sha256.endswith(self.sha256_suffix or ""):
            return ChecksumMatch.PARTIAL
        return ChecksumMatch.DIFFERENT

    def describe(self) -> str:
        size = f"{self.size:,} B" if self.size is not None else "size unknown"
        digest = self.sha256 or f"{self.sha256_prefix or ''}…{self.sha256_suffix or ''}"
        return f"{size}, SHA-256 {digest} ({self.source.value})"


class Edition(_Model):
    """One edition of a publication (a year, a month, a snapshot, an indicator at an area type)."""

    id: str
    url: str | None = None
    landing_page: str | None = None
    file_name: str | None = None
    checksum: Checksum | None = None
    members: dict[str, Checksum] = Field(default_factory=dict)  # known files inside the edition's zip
    note: str = ""


class MemberRules(_Model):
    """Which members a zip must and may hold (case-insensitive glob patterns on the member's file name)."""

    required: list[str] = Field(default_factory=list)
    allowed: list[str] = Field(default_factory=list)
    unexpected: UnexpectedMembers = UnexpectedMembers.REFUSE

    def is_allowed(self, name: str) -> bool:
        return any(glob_match(name, p) for p in (*self.required, *self.allowed))

    def missing(self, names: list[str]) -> list[str]:
        return [p for p in self.required if not any(glob_match(n, p) for n in names)]


class CkanSource(_Model):
    """A resource on a CKAN portal: the package and the resource name (a template on the edition)."""

    api: str
    package: str
    resource: str


class FingertipsSource(_Model):
    api: str


class Entry(_Model):
    """One publication in the catalogue."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    publisher: str
    licence: Licence
    landing_page: str
    access: Access
    file_kind: FileKind
    typical_size: str
    formats: list[str] = Field(default_factory=list)  # gpscale loaders that read this publication's files
    members: MemberRules | None = None
    ingest_members: list[str] = Field(default_factory=list)
    members_need_edition_in_name: bool = False
    edition_pattern: str | None = None
    edition_format: str = ""  # the edition ids in words, for `gpscale fetch list` (e.g. "YYYYMM")
    edition_min: str | None = None
    edition_max: str | None = None
    url_template: str | None = None
    url_template_from: str | None = None
    current_url: str | None = None
    landing_template: str | None = None
    link_pattern: str | None = None
    ckan: CkanSource | None = None
    fingertips: FingertipsSource | None = None
    manual_steps: str = ""
    notes: str = ""
    editions: list[Edition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Entry:
        ids = [e.id for e in self.editions]
        if len(ids) != len(set(ids)):
            raise ValueError(f"{self.id}: duplicate edition ids")
        if self.edition_pattern is not None:
            pattern = re.compile(self.edition_pattern)
            for e in self.editions:
                if not pattern.match(e.id):
                    raise ValueError(f"{self.id}: edition {e.id!r} does not match edition_pattern")
            groups = set(pattern.groupindex) | {"id"} | ({"month_name"} if "month" in pattern.groupindex else set())
            for name in ("url_template", "landing_template"):
                template = getattr(self, name)
                if template:
                    unknown = {f for _, f, _, _ in Formatter().parse(template) if f} - groups
                    if unknown:
                        raise ValueError(f"{self.id}: {name} uses {sorted(unknown)}, not in edition_pattern")
            if self.ckan:
                unknown = {f for _, f, _, _ in Formatter().parse(self.ckan.resource) if f} - groups
                if unknown:
                    raise ValueError(f"{self.id}: ckan.resource uses {sorted(unknown)}, not in edition_pattern")
        elif self.url_template or self.landing_template or self.ckan:
            raise ValueError(f"{self.id}: a template needs an edition_pattern")
        if self.access is Access.CKAN and self.ckan is None:
            raise ValueError(f"{self.id}: access ckan needs a ckan section")
        if self.access is Access.FINGERTIPS and self.fingertips is None:
            raise ValueError(f"{self.id}: access fingertips needs a fingertips section")
        if self.access is Access.DISCOVER and not (self.landing_template and self.link_pattern):
            raise ValueError(f"{self.id}: access discover needs landing_template and link_pattern")
        if self.file_kind is FileKind.ZIP and self.members is None:
            raise ValueError(f"{self.id}: a zip publication must say which members it holds")
        return self

    def edition(self, edition_id: str) -> Edition:
        """The catalogued edition, or one the entry's pattern accepts (an edition not listed yet)."""
        for e in self.editions:
            if e.id == edition_id:
                return e
        if self.edition_pattern and re.match(self.edition_pattern, edition_id) and self._in_range(edition_id):
            return Edition(id=edition_id)
        if self.current_url and re.match(r"^[\w.-]+$", edition_id):  # a snapshot labelled by the user (a date)
            return Edition(id=edition_id)
        known = ", ".join(e.id for e in self.editions) or "none listed"
        rule = f"; any id matching {self.edition_pattern}" if self.edition_pattern else ""
        bounds = self._range_text()
        raise FetchError(f"{self.id}: no edition {edition_id!r} (known: {known}{rule}{bounds})")

    def _in_range(self, edition_id: str) -> bool:
        return (self.edition_min is None or edition_id >= self.edition_min) and (
            self.edition_max is None or edition_id <= self.edition_max
        )

    def _range_text(self) -> str:
        if self.edition_min and self.edition_max:
            return f", from {self.edition_min} to {self.edition_max}"
        if self.edition_min:
            return f", from {self.edition_min}"
        return ""

    def fields(self, edition_id: str) -> dict[str, str]:
        """Template fields of an edition id: the pattern's named groups, id, and month_name."""
        out = {"id": edition_id}
        if self.edition_pattern:
            m = re.match(self.edition_pattern, edition_id)
            if m:
                out.update({k: v for k, v in m.groupdict().items() if v is not None})
        if "month" in out and out["month"].isdigit() and 1 <= int(out["month"]) <= 12:
            out["month_name"] = MONTH_NAMES[int(out["month"]) - 1]
        return out

    def url_for(self, edition: Edition) -> str | None:
        """The URL to download an edition from, where one is known."""
        if edition.url:
            return edition.url
        if self.url_template and (self.url_template_from is None or edition.id >= self.url_template_from):
            return self.url_template.format(**self.fields(edition.id))
        return None

    def landing_for(self, edition: Edition) -> str:
        if edition.landing_page:
            return edition.landing_page
        if self.landing_template:
            return self.landing_template.format(**self.fields(edition.id))
        return self.landing_page

    @property
    def scriptable(self) -> str:
        """In words: can `gpscale fetch get` download it?"""
        if self.access is Access.MANUAL:
            return "by hand"
        if self.current_url:
            return "current file scripted; past editions recognised by checksum"
        if self.access is Access.DIRECT and not self.current_url and not self.url_template:
            listed = sum(1 for e in self.editions if e.url)
            if listed < len(self.editions):
                return f"{listed} of {len(self.editions)} editions scripted; others by hand"
        if self.access is Access.DIRECT and self.url_template and self.url_template_from:
            return f"scripted from {self.url_template_from}; earlier editions by hand"
        return {Access.CKAN: "scripted (NHSBSA open-data API)", Access.FINGERTIPS: "scripted (Fingertips API)",
                Access.DISCOVER: "scripted (link read from the edition's page)"}.get(self.access, "scripted")

    @property
    def editions_text(self) -> str:
        """The editions, in words, for `gpscale fetch list`."""
        listed = ", ".join(e.id for e in self.editions[-4:]) + (" …" if len(self.editions) > 4 else "")
        if self.edition_format:
            return f"{self.edition_format}{self._range_text()}" + (f" (listed: {listed})" if listed else "")
        return listed or "the current file"


class Catalogue(_Model):
    """Every catalogued publication."""

    publications: list[Entry]

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        ids = [p.id for p in self.publications]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate publication ids")
        return self

    def entry(self, entry_id: str) -> Entry:
        for p in self.publications:
            if p.id == entry_id:
                return p
        raise FetchError(f"no catalogue entry {entry_id!r}; known: {', '.join(p.id for p in self.publications)}")


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with gpscale (validated once per process)."""
    text = resources.files("gpscale.fetch").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return Catalogue.model_validate(yaml.safe_load(text))


def glob_match(name: str, pattern: str) -> bool:
    """Case-insensitive glob match on a file name (zip members are named inconsistently: ePCN.xlsx, epcn.xlsx)."""
    return fnmatchcase(name.lower(), pattern.lower())


@dataclass(frozen=True)
class Target:
    """What the user asked for: an entry, and an edition of it (None: every edition, where that makes sense)."""

    entry: str
    edition: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """``qof`` or ``qof/2019-20``."""
        entry, _, edition = text.strip().partition("/")
        if not entry:
            raise FetchError(f"{text!r}: name a catalogue entry, e.g. qof or qof/2019-20")
        return cls(entry, edition or None)

    def __str__(self) -> str:
        return f"{self.entry}/{self.edition}" if self.edition else self.entry
