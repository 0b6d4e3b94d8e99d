"""Shared fixtures: a local test site, a real SMTP server and a config pointing at both."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from wagewatch.core import clock

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failed promise: report it as a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI", "").lower() == "true" and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true): {report.longrepr}"


@pytest.fixture(autouse=True)
def _release_clock():
    yield
    clock.freeze(None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- local HTTP test site


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "application/json; charset=utf-8"
    delay: float = 0.0


@dataclass
class TestSite:
    """A local web site: `routes` maps a path with its query string to a list of responses served in
    turn (the last one repeats), so a test can script '500, then 200'."""

    port: int
    routes: dict[str, list[Route]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, path: str, *responses: Route) -> None:
        self.routes[path] = list(responses)

    def next_response(self, path: str) -> Route:
        self.hits.append(path)
        queue = self.routes.get(path)
        if not queue:
            return Route(b"not found", status=404, content_type="text/plain")
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def test_site() -> Iterator[TestSite]:
    site = TestSite(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            route = site.next_response(self.path)
            if route.delay:
                time.sleep(route.delay)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, *args):
            pass

    with serving(site.port, Handler):
        yield site


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: object) -> None:
    """Answer the handler's request with `payload` as a UTF-8 JSON body."""
    data = json.dumps(payload, ensure_ascii=False).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def serving(port: int, handler: type[BaseHTTPRequestHandler]) -> Iterator[None]:
    """A local HTTP server on `port` answering with `handler` in a background thread, for the block."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- real SMTP server


@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    hold_seconds: float = 0.0  # delay before answering 250, to crash a sender mid-send

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            if box.hold_seconds:
                import asyncio

                await asyncio.sleep(box.hold_seconds)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


# ---------------------------------------------------------------- configuration


@dataclass
class ConfigFactory:
    root: Path

    def write(self, name: str, data: dict) -> None:
        (self.root / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def read(self, name: str) -> dict:
        return yaml.safe_load((self.root / name).read_text(encoding="utf-8"))

    def update(self, name: str, change: Callable[[dict], None]) -> None:
        data = self.read(name)
        change(data)
        self.write(name, data)


@pytest.fixture
def config_files(tmp_path: Path) -> ConfigFactory:
    """A copy of the shipped config with the database, outbox, raw store and reports inside tmp_path."""
    root = tmp_path / "config"
    shutil.copytree(REPO / "config", root)
    factory = ConfigFactory(root)

    def local_paths(settings: dict) -> None:
        settings["database_url"] = f"sqlite:///{tmp_path / 'wagewatch.db'}"
        settings["outbox_dir"] = str(tmp_path / "outbox")
        settings["reports_dir"] = str(tmp_path / "reports")

    factory.update("settings.yaml", local_paths)
    return factory


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (initdb + pg_ctl), or the one named by WAGEWATCH_TEST_POSTGRES_URL."""
    if os.environ.get("WAGEWATCH_TEST_POSTGRES_URL"):
        yield os.environ["WAGEWATCH_TEST_POSTGRES_URL"]
        return
    initdb = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None)
    if not initdb:
        pytest.skip(
            "PostgreSQL server binaries (initdb) not found; install postgresql or set WAGEWATCH_TEST_POSTGRES_URL"
        )
    bindir = Path(initdb).resolve().parent
    # Not under pytest's private tmp dir: the postgres user must be able to reach it.
    data = Path(tempfile.mkdtemp(prefix="wagewatch-pg-")) / "data"
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        data.parent.chmod(0o777)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "wagewatch", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(data.parent / "log"),
            "-o",
            f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://wagewatch@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(data.parent, ignore_errors=True)
