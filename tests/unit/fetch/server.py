"""A scripted HTTP server on 127.0.0.1 (random free port) for the fetch tests.

Each path is given a *behaviour*: a function that writes one response. :func:`sequence` plays behaviours
in turn (the last one repeats), so "503, then the file" or "cut the transfer, then serve the rest" are one
line each. Every request's path, query and headers are recorded in ``server.hits``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

Behaviour = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Hit:
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class ScriptedServer:
    routes: dict[str, Behaviour] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    scheme: str = "http"

    def url(self, path: str) -> str:
        assert self._httpd is not None
        return f"{self.scheme}://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def hits_on(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def start(self, wrap: Callable[[socket.socket], socket.socket] | None = None) -> ScriptedServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                server.hits.append(Hit(parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}))
                behaviour = server.routes.get(parts.path)
                if behaviour is None:
                    status(404, b"not found")(self)
                else:
                    behaviour(self)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if wrap is not None:
            self._httpd.socket = wrap(self._httpd.socket)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


# ---- behaviours ----------------------------------------------------------------------------------


def _send(h: BaseHTTPRequestHandler, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    h.send_response(code)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Behaviour:
    return lambda h: _send(h, code, body, headers)


def serve(data: bytes, *, ranges: bool = True, etag: str | None = '"v1"', content_type: str = "text/csv",
          honour_if_range: bool = True) -> Behaviour:
    """Serve ``data``, honouring ``Range: bytes=N-`` (206) unless ``ranges`` is False (a server that ignores it)."""

    def behaviour(h: BaseHTTPRequestHandler) -> None:
        headers = {"Content-Type": content_type}
        if etag:
            headers["ETag"] = etag
        rng = h.headers.get("Range")
        if_range = h.headers.get("If-Range")
        validator_ok = not honour_if_range or if_range is None or if_range == etag
        if ranges and rng and rng.startswith("bytes=") and validator_ok:
            start = int(rng[6:].split("-", 1)[0])
            if start >= len(data):
                _send(h, 416, b"", {"Content-Range": f"bytes */{len(data)}"})
                return
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            _send(h, 206, data[start:], headers)
        else:
            _send(h, 200, data, headers)

    return behaviour


def cut(data: bytes, after: int, *, etag: str | None = '"v1"') -> Behaviour:
    """Announce the whole file, send ``after`` bytes, then drop the connection (an interrupted transfer)."""

    def behaviour(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/csv")
        if etag:
            h.send_header("ETag", etag)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[:after])
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)

    return behaviour


def redirect(location: str, code: int = 302) -> Behaviour:
    return lambda h: _send(h, code, b"", {"Location": location})


def sequence(*behaviours: Behaviour) -> Behaviour:
    """The n-th request gets the n-th behaviour; later requests get the last one."""
    count = {"n": 0}

    def behaviour(h: BaseHTTPRequestHandler) -> None:
        i = min(count["n"], len(behaviours) - 1)
        count["n"] += 1
        behaviours[i](h)

    return behaviour


def self_signed(tmp: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1 made with the openssl command (None if it is unavailable)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        return None
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, check=False,
    )
    return (cert, key) if done.returncode == 0 else None
