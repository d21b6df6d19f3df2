"""A loopback HTTP server serving monthly archives, with scripted misbehaviour per path."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    range: str | None
    if_range: str | None


@dataclass
class Archive:
    """What the server does for one path. Each entry of `script` is used for one request; once it
    runs out, requests are served normally (honouring Range unless `ignore_range`)."""

    body: bytes | None  # None: 404
    script: list[str] = field(default_factory=list)  # "drop" | "503" | "500"
    ignore_range: bool = False
    etag: str = '"v1"'


class ArchiveServer:
    def __init__(self) -> None:
        self.archives: dict[str, Archive] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, predicate: Callable[[Request], bool] = lambda r: True) -> int:
        with self._lock:
            return sum(1 for r in self.requests if predicate(r))

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(
                        Request(self.path, self.headers.get("Range"), self.headers.get("If-Range"))
                    )
                    archive = server.archives.get(self.path)
                    action = archive.script.pop(0) if archive and archive.script else None
                if archive is None or archive.body is None:
                    self.send_error(404)
                    return
                body = archive.body
                if action in ("503", "500"):
                    self.send_response(int(action))
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and not archive.ignore_range and rng.startswith("bytes="):
                    start = int(rng[len("bytes=") :].split("-")[0])
                if start:
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                chunk = body[start:]
                self.send_header("Content-Length", str(len(chunk)))
                self.send_header("ETag", archive.etag)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if action == "drop":
                    # announce the full length, send half, hang up
                    self.wfile.write(chunk[: len(chunk) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        return Handler


@contextmanager
def serve(server: ArchiveServer) -> Iterator[ArchiveServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), server.handler())
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
