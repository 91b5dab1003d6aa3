"""Which publication and edition is this file? By checksum first, then by content.

A file's size and SHA-256 are compared with every checksum in the catalogue (editions, and the known
members of editions' zips). Failing that, a zip is matched by the members it holds, and any other file by
gpscale's own format detection (the loaders' ``sniff``), mapped to the catalogue entries whose ``formats``
name that loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gpscale.fetch.archive import is_zip
from gpscale.fetch.cache import EditionStatus
from gpscale.fetch.catalogue import Catalogue, ChecksumMatch, Edition, Entry, FileKind, glob_match


@dataclass(frozen=True)
class Identified:
    """A catalogue entry (and, when known, edition and zip member) a file belongs to."""

    entry: Entry
    edition: str | None
    member: str | None
    status: EditionStatus
    how: str


def edition_status(edition: Edition, size: int, sha256: str, member: str | None = None) -> EditionStatus:
    """Compare a file with what the catalogue knows of this edition (or of one of its zip members)."""
    known = edition.members.get(member) if member is not None else edition.checksum
    if member is not None and known is None:
        known = next((c for n, c in edition.members.items() if n.lower() == member.lower()), None)
    if known is None:
        return EditionStatus.UNLISTED
    match = known.compare(size, sha256)
    if match is ChecksumMatch.FULL:
        return EditionStatus.KNOWN
    if match is ChecksumMatch.PARTIAL:
        return EditionStatus.KNOWN_PARTIAL
    return EditionStatus.NEW


def by_checksum(catalogue: Catalogue, size: int, sha256: str) -> list[Identified]:
    """Every catalogued edition or zip member with this size and SHA-256 (full or on the digits known)."""
    out = []
    for entry in catalogue.publications:
        for ed in entry.editions:
            candidates = [(None, ed.checksum), *ed.members.items()]
            for member, checksum in candidates:
                if checksum is None:
                    continue
                match = checksum.compare(size, sha256)
                if match is ChecksumMatch.DIFFERENT:
                    continue
                status = EditionStatus.KNOWN if match is ChecksumMatch.FULL else EditionStatus.KNOWN_PARTIAL
                what = f"member {member} of " if member else ""
                how = f"{match.value} checksum match with {what}{entry.id}/{ed.id} ({checksum.describe()})"
                out.append(Identified(entry, ed.id, member, status, how))
    return out


def by_content(catalogue: Catalogue, path: Path) -> tuple[list[Identified], str]:
    """Entries this file's content fits (zip members, or the loader that recognises it); and why not, if none."""
    if is_zip(path):
        import zipfile

        try:
            with zipfile.ZipFile(path) as zf:
                names = [n.rsplit("/", 1)[-1] for n in zf.namelist() if not n.endswith("/")]
        except zipfile.BadZipFile as exc:
            return [], f"not a readable zip ({exc})"
        fits = [
            e for e in catalogue.publications
            if e.file_kind is FileKind.ZIP and e.members and e.members.required
            and not e.members.missing(names) and all(e.members.is_allowed(n) for n in names)
        ]
        how = f"zip members {', '.join(names[:5])}{'…' if len(names) > 5 else ''}"
        return [Identified(e, None, None, EditionStatus.UNIDENTIFIED, how) for e in fits], f"no entry fits the {how}"
    from gpscale.sources.base import SourceError
    from gpscale.sources.registry import detect

    try:
        fmt, det = detect(path)
    except SourceError as exc:
        return [], exc.detail
    fits = [e for e in catalogue.publications if fmt.name in e.formats]
    how = f"recognised by the {fmt.name} loader ({det.publication})"
    return [Identified(e, None, None, EditionStatus.UNIDENTIFIED, how) for e in fits], (
        f"{how}, which no catalogue entry lists"
    )


def names_edition(name: str, edition: str) -> bool:
    """Does a file name already state the edition (2019-20, 201920 or 1920 for a financial year)?"""
    forms = {edition, edition.replace("-", ""), edition.replace("-", "_")}
    if len(edition) == 7 and edition[4] == "-" and edition[:4].isdigit() and edition[5:].isdigit():
        forms.add(edition[2:4] + edition[5:7])
    return any(f and f.lower() in name.lower() for f in forms)


def matches_any(name: str, patterns: list[str]) -> bool:
    return any(glob_match(name, p) for p in patterns)
