"""A local HTTP test site: routes answer from fixture files (or per-test handlers) the way the real sites
answer, and every request is logged so tests can check what the spiders sent."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]

    def arg(self, name: str, default: str | None = None) -> str | None:
        return (self.query.get(name) or [default])[0]


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Req], Reply]


def fixture(source: str, name: str) -> bytes:
    return (FIXTURES / source / name).read_bytes()


def serve(source: str, name: str, content_type: str | None = None, status: int = 200) -> Reply:
    kind = content_type or (
        "application/json; charset=utf-8"
        if name.endswith(".json")
        else "application/xml; charset=utf-8"
        if name.endswith(".xml")
        else "text/html; charset=utf-8"
    )
    return Reply(status, fixture(source, name), kind)


def fail_first(times: int, then: Handler, status: int = 500) -> Handler:
    """A handler that answers `status` the first `times` calls, then like `then` (a flaky server)."""
    calls = {"n": 0}

    def handler(req: Req) -> Reply:
        calls["n"] += 1
        if calls["n"] <= times:
            return Reply(status, b"<html><body>Internal Server Error</body></html>")
        return then(req)

    return handler


class Site:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        self.log: list[Req] = []
        self._lock = threading.Lock()
        site = self

        class _Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Req(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    self.rfile.read(length) if length else b"",
                    dict(self.headers.items()),
                )
                reply = site.dispatch(req)
                body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Site:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.routes.clear()
            self.log.clear()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        with self._lock:
            self.routes.append((method, re.compile(pattern), handler))

    def dispatch(self, req: Req) -> Reply:
        with self._lock:
            self.log.append(req)
            routes = list(self.routes)
        for method, pattern, handler in routes:
            if method == req.method and pattern.fullmatch(req.path):
                return handler(req)
        return Reply(404, b"<html><body>Not Found</body></html>")

    def hits(self, path_pattern: str, method: str | None = None) -> list[Req]:
        pattern = re.compile(path_pattern)
        return [r for r in self.log if pattern.fullmatch(r.path) and (method is None or r.method == method)]
