"""HTTP downloads that survive what publishers' servers do: resumable, retried, checked, atomic.

* **Resumable**: bytes already received stay in a ``.part`` file; the next attempt (or the next command)
  asks for the rest with ``Range: bytes=N-`` and ``If-Range`` (the ETag or Last-Modified of the first
  response), so a file that changed in between is fetched again from the start. A server that ignores
  ``Range`` (answers 200 with the whole file) is handled by starting again.
* **Retried** with exponential backoff on 408, 425, 429, 500, 502, 503, 504 and on dropped connections and
  timeouts; ``Retry-After`` (seconds or an HTTP date) is honoured. The wait function is injectable, so tests
  run without waiting.
* **Checked**: certificates are always verified (there is no option to turn that off; a corporate CA is
  added with ``SSL_CERT_FILE``); redirects are followed, but never from https to http; a web page where a
  data file was expected is refused with a message naming the page to open by hand.
* **Atomic**: the caller moves the completed ``.part`` file into the cache; nothing half-written is kept
  under a final name.

httpx does the HTTP (connection pooling, timeouts, redirects, certificate checks, proxies from the
environment); this module adds the policy above (see docs/adr/0006-fetch-downloads.md).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gpscale.fetch.cache import sha256_file
from gpscale.fetch.errors import FetchError

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "gpscale-fetch (+https://github.com/; open data for NHS general practice evaluation)"
#: How much of a response is read before deciding whether it is a web page.
SNIFF_BYTES = 2048

Progress = Callable[[int, int | None], None]  # (bytes so far, total if known)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. ``max_wait`` caps a server's Retry-After: asked to wait longer,
    the download stops and says when to try again rather than hanging."""

    attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 120.0
    max_wait: float = 900.0
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(60.0, connect=20.0))
    max_redirects: int = 10


@dataclass(frozen=True)
class Downloaded:
    """A completed download: where the bytes are, how many, their SHA-256, and the URL that served them."""

    path: Path
    size: int
    sha256: str
    url: str
    final_url: str
    resumed: bool


class _Retry(Exception):
    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay
        self.reason = reason


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def looks_like_html(head: bytes) -> bool:
    """Is this the start of a web page? (No CSV, workbook or zip starts with a tag.)"""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not text.startswith(b"<"):
        return False
    return any(tag in text for tag in (b"<html", b"<!doctype html", b"<head", b"<body", b"<title"))


def make_client(policy: RetryPolicy | None = None) -> httpx.Client:
    """The HTTP client every fetch uses: certificates verified, redirects followed, proxies from the
    environment (HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE), identity encoding so byte ranges mean bytes."""
    policy = policy or RetryPolicy()
    return httpx.Client(
        verify=True,
        follow_redirects=True,
        max_redirects=policy.max_redirects,
        timeout=policy.timeout,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )


class Downloader:
    """Downloads with resume, retries and checks. ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(
        self,
        client: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.client = client or make_client(self.policy)
        self.sleep = sleep
        self.clock = clock

    def close(self) -> None:
        self.client.close()

    # ---- small responses (API calls, landing pages) ----------------------------------------------

    def get_text(self, url: str, *, params: dict[str, Any] | None = None) -> tuple[str, str]:
        """GET a page or API answer (retried like a download); return its text and final URL."""

        def once() -> tuple[str, str]:
            resp = self.client.get(url, params=params)
            self._check_status(resp, url)
            self._check_redirects(resp, url)
            return resp.text, str(resp.url)

        return self._with_retries(url, once)

    def get_json(self, url: str, *, params: dict[str, Any] | None = None) -> Any:
        text, final = self.get_text(url, params=params)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            page = looks_like_html(text[:SNIFF_BYTES].encode())
            hint = " (a web page: the service may be down or blocking scripts)" if page else ""
            raise FetchError(f"{final}: the answer is not JSON{hint}") from exc

    # ---- files -----------------------------------------------------------------------------------

    def download(
        self,
        url: str,
        part: Path,
        *,
        what: str,
        manual: str,
        progress: Progress | None = None,
    ) -> Downloaded:
        """Download ``url`` into ``part`` (resuming what is already there). ``what`` names the file in
        messages; ``manual`` says what to do by hand if the server sends a web page instead."""
        meta_path = part.with_suffix(part.suffix + ".json")
        resumed = part.exists() and part.stat().st_size > 0

        def once() -> str:
            return self._transfer(url, part, meta_path, what=what, manual=manual, progress=progress)

        final_url = self._with_retries(url, once)
        meta_path.unlink(missing_ok=True)
        return Downloaded(part, part.stat().st_size, sha256_file(part), url, final_url, resumed)

    def _transfer(
        self,
        url: str,
        part: Path,
        meta_path: Path,
        *,
        what: str,
        manual: str,
        progress: Progress | None,
    ) -> str:
        have = part.stat().st_size if part.exists() else 0
        meta = _read_meta(meta_path) if have else {}
        if have and meta.get("url") != url:
            part.unlink()
            have, meta = 0, {}
        headers = {}
        if have:
            headers["Range"] = f"bytes={have}-"
            if meta.get("validator"):
                headers["If-Range"] = meta["validator"]
        with self.client.stream("GET", url, headers=headers) as resp:
            self._check_status(resp, url, have=have)
            self._check_redirects(resp, url)
            final_url = str(resp.url)
            if resp.status_code == 416:
                total = _total_from_content_range(resp.headers.get("Content-Range"))
                if total is not None and total == have:
                    return final_url  # the file was complete already
                part.unlink(missing_ok=True)
                raise _Retry(0.0, "the partial file no longer fits the file on the server; starting again")
            if resp.status_code == 206:
                start, total = _range_start_total(resp.headers.get("Content-Range"))
                if start != have:
                    part.unlink(missing_ok=True)
                    raise _Retry(0.0, f"the server resumed at byte {start}, not {have}; starting again")
                mode = "ab"
            else:  # 200: the whole file (a first request, or a server that ignores Range)
                have, mode = 0, "wb"
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            _write_meta(meta_path, {"url": url, "validator": _validator(resp)})
            received = have
            buffer = bytearray()
            sniffed = have > 0  # the start of the file was checked when it was first received
            with part.open(mode) as out:
                for chunk in resp.iter_bytes():
                    if not sniffed:
                        buffer.extend(chunk)
                        if len(buffer) < SNIFF_BYTES:
                            continue
                        self._refuse_html(bytes(buffer), resp, part, url=url, what=what, manual=manual)
                        sniffed = True
                        chunk, buffer = bytes(buffer), bytearray()
                    out.write(chunk)
                    received += len(chunk)
                    if progress:
                        progress(received, total)
                if not sniffed and buffer:
                    self._refuse_html(bytes(buffer), resp, part, url=url, what=what, manual=manual)
                    out.write(buffer)
                    received += len(buffer)
                    if progress:
                        progress(received, total)
        if total is not None and received < total:
            raise _Retry(-1.0, f"the transfer stopped at {received:,} of {total:,} bytes")
        if received == 0:
            part.unlink(missing_ok=True)
            raise FetchError(f"{url}: the server sent an empty file for {what}")
        return final_url

    def _refuse_html(self, head: bytes, resp: httpx.Response, part: Path, *, url: str, what: str, manual: str) -> None:
        if not looks_like_html(head):
            return
        part.unlink(missing_ok=True)
        ctype = resp.headers.get("Content-Type", "no content type")
        raise FetchError(
            f"{url} sent a web page ({ctype}) instead of {what}. The publisher may block scripted downloads or "
            f"have moved the file. {manual}"
        )

    # ---- shared ----------------------------------------------------------------------------------

    def _check_status(self, resp: httpx.Response, url: str, *, have: int = 0) -> None:
        code = resp.status_code
        if code in RETRY_STATUS:
            wait = retry_after_seconds(resp.headers.get("Retry-After"), self.clock())
            if wait is not None and wait > self.policy.max_wait:
                raise FetchError(
                    f"{url}: HTTP {code}; the server asks to wait {wait:.0f} s before retrying (more than "
                    f"{self.policy.max_wait:.0f} s); try again later"
                )
            raise _Retry(wait if wait is not None else -1.0, f"HTTP {code} {resp.reason_phrase}".strip())
        if code == 416 and have:
            return
        if code >= 400:
            hint = {
                401: "the server wants a login",
                403: "the server refuses scripted access (some block data-centre addresses)",
                404: "not found: the publisher may have moved or withdrawn it",
                410: "withdrawn by the publisher",
            }.get(code, "")
            raise FetchError(f"{url}: HTTP {code} {resp.reason_phrase}".strip() + (f" ({hint})" if hint else ""))

    def _check_redirects(self, resp: httpx.Response, url: str) -> None:
        if url.startswith("https://") and resp.url.scheme != "https":
            raise FetchError(f"{url} redirected to {resp.url}, from https to plain http; refused")

    def _backoff(self, attempt: int) -> float:
        return float(min(self.policy.max_delay, self.policy.base_delay * (2**attempt)))

    def _with_retries(self, url: str, once: Callable[[], T]) -> T:
        last = ""
        for attempt in range(self.policy.attempts):
            try:
                return once()
            except _Retry as r:
                last = r.reason
                delay = r.delay if r.delay >= 0 else self._backoff(attempt)
            except httpx.TooManyRedirects as exc:
                raise FetchError(f"{url}: too many redirects ({exc})") from exc
            except httpx.UnsupportedProtocol as exc:
                raise FetchError(f"{url}: {exc}") from exc
            except httpx.ConnectError as exc:
                if _is_certificate_error(exc):
                    raise FetchError(
                        f"{url}: the server's certificate could not be verified ({exc}). gpscale always checks "
                        "certificates; behind a proxy that re-signs traffic, point SSL_CERT_FILE at its CA bundle"
                    ) from exc
                last = f"cannot connect ({exc})"
                delay = self._backoff(attempt)
            except httpx.TransportError as exc:  # timeouts, dropped connections, a body cut short
                last = f"{type(exc).__name__}: {exc}"
                delay = self._backoff(attempt)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # e.g. a body that cannot be decoded
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
            if attempt + 1 < self.policy.attempts:
                self.sleep(delay)
        raise FetchError(f"{url}: gave up after {self.policy.attempts} attempts; last: {last}")


def _is_certificate_error(exc: Exception) -> bool:
    text = f"{exc} {exc.__cause__ or ''}".lower()
    return "certificate" in text or "ssl" in text


def _validator(resp: httpx.Response) -> str:
    etag = resp.headers.get("ETag", "")
    if etag and not etag.startswith("W/"):
        return etag
    return resp.headers.get("Last-Modified", "")


def _range_start_total(header: str | None) -> tuple[int | None, int | None]:
    """``bytes 100-999/1000`` → (100, 1000); total may be ``*``."""
    if not header or not header.startswith("bytes "):
        return None, None
    span, _, total = header[6:].partition("/")
    start = span.split("-", 1)[0]
    return (int(start) if start.isdigit() else None, int(total) if total.isdigit() else None)


def _total_from_content_range(header: str | None) -> int | None:
    """``bytes */1000`` (a 416 answer) → 1000."""
    if not header or "/" not in header:
        return None
    total = header.rsplit("/", 1)[1]
    return int(total) if total.isdigit() else None


def _read_meta(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_meta(path: Path, meta: dict[str, str]) -> None:
    path.write_text(json.dumps(meta), encoding="utf-8")
