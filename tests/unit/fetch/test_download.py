"""Downloads against a scripted server on 127.0.0.1: resume, retries, Retry-After, redirects, refusals."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from gpscale.fetch.download import Downloader, RetryPolicy, looks_like_html, retry_after_seconds
from gpscale.fetch.errors import FetchError
from tests.unit.fetch.conftest import NOW
from tests.unit.fetch.server import ScriptedServer, cut, redirect, self_signed, sequence, serve, status

DATA = b"".join(b"A81001,%06d,some,columns,of,a,published,file\n" % i for i in range(3000))  # ~126 kB
MANUAL = "Open https://example.org/page by hand."


def get(d: Downloader, url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return d.download(url, tmp_path / "x.part", what="CSV file x.csv", manual=MANUAL)


def test_guard_refuses_the_real_internet() -> None:
    with pytest.raises(OSError, match="offline"):
        socket.create_connection(("192.0.2.10", 443), timeout=1)
    with pytest.raises(httpx.ConnectError, match="offline"):
        httpx.get("https://fingertips.phe.org.uk/api/area_types")


def test_plain_download(server: ScriptedServer, downloader: Downloader, tmp_path: Path) -> None:
    server.routes["/f.csv"] = serve(DATA)
    got = get(downloader, server.url("/f.csv"), tmp_path)
    assert got.path.read_bytes() == DATA
    assert (got.size, got.sha256) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    assert not got.resumed
    assert server.hits_on("/f.csv")[0].headers["accept-encoding"] == "identity"


def test_interrupted_transfer_resumes_with_range(
    server: ScriptedServer, downloader: Downloader, sleeps: list[float], tmp_path: Path
) -> None:
    server.routes["/f.csv"] = sequence(cut(DATA, 50_000), serve(DATA))
    got = get(downloader, server.url("/f.csv"), tmp_path)
    assert got.path.read_bytes() == DATA
    second = server.hits_on("/f.csv")[1]
    assert second.headers["range"] == "bytes=50000-"
    assert second.headers["if-range"] == '"v1"'
    assert sleeps == [1.0]  # one backoff wait, recorded rather than slept


def test_partial_file_from_an_earlier_command_is_resumed(
    server: ScriptedServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/f.csv"] = serve(DATA)
    url = server.url("/f.csv")
    part = tmp_path / "x.part"
    part.write_bytes(DATA[:70_000])
    part.with_suffix(".part.json").write_text(json.dumps({"url": url, "validator": '"v1"'}))
    got = downloader.download(url, part, what="x", manual=MANUAL)
    assert got.resumed and got.path.read_bytes() == DATA
    assert server.hits_on("/f.csv")[0].headers["range"] == "bytes=70000-"
    assert not part.with_suffix(".part.json").exists()


def test_server_that_ignores_range_is_fetched_whole(server: ScriptedServer, downloader: Downloader,
                                                   tmp_path: Path) -> None:
    server.routes["/f.csv"] = sequence(cut(DATA, 40_000), serve(DATA, ranges=False))
    got = get(downloader, server.url("/f.csv"), tmp_path)
    assert got.path.read_bytes() == DATA  # not the first 40,000 bytes twice
    assert server.hits_on("/f.csv")[1].headers["range"] == "bytes=40000-"


def test_changed_file_is_fetched_again_from_the_start(server: ScriptedServer, downloader: Downloader,
                                                      tmp_path: Path) -> None:
    new = DATA.replace(b"A81001", b"B82002")
    server.routes["/f.csv"] = sequence(cut(DATA, 40_000, etag='"v1"'), serve(new, etag='"v2"'))
    got = get(downloader, server.url("/f.csv"), tmp_path)
    assert got.path.read_bytes() == new  # If-Range "v1" no longer matches: the server sends the whole new file


def test_429_honours_retry_after_seconds(server: ScriptedServer, downloader: Downloader, sleeps: list[float],
                                         tmp_path: Path) -> None:
    server.routes["/f.csv"] = sequence(status(429, b"slow down", {"Retry-After": "7"}), serve(DATA))
    assert get(downloader, server.url("/f.csv"), tmp_path).path.read_bytes() == DATA
    assert sleeps == [7.0]


def test_429_honours_retry_after_http_date(server: ScriptedServer, downloader: Downloader, sleeps: list[float],
                                           tmp_path: Path) -> None:
    when = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    server.routes["/f.csv"] = sequence(status(429, b"", {"Retry-After": when}), serve(DATA))
    get(downloader, server.url("/f.csv"), tmp_path)
    assert sleeps == [30.0]


def test_503_then_success_backs_off(server: ScriptedServer, downloader: Downloader, sleeps: list[float],
                                    tmp_path: Path) -> None:
    server.routes["/f.csv"] = sequence(status(503), status(503), serve(DATA))
    assert get(downloader, server.url("/f.csv"), tmp_path).path.read_bytes() == DATA
    assert sleeps == [1.0, 2.0]  # exponential


def test_gives_up_after_the_attempts_allowed(server: ScriptedServer, downloader: Downloader, sleeps: list[float],
                                             tmp_path: Path) -> None:
    server.routes["/f.csv"] = status(503)
    with pytest.raises(FetchError, match="gave up after 4 attempts; last: HTTP 503"):
        get(downloader, server.url("/f.csv"), tmp_path)
    assert sleeps == [1.0, 2.0, 4.0]


def test_retry_after_longer_than_allowed_stops_at_once(server: ScriptedServer, downloader: Downloader,
                                                       sleeps: list[float], tmp_path: Path) -> None:
    server.routes["/f.csv"] = status(503, b"", {"Retry-After": "3600"})
    with pytest.raises(FetchError, match=r"asks to wait 3600 s.*try again later"):
        get(downloader, server.url("/f.csv"), tmp_path)
    assert sleeps == []


def test_redirect_is_followed(server: ScriptedServer, downloader: Downloader, tmp_path: Path) -> None:
    server.routes["/old.csv"] = redirect("/new/f.csv")
    server.routes["/new/f.csv"] = serve(DATA)
    got = get(downloader, server.url("/old.csv"), tmp_path)
    assert got.path.read_bytes() == DATA
    assert got.final_url == server.url("/new/f.csv")


def test_redirect_from_https_to_http_is_refused(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            return httpx.Response(302, headers={"Location": "http://example.test/f.csv"})
        return httpx.Response(200, content=DATA)

    client = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    d = Downloader(client=client, sleep=lambda s: None)
    with pytest.raises(FetchError, match="from https to plain http; refused"):
        d.download("https://example.test/f.csv", tmp_path / "x.part", what="x", manual=MANUAL)


def test_html_page_instead_of_csv_is_refused(server: ScriptedServer, downloader: Downloader, tmp_path: Path) -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please sign in</body></html>"
    server.routes["/f.csv"] = serve(page, content_type="text/html; charset=utf-8")
    with pytest.raises(FetchError) as exc:
        get(downloader, server.url("/f.csv"), tmp_path)
    message = str(exc.value)
    assert "sent a web page (text/html; charset=utf-8) instead of CSV file x.csv" in message
    assert MANUAL in message  # names the page to open by hand
    assert not (tmp_path / "x.part").exists()


def test_not_found_names_the_status(server: ScriptedServer, downloader: Downloader, sleeps: list[float],
                                    tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"HTTP 404 Not Found \(not found: the publisher may have moved"):
        get(downloader, server.url("/missing.csv"), tmp_path)
    assert sleeps == []  # a 404 is not retried


def test_empty_answer_is_refused(server: ScriptedServer, downloader: Downloader, tmp_path: Path) -> None:
    server.routes["/f.csv"] = serve(b"")
    with pytest.raises(FetchError, match="empty file"):
        get(downloader, server.url("/f.csv"), tmp_path)


def test_untrusted_certificate_is_refused(tmp_path: Path, sleeps: list[float]) -> None:
    pair = self_signed(tmp_path)
    if pair is None:
        pytest.skip("the openssl command is needed to make a self-signed certificate")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*pair)
    tls = ScriptedServer(scheme="https")
    tls.routes["/f.csv"] = serve(DATA)
    tls.start(wrap=lambda sock: ctx.wrap_socket(sock, server_side=True))
    d = Downloader(policy=RetryPolicy(attempts=2, timeout=httpx.Timeout(5.0)), sleep=sleeps.append)
    try:
        with pytest.raises(FetchError, match=r"certificate could not be verified.*SSL_CERT_FILE"):
            d.download(tls.url("/f.csv"), tmp_path / "x.part", what="x", manual=MANUAL)
    finally:
        d.close()
        tls.stop()
    assert sleeps == []  # a certificate failure is not retried


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("120", NOW) == 120.0
    assert retry_after_seconds(format_datetime(NOW + timedelta(minutes=2), usegmt=True), NOW) == 120.0
    assert retry_after_seconds(format_datetime(NOW - timedelta(minutes=2), usegmt=True), NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_html_sniffing() -> None:
    assert looks_like_html(b"\xef\xbb\xbf\r\n  <!doctype html><html>")
    assert looks_like_html(b"<HTML><BODY>Access denied</BODY></HTML>")
    assert not looks_like_html(b"PRACTICE_CODE,REGISTER\nA81001,<5\n")
    assert not looks_like_html(b"PK\x03\x04binary")
    assert not looks_like_html(b"<not a page at all>")
