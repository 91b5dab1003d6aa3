"""Zip files from publishers: check every member against the catalogue, then extract within limits.

A zip is refused (nothing extracted, nothing recorded) when it

* is not a readable zip, or a member is encrypted, a link, or named with a path that would leave the
  extraction folder (``../``, an absolute path, a drive letter);
* lacks a member the catalogue requires, or holds one no pattern allows (unless the entry says to report
  unexpected members rather than refuse them);
* looks like a zip bomb: more members, more uncompressed bytes in all, or a higher compression ratio for
  one member than :class:`ZipLimits` allows, or a member that inflates past the size its header declares.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gpscale.fetch.catalogue import MemberRules, UnexpectedMembers
from gpscale.fetch.errors import FetchError

ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on what a zip may expand to. The largest real case, a month of the English Prescribing
    Dataset, is one CSV of about 8 GB compressed about 10 to 1; CSVs rarely compress beyond 50 to 1."""

    max_members: int = 500
    max_total_bytes: int = 64 * 2**30
    max_ratio: float = 200.0
    ratio_checked_above: int = 1_000_000  # small members (a README) may compress well without harm


@dataclass(frozen=True)
class Member:
    """An extracted member: its name in the zip, its file name, and where its bytes are now."""

    zip_name: str
    name: str
    path: Path
    size: int


@dataclass(frozen=True)
class Checked:
    members: list[zipfile.ZipInfo]
    unexpected: list[str]


def is_zip(path: Path) -> bool:
    """Is this a zip archive of files (not an Office Open XML workbook, which is also a zip)?"""
    with path.open("rb") as f:
        if f.read(4) != ZIP_MAGIC:
            return False
    try:
        with zipfile.ZipFile(path) as zf:
            return "[Content_Types].xml" not in zf.namelist()
    except zipfile.BadZipFile:
        return True  # a damaged zip: let the zip checks say so


def check_zip(path: Path, rules: MemberRules, limits: ZipLimits, *, what: str) -> Checked:
    """Check a zip's members against the catalogue and the limits; raise FetchError naming every problem."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise FetchError(f"{what}: not a readable zip file ({exc})") from exc
    if len(infos) > limits.max_members:
        raise FetchError(f"{what}: {len(infos)} members, more than the {limits.max_members} allowed")
    problems: list[str] = []
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            problems.append(f"member {name!r} has a path outside the zip's folder")
        if info.flag_bits & 0x1:
            problems.append(f"member {name!r} is encrypted")
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(f"member {name!r} is a symbolic link")
        total += info.file_size
        ratio = info.file_size / info.compress_size if info.compress_size else 0.0
        if info.file_size > limits.ratio_checked_above and ratio > limits.max_ratio:
            problems.append(
                f"member {name!r} would expand {ratio:.0f}-fold "
                f"(limit {limits.max_ratio:.0f}): refused as a possible zip bomb"
            )
    if total > limits.max_total_bytes:
        problems.append(f"members would expand to {total:,} bytes, more than the {limits.max_total_bytes:,} allowed")
    names = [_basename(i.filename) for i in infos]
    for pattern in rules.missing(names):
        problems.append(f"no member matching {pattern!r} (members: {', '.join(names) or 'none'})")
    unexpected = [i.filename for i in infos if not rules.is_allowed(_basename(i.filename))]
    if unexpected and rules.unexpected is UnexpectedMembers.REFUSE:
        allowed = ", ".join([*rules.required, *rules.allowed])
        problems.append(f"unexpected member(s) {', '.join(map(repr, unexpected))} (allowed: {allowed})")
    if problems:
        raise FetchError(f"{what}: refused: " + "; ".join(problems))
    return Checked(infos, unexpected)


def extract(path: Path, checked: Checked, into: Path, *, what: str) -> list[Member]:
    """Extract the checked members into the folder ``into`` (numbered files; the names are returned), never
    past a member's declared size."""
    members: list[Member] = []
    with zipfile.ZipFile(path) as zf:
        for i, info in enumerate(checked.members):
            dest = into / f"member-{i:04d}"
            written = 0
            try:
                with zf.open(info) as src, dest.open("wb") as out:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > info.file_size:
                            raise FetchError(f"{what}: member {info.filename!r} inflates past its declared size")
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise FetchError(f"{what}: member {info.filename!r} is damaged ({exc})") from exc
            members.append(Member(info.filename, _basename(info.filename), dest, written))
    return members


def _basename(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name


def _unsafe_name(name: str) -> bool:
    norm = name.replace("\\", "/")
    parts = PurePosixPath(norm).parts
    return norm.startswith("/") or ".." in parts or (len(norm) > 1 and norm[1] == ":")
