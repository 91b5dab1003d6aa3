"""The content-addressed cache of fetched files and its manifest (the lock file).

Layout under the cache root (``--cache``, else ``$GPSCALE_CACHE``, else the user cache folder)::

    objects/ab/<sha256>/<published file name>   every file, stored once by content, read-only
    partial/<key>.part (+ .json)                downloads in progress, resumed with an HTTP Range request
    views/<entry>/<edition>/<name>              links handed to `gpscale ingest` where a name must carry the edition
    manifest.json                               what was fetched, from where, when, size, SHA-256, edition
    .lock                                       held while a command changes the cache

The manifest works as a lock file: ``gpscale fetch get --locked`` refuses a download whose SHA-256 differs
from the one recorded for the same edition, and ``gpscale fetch verify`` re-hashes every file against it.
A file enters ``objects/`` only complete and checked (written to a temporary name, then renamed), and the
manifest is rewritten the same way, so an interrupted command never leaves a half file or half manifest.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gpscale.fetch.errors import FetchError
from gpscale.store.ingest import sha256_of as sha256_file

CACHE_ENV = "GPSCALE_CACHE"
MANIFEST_VERSION = 1
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._() +-]")


class RecordSource(StrEnum):
    """How a file came into the cache."""

    DOWNLOAD = "download"
    BY_HAND = "added-by-hand"
    ZIP_MEMBER = "zip-member"


class EditionStatus(StrEnum):
    """What the file's size and SHA-256 say about its edition."""

    KNOWN = "known"  # identical (full SHA-256) to a catalogued edition
    KNOWN_PARTIAL = "known-partial"  # same size and the hex digits on record (only part of the hash is known)
    NEW = "new-edition"  # differs from the catalogued checksum: the publisher released a new edition
    UNLISTED = "unlisted"  # no checksum is catalogued for this edition
    UNIDENTIFIED = "unidentified"  # added by hand; the edition could not be told


class ManifestRecord(BaseModel):
    """One file in the cache."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry: str
    edition: str
    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    source: RecordSource
    edition_status: EditionStatus
    fetched_at: str
    url: str | None = None
    final_url: str | None = None
    origin: str | None = None  # the path a file added by hand came from
    parent_sha256: str | None = None  # the zip a member came out of
    note: str = ""

    @property
    def object(self) -> str:
        return f"objects/{self.sha256[:2]}/{self.sha256}/{self.name}"


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = MANIFEST_VERSION
    records: list[ManifestRecord] = Field(default_factory=list)


def default_root() -> Path:
    """The user cache folder for gpscale (XDG on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gpscale"


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_name(name: str) -> str:
    """A published file name reduced to one safe path component (no folders, no odd characters)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".")
    return cleaned or "file"


class Cache:
    """The cache folder: objects by content, partial downloads, and the manifest."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_root()).expanduser()

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def partial_dir(self) -> Path:
        d = self.root / "partial"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def object_path(self, record: ManifestRecord) -> Path:
        return self.root / record.object

    # ---- manifest --------------------------------------------------------------------------------

    def read_manifest(self) -> Manifest:
        if not self.manifest_path.exists():
            return Manifest()
        try:
            return Manifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise FetchError(f"{self.manifest_path}: not a gpscale cache manifest ({exc})") from exc

    def records(self) -> list[ManifestRecord]:
        return self.read_manifest().records

    def _write_manifest(self, manifest: Manifest) -> None:
        manifest.records.sort(key=lambda r: (r.entry, r.edition, r.fetched_at, r.name, r.sha256))
        text = json.dumps(manifest.model_dump(mode="json", exclude_defaults=False), indent=1, sort_keys=True)
        atomic_write_bytes(self.manifest_path, (text + "\n").encode("utf-8"))

    def add_records(self, new: list[ManifestRecord]) -> list[ManifestRecord]:
        """Append records (an identical file for the same edition is recorded once); return those now held."""
        manifest = self.read_manifest()
        kept: list[ManifestRecord] = []
        for rec in new:
            same = next(
                (r for r in manifest.records
                 if (r.entry, r.edition, r.name, r.sha256, r.parent_sha256)
                 == (rec.entry, rec.edition, rec.name, rec.sha256, rec.parent_sha256)),
                None,
            )
            if same is None:
                manifest.records.append(rec)
                kept.append(rec)
            else:
                kept.append(same)
        self._write_manifest(manifest)
        return kept

    def latest(self, entry: str, edition: str) -> list[ManifestRecord]:
        """The files of the most recent fetch of an edition (the top-level file and, for a zip, its members)."""
        recs = [r for r in self.records() if r.entry == entry and r.edition == edition]
        tops = [r for r in recs if r.parent_sha256 is None]
        if not tops:
            return []
        top = max(tops, key=lambda r: r.fetched_at)
        return [top, *[r for r in recs if r.parent_sha256 == top.sha256]]

    # ---- objects ---------------------------------------------------------------------------------

    def store_file(self, src: Path, name: str, sha256: str, *, move: bool) -> Path:
        """Put a checked file into the object store under its content hash (atomically; once per content)."""
        dest = self.root / "objects" / sha256[:2] / sha256 / safe_name(name)
        if dest.exists() and dest.stat().st_size == src.stat().st_size:
            if move:
                src.unlink()
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        if move:
            shutil.move(str(src), tmp)
        else:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        with contextlib.suppress(OSError):
            dest.chmod(0o444)
        return dest

    def view(self, record: ManifestRecord, name: str) -> Path:
        """A link to a cached file under another name (for loaders that read the period from the name)."""
        target = self.object_path(record)
        link = self.root / "views" / record.entry / record.edition / safe_name(name)
        if link.exists():
            if link.stat().st_size == target.stat().st_size and sha256_file(link) == record.sha256:
                return link
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(target, link)
        except OSError:
            shutil.copyfile(target, link)
        return link

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cache's lock while changing it (two commands at once would interleave the manifest)."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / ".lock"
        with lock_path.open("a+") as fh:
            try:
                import fcntl
            except ImportError:  # Windows: no advisory lock; atomic renames still keep each file whole
                yield
                return
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise FetchError(
                    f"another gpscale command is using the cache at {self.root}; try again when it ends"
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
