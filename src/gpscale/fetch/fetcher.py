"""What `gpscale fetch` does: get an edition into the cache, add a file downloaded by hand, report the
cache's state, verify it, and hand cached files to `gpscale ingest`.

Every path ends in :meth:`Fetcher._register`, which checks a zip's members, compares each file with the
catalogue's checksums (a different checksum is a new edition, recorded as such; under ``--locked`` a
checksum different from the manifest's is refused), stores the files by content and only then writes the
manifest. A command that fails leaves the manifest as it was.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

from gpscale.fetch.archive import ZipLimits, check_zip, extract, is_zip
from gpscale.fetch.cache import Cache, EditionStatus, ManifestRecord, RecordSource, now_utc, safe_name, sha256_file
from gpscale.fetch.catalogue import Access, Catalogue, Edition, Entry, FileKind, Target
from gpscale.fetch.ckan import find_resource
from gpscale.fetch.download import Downloaded, Downloader, Progress
from gpscale.fetch.errors import FetchError
from gpscale.fetch.fingertips import AreaKind, FingertipsClient, parse_edition
from gpscale.fetch.identify import Identified, by_checksum, by_content, edition_status, matches_any, names_edition

CURRENT = "current"
ProgressFactory = Callable[[str], Progress | None]


class OutcomeKind(StrEnum):
    FETCHED = "fetched"
    CACHED = "already cached"
    BY_HAND = "to download by hand"
    ADDED = "added"


@dataclass
class Outcome:
    """What happened to one target: the records now in the cache, and anything the user should read."""

    target: str
    kind: OutcomeKind
    records: list[ManifestRecord] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StatusRow:
    entry: str
    edition: str
    state: str
    detail: str


@dataclass(frozen=True)
class VerifyRow:
    record: ManifestRecord
    problem: str | None


class Fetcher:
    """Ties the catalogue, the cache and the downloader together."""

    def __init__(
        self,
        catalogue: Catalogue,
        cache: Cache,
        downloader: Downloader,
        *,
        limits: ZipLimits | None = None,
        progress: ProgressFactory | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.cache = cache
        self.downloader = downloader
        self.limits = limits or ZipLimits()
        self.progress = progress or (lambda _label: None)

    # ---- get -------------------------------------------------------------------------------------

    def get(
        self, target: Target, *, refresh: bool = False, locked: bool = False, area: AreaKind | None = None
    ) -> Outcome:
        entry = self.catalogue.entry(target.entry)
        if entry.access is Access.FINGERTIPS:
            return self._get_fingertips(entry, target, refresh=refresh, locked=locked, area=area)
        edition = self._edition(entry, target)
        label = f"{entry.id}/{edition.id}"
        if edition.id != CURRENT and not refresh:
            held = self._held(entry.id, edition.id)
            if held:
                return Outcome(label, OutcomeKind.CACHED, held)
        url = self._url(entry, edition)
        if url is None:
            return Outcome(label, OutcomeKind.BY_HAND, messages=[self.manual_text(entry, edition)])
        name = edition.file_name or file_name_from_url(url) or f"{entry.id}-{edition.id}.{entry.file_kind.value}"
        got = self._download(entry, edition, url, name)
        status = edition_status(edition, got.size, got.sha256)
        if status is EditionStatus.NEW and got.resumed:  # a resumed transfer may have stitched two editions
            got.path.unlink(missing_ok=True)
            got = self._download(entry, edition, url, name)
        records, messages = self._register(
            entry, edition, got.path, name, source=RecordSource.DOWNLOAD, url=url, final_url=got.final_url,
            locked=locked, move=True, digest=(got.size, got.sha256),
        )
        return Outcome(label, OutcomeKind.FETCHED, records, messages)

    def _get_fingertips(
        self, entry: Entry, target: Target, *, refresh: bool, locked: bool, area: AreaKind | None
    ) -> Outcome:
        if not target.edition:
            raise FetchError("fingertips: name an indicator id, e.g. fingertips/93930 (with --area pcn for PCNs)")
        indicator, kind = parse_edition(target.edition)
        if area is not None and "-" not in target.edition:
            kind = area
        edition = entry.edition(f"{indicator}-{kind.value}")
        label = f"{entry.id}/{edition.id}"
        if not refresh:
            held = self._held(entry.id, edition.id)
            if held:
                return Outcome(label, OutcomeKind.CACHED, held)
        assert entry.fingertips is not None  # the catalogue model guarantees it for access fingertips
        client = FingertipsClient(self.downloader, entry.fingertips.api)
        part = self._part_path(entry, edition, f"fingertips:{indicator}:{kind}")
        name = f"fingertips_{indicator}_{kind.value}.csv"
        got, child, parent = client.download(indicator, kind, part, progress=self.progress(label))
        records, messages = self._register(
            entry, edition, got.path, name, source=RecordSource.DOWNLOAD, url=got.url, final_url=got.final_url,
            locked=locked, move=True, digest=(got.size, got.sha256),
            note=f"area type {child.id} ({child.name}); parent {parent.id} ({parent.name})",
        )
        return Outcome(label, OutcomeKind.FETCHED, records, [f"area type {child.id} {child.name!r}", *messages])

    def _edition(self, entry: Entry, target: Target) -> Edition:
        if target.edition:
            if target.edition == CURRENT and entry.current_url:
                return Edition(id=CURRENT)
            return entry.edition(target.edition)
        if entry.current_url:
            return Edition(id=CURRENT)
        if len(entry.editions) == 1:
            return entry.editions[0]
        example = f"{entry.id}/{entry.editions[-1].id}" if entry.editions else f"{entry.id}/ID"
        known = ", ".join(e.id for e in entry.editions[-6:]) or "see `gpscale fetch list`"
        raise FetchError(f"{entry.id}: say which edition, e.g. {example} (recent: {known})")

    def _held(self, entry: str, edition: str) -> list[ManifestRecord]:
        recs = self.cache.latest(entry, edition)
        paths = [(self.cache.object_path(r), r.size) for r in recs]
        ok = all(p.is_file() and p.stat().st_size == size for p, size in paths)
        return recs if recs and ok else []

    def _url(self, entry: Entry, edition: Edition) -> str | None:
        if edition.id == CURRENT:
            return entry.current_url
        if entry.access is Access.CKAN:
            assert entry.ckan is not None
            resource = entry.ckan.resource.format(**entry.fields(edition.id))
            return find_resource(self.downloader, entry.ckan, resource).url
        url = entry.url_for(edition)
        if url is None and entry.access is Access.DISCOVER:
            return self._discover(entry, edition)
        return url

    def _discover(self, entry: Entry, edition: Edition) -> str:
        import re

        assert entry.link_pattern is not None
        page = entry.landing_for(edition)
        html, final = self.downloader.get_text(page)
        pattern = re.compile(entry.link_pattern, re.I)
        for href in re.findall(r"""href\s*=\s*["']([^"'#]+)["']""", html, flags=re.I):
            if pattern.search(unquote(urlsplit(href).path)):
                return urljoin(final, href)
        raise FetchError(
            f"{page}: no link matching {entry.link_pattern!r} on the page; open it in a browser, download the "
            f"file by hand, then run `gpscale fetch add FILE --entry {entry.id} --edition {edition.id}`"
        )

    def _part_path(self, entry: Entry, edition: Edition, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return self.cache.partial_dir() / f"{entry.id}-{safe_name(edition.id)}-{digest}.part"

    def _download(self, entry: Entry, edition: Edition, url: str, name: str) -> Downloaded:
        what = f"{entry.file_kind.value.upper()} file {name} ({entry.id}/{edition.id})"
        return self.downloader.download(
            url, self._part_path(entry, edition, url), what=what, manual=self.manual_text(entry, edition),
            progress=self.progress(f"{entry.id}/{edition.id}"),
        )

    def manual_text(self, entry: Entry, edition: Edition) -> str:
        """What to do by hand for an edition gpscale cannot download."""
        steps = entry.manual_steps or (
            f"Open {entry.landing_for(edition)} in a browser, download "
            f"{edition.file_name or 'the ' + entry.file_kind.value.upper() + ' file'}, then run "
            f"`gpscale fetch add FILE --entry {entry.id} --edition {edition.id}`."
        )
        name = f" The file is {edition.file_name}." if edition.file_name and edition.file_name not in steps else ""
        page = entry.landing_for(edition)
        where = f" Page: {page}" if page not in steps else ""
        return f"{entry.id}/{edition.id}: {steps}{name}{where}"

    # ---- add -------------------------------------------------------------------------------------

    def add(self, path: Path, *, entry_id: str | None = None, edition_id: str | None = None) -> Outcome:
        """Register a file the user downloaded by hand: identify it, check it, copy it into the cache."""
        if not path.is_file():
            raise FetchError(f"{path}: no such file")
        size, sha = path.stat().st_size, sha256_file(path)
        found = self._identify(path, size, sha, entry_id, edition_id)
        entry = found.entry
        edition_id = edition_id or found.edition
        edition = entry.edition(edition_id) if edition_id else Edition(id="unidentified")
        records, messages = self._register(
            entry, edition, path, path.name, source=RecordSource.BY_HAND, origin=str(path.resolve()),
            move=False, member=found.member, digest=(size, sha),
        )
        if found.how:
            messages.insert(0, found.how)
        return Outcome(f"{entry.id}/{edition.id}", OutcomeKind.ADDED, records, messages)

    def _identify(self, path: Path, size: int, sha: str, entry_id: str | None, edition_id: str | None) -> Identified:
        found = [
            i for i in by_checksum(self.catalogue, size, sha)
            if (entry_id is None or i.entry.id == entry_id) and (edition_id is None or i.edition == edition_id)
        ]
        if found:
            return found[0]
        if entry_id is not None:
            entry = self.catalogue.entry(entry_id)
            return Identified(entry, edition_id, None, EditionStatus.UNIDENTIFIED, "")
        fits, why = by_content(self.catalogue, path)
        if len(fits) == 1:
            return fits[0]
        if len(fits) > 1:
            names = ", ".join(i.entry.id for i in fits)
            raise FetchError(f"{path}: {fits[0].how}; it could belong to {names}: say which with --entry")
        raise FetchError(f"{path}: could not tell which publication this is ({why}); say which with --entry ID "
                         "(see `gpscale fetch list`)")

    # ---- register --------------------------------------------------------------------------------

    def _register(
        self,
        entry: Entry,
        edition: Edition,
        file: Path,
        name: str,
        *,
        source: RecordSource,
        move: bool,
        url: str | None = None,
        final_url: str | None = None,
        origin: str | None = None,
        locked: bool = False,
        member: str | None = None,
        note: str = "",
        digest: tuple[int, str] | None = None,
    ) -> tuple[list[ManifestRecord], list[str]]:
        size, sha = digest or (file.stat().st_size, sha256_file(file))
        messages: list[str] = []
        if locked:
            prior = [r for r in self.cache.latest(entry.id, edition.id) if r.parent_sha256 is None]
            if prior and prior[0].sha256 != sha:
                if move:
                    file.unlink(missing_ok=True)
                raise FetchError(
                    f"{entry.id}/{edition.id}: --locked, but the file now served (SHA-256 {sha[:12]}…, {size:,} B) "
                    f"differs from the one in the manifest ({prior[0].sha256[:12]}…, {prior[0].size:,} B, fetched "
                    f"{prior[0].fetched_at}); the cache is unchanged"
                )
        status = edition_status(edition, size, sha, member)
        if edition.id == "unidentified":
            status = EditionStatus.UNIDENTIFIED
        messages.extend(_status_messages(entry, edition, status, member))
        stamp = now_utc()
        members: list[tuple[str, Path, int, str, EditionStatus]] = []
        with tempfile.TemporaryDirectory(prefix="unzip-", dir=self.cache.partial_dir()) as workdir:
            if is_zip(file):
                if entry.members is None:
                    raise FetchError(f"{entry.id}/{edition.id}: expected a {entry.file_kind.value} file, got a zip")
                checked = check_zip(file, entry.members, self.limits, what=f"{name} ({entry.id}/{edition.id})")
                if checked.unexpected:
                    messages.append(f"unexpected member(s) kept but not used: {', '.join(checked.unexpected)}")
                for m in extract(file, checked, Path(workdir), what=name):
                    m_sha = sha256_file(m.path)
                    members.append((m.name, m.path, m.size, m_sha, edition_status(edition, m.size, m_sha, m.name)))
            elif entry.file_kind is FileKind.ZIP and entry.members and not entry.members.is_allowed(name):
                raise FetchError(f"{name} ({entry.id}/{edition.id}): expected a zip, or one of its files "
                                 f"({', '.join([*entry.members.required, *entry.members.allowed])})")
            top = ManifestRecord(
                entry=entry.id, edition=edition.id, name=safe_name(name), sha256=sha, size=size, source=source,
                edition_status=status, fetched_at=stamp, url=url,
                final_url=final_url if final_url != url else None, origin=origin, note=note,
            )
            records = [top]
            for m_name, _p, m_size, m_sha, m_status in members:
                records.append(ManifestRecord(
                    entry=entry.id, edition=edition.id, name=safe_name(m_name), sha256=m_sha, size=m_size,
                    source=RecordSource.ZIP_MEMBER, edition_status=m_status, fetched_at=stamp, parent_sha256=sha,
                ))
                messages.extend(_status_messages(entry, edition, m_status, m_name, quiet_unlisted=True))
            for (m_name, m_path, _s, m_sha, _st) in members:
                self.cache.store_file(m_path, m_name, m_sha, move=True)
            self.cache.store_file(file, name, sha, move=move)
            held = self.cache.add_records(records)
            if held[0].fetched_at != stamp:
                messages.append(f"identical to the copy already cached on {held[0].fetched_at}; nothing new")
            return held, messages

    # ---- status, verify, ingest ------------------------------------------------------------------

    def status(self, *, include_missing: bool = False) -> list[StatusRow]:
        rows = []
        records = self.cache.records()
        for entry in self.catalogue.publications:
            editions = sorted({r.edition for r in records if r.entry == entry.id})
            for ed in editions:
                recs = self.cache.latest(entry.id, ed)
                top = recs[0]
                gone = [r.name for r in recs if not self.cache.object_path(r).is_file()]
                state = "missing files" if gone else top.edition_status.value
                inner = f"; {len(recs) - 1} members" if len(recs) > 1 else ""
                member_states = sorted({r.edition_status.value for r in recs[1:]} - {EditionStatus.UNLISTED.value})
                inner += f" ({', '.join(member_states)})" if member_states else ""
                detail = f"{top.name}, {top.size:,} B, {top.source.value} {top.fetched_at}{inner}"
                if gone:
                    detail += f"; not in the cache: {', '.join(gone)}"
                rows.append(StatusRow(entry.id, ed, state, detail))
            if include_missing:
                for e in entry.editions:
                    if e.id not in editions:
                        how = "scripted" if (entry.url_for(e) or entry.access is not Access.DIRECT) else "by hand"
                        rows.append(StatusRow(entry.id, e.id, "not fetched", how))
        return rows

    def verify(self) -> list[VerifyRow]:
        """Re-hash every cached file against the manifest."""
        out = []
        for r in self.cache.records():
            path = self.cache.object_path(r)
            if not path.is_file():
                out.append(VerifyRow(r, "missing"))
            elif path.stat().st_size != r.size:
                out.append(VerifyRow(r, f"size {path.stat().st_size:,} B, manifest says {r.size:,} B"))
            elif sha256_file(path) != r.sha256:
                out.append(VerifyRow(r, "content changed (SHA-256 differs from the manifest)"))
            else:
                out.append(VerifyRow(r, None))
        return out

    def ingest_paths(self, targets: list[Target]) -> list[Path]:
        """The cached data files for these targets (all cached editions when none), ready for `gpscale ingest`."""
        from gpscale.sources.registry import DATA_SUFFIXES

        records = self.cache.records()
        pairs: list[tuple[str, str]] = []
        if not targets:
            pairs = sorted({(r.entry, r.edition) for r in records})
        for t in targets:
            self.catalogue.entry(t.entry)
            found = sorted({(r.entry, r.edition) for r in records
                            if r.entry == t.entry and (t.edition is None or r.edition == t.edition)})
            if not found:
                raise FetchError(f"nothing cached for {t}; run `gpscale fetch get {t}` (or `gpscale fetch add FILE`)")
            pairs.extend(p for p in found if p not in pairs)
        if not pairs:
            raise FetchError("the cache is empty; fetch something first (`gpscale fetch list` shows what)")
        paths: list[Path] = []
        for entry_id, ed in pairs:
            entry = self.catalogue.entry(entry_id)
            recs = self.cache.latest(entry_id, ed)
            files = recs[1:] if len(recs) > 1 else recs
            for r in files:
                wanted = entry.ingest_members if r.parent_sha256 is not None else []
                if wanted and not matches_any(r.name, wanted):
                    continue
                if PurePosixPath(r.name).suffix.lower() not in DATA_SUFFIXES:
                    continue
                if not self.cache.object_path(r).is_file():
                    raise FetchError(f"{entry_id}/{ed}: {r.name} is missing from the cache; run `gpscale fetch verify`")
                if entry.members_need_edition_in_name and not names_edition(r.name, ed):
                    stem, suffix = PurePosixPath(r.name).stem, PurePosixPath(r.name).suffix
                    paths.append(self.cache.view(r, f"{stem}_{ed}{suffix}"))
                else:
                    paths.append(self.cache.object_path(r))
        return paths


def _status_messages(
    entry: Entry, edition: Edition, status: EditionStatus, member: str | None, *, quiet_unlisted: bool = False
) -> list[str]:
    what = f"{member} in {entry.id}/{edition.id}" if member else f"{entry.id}/{edition.id}"
    known = edition.members.get(member) if member else edition.checksum
    if status is EditionStatus.NEW and known is not None:
        return [f"{what} differs from the known edition ({known.describe()}): recorded as a new edition"]
    if status is EditionStatus.KNOWN_PARTIAL and known is not None:
        return [f"{what} matches the size and the {known.digits_known} hex digits of SHA-256 on record "
                f"(only part of the hash is known)"]
    if status is EditionStatus.UNLISTED and not quiet_unlisted and edition.id not in (CURRENT, "unidentified"):
        return [f"{what}: no checksum is catalogued for this edition; the manifest records this one"]
    return []


def file_name_from_url(url: str) -> str | None:
    """The published file name in a URL: the last path segment, or a file path carried in the query
    (``FileDownload/Download?fileRedirect=2025/…/GPPS_2025_….csv``)."""
    parts = urlsplit(url)
    last = unquote(PurePosixPath(parts.path).name)
    if "." in last:
        return last
    for _key, value in parse_qsl(parts.query):
        candidate = PurePosixPath(unquote(value)).name
        if "." in candidate:
            return candidate
    return None
