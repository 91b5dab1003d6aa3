"""Fetch tests run offline: any connection (or name look-up) beyond the loopback interface fails the test.

The fixtures give a scripted local server, a cache in a temporary folder, a downloader whose waits are
recorded instead of slept, and a small catalogue whose URLs point at the local server.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from gpscale.fetch.cache import Cache
from gpscale.fetch.download import Downloader, RetryPolicy
from tests.unit.fetch.server import ScriptedServer

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "NO_PROXY",
                   "no_proxy")
#: The clock the downloader sees (for Retry-After given as an HTTP date).
NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


class OfflineViolation(OSError):
    pass


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the real internet unreachable for every fetch test (and drop proxies that would route around)."""
    real_connect, real_connect_ex, real_gai = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def check(sock: socket.socket, address: object) -> None:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            raise OfflineViolation(f"a test tried to connect to {address!r}; fetch tests must stay offline")

    def connect(sock: socket.socket, address: object) -> None:
        check(sock, address)
        real_connect(sock, address)  # type: ignore[arg-type]

    def connect_ex(sock: socket.socket, address: object) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host is not None and not _is_loopback(host):
            raise socket.gaierror(f"a test tried to resolve {host!r}; fetch tests must stay offline")
        return real_gai(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for var in PROXY_VARIABLES:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer().start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def downloader(sleeps: list[float]) -> Iterator[Downloader]:
    d = Downloader(
        policy=RetryPolicy(attempts=4, base_delay=1.0, max_delay=8.0, max_wait=60.0,
                           timeout=httpx.Timeout(5.0)),
        sleep=sleeps.append,
        clock=lambda: NOW,
    )
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")
