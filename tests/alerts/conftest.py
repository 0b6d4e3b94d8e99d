"""Fixtures for the alert tests: a migrated store with incidents made to order, and a local HTTP server
that checks the WeCom, DingTalk and SMS gateway wire formats the way those services do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import free_port, send_json, serving
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, Incident, Post

# A Friday, 10:00 in Shandong: day shift on duty, outside quiet hours, after the 09:00 digest.
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=clock.LOCAL_TZ)
DINGTALK_SECRET = "SEC-test-secret-不要外传"
SMS_KEY = "sms-key-123"


@dataclass
class Store:
    config: AppConfig
    db: Database
    root: Path  # tmp dir holding config/, the database and the outbox

    def reload(self) -> AppConfig:
        """Config read again (after a test changed a YAML file or an environment variable)."""
        self.config = load_config(self.root / "config")
        return self.config


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory) -> Path:
    """One migrated SQLite file, copied for each test: migrating once keeps the suite fast."""
    path = tmp_path_factory.mktemp("template") / "wagewatch.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture
def store(config_files, tmp_path, _migrated_template) -> Iterator[Store]:
    shutil.copy(_migrated_template, tmp_path / "wagewatch.db")
    config = load_config(config_files.root)
    db = Database(config.settings.database_url)
    clock.freeze(FRIDAY_10)
    yield Store(config, db, tmp_path)
    db.dispose()


def make_incident(
    db: Database,
    *,
    label: str = "real",
    city: str | None = "济南",
    severity: int | None = 2,
    title: str = "某工地拖欠农民工工资",
    text: str | None = None,
    project_type: str | None = None,
    amount: float | None = 50_000,
    workers: int | None = 6,
    reach: int = 10,
    url: str = "https://m.weibo.cn/detail/1",
    extra_cities: tuple[str, ...] = (),
) -> int:
    """An incident waiting to be alerted, with one post (and one more per extra city), as clustering leaves it."""
    now = clock.now()
    with db.session() as session:
        incident = Incident(
            label=label,
            city=city,
            county="历下区" if city == "济南" else None,
            severity=severity,
            severity_score=20.0 * (severity or 0),
            title=title,
            company="某建设有限公司",
            project="某小区二期",
            project_type=project_type,
            amount_yuan=amount,
            workers=workers,
            explanation=["涉及多名工人"],
            signature=[],
            post_count=1 + len(extra_cities),
            reach=reach,
            first_seen=now,
            last_seen=now,
            alert_state="pending",
        )
        session.add(incident)
        session.flush()
        for i, post_city in enumerate((city, *extra_cities)):
            post = Post(
                source="weibo",
                external_id=f"{incident.id}-{i}",
                url=url,
                text=text or title,
                text_raw=text or title,
                published_at=now,
                reposts=reach,
                comments=0,
                fetched_at=now,
                state="analyzed",
            )
            session.add(post)
            session.flush()
            session.add(
                Analysis(
                    post_id=post.id,
                    label=label,
                    scores={label: 0.9},
                    severity=severity,
                    severity_score=incident.severity_score,
                    city=post_city,
                    explanation=[],
                    model_version="test",
                    created_at=now,
                    incident_id=incident.id,
                    clustered=True,
                )
            )
        return incident.id


# ---------------------------------------------------------------- robots and gateways


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    answer: dict | None = None  # None: the connection was dropped without an answer

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return (
            self.status == 200
            and self.answer is not None
            and str(self.answer.get("errcode", self.answer.get("code"))) == "0"
        )


@dataclass
class RobotServer:
    """Answers like WeCom (/wecom), DingTalk (/dingtalk, 加签 checked) and a JSON SMS gateway (/sms).

    `script[path]` is a list of (status, body) answers served before the normal one, to simulate failures;
    a body of None closes the connection after reading the request (the sender cannot know the outcome).
    """

    port: int
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[tuple[int, dict | None]]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self, prefix: str) -> list[Received]:
        """Alert messages to paths starting with `prefix` that the service accepted (not the short texts that
        @-mention the recipient after a WeCom markdown message: see `mentions`)."""
        return [r for r in self.received if r.path.startswith(prefix) and r.ok and not _is_mention(r)]

    def mentions(self, prefix: str) -> list[Received]:
        """The accepted WeCom texts that @-mention a mobile number."""
        return [r for r in self.received if r.path.startswith(prefix) and r.ok and _is_mention(r)]


def _is_mention(received: Received) -> bool:
    return received.path.startswith("/wecom") and received.json().get("msgtype") == "text"


def dingtalk_check(query: dict[str, str], secret: str) -> str | None:
    """What DingTalk's server does with 加签: the timestamp within an hour, and the sign recomputed."""
    try:
        timestamp = int(query["timestamp"])
    except (KeyError, ValueError):
        return "missing timestamp"
    if abs(time.time() * 1000 - timestamp) > 3600_000:
        return "timestamp out of range"
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest())
    return None if query.get("sign") == expected.decode() else "sign mismatch"


def _check(received: Received) -> tuple[int, dict]:
    """Validate the wire format of one request; answer like the real service."""
    body = received.json() if received.headers.get("content-type", "").startswith("application/json") else {}
    if received.path.startswith("/wecom"):
        if not received.query.get("key"):
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        if body.get("msgtype") == "text":  # the only type that @-mentions by mobile number
            text = body.get("text", {})
            mobiles = text.get("mentioned_mobile_list", [])
            if not text.get("content") or len(text["content"].encode()) > 2048:
                return 200, {"errcode": 40058, "errmsg": "text.content exceed max length or empty"}
            if not isinstance(mobiles, list) or not all(str(m).isdigit() or m == "@all" for m in mobiles):
                return 200, {"errcode": 40063, "errmsg": "invalid mentioned_mobile_list"}
            return 200, {"errcode": 0, "errmsg": "ok"}
        content = body.get("markdown", {}).get("content", "")
        if body.get("msgtype") != "markdown" or not content or len(content.encode()) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length or empty"}
        return 200, {"errcode": 0, "errmsg": "ok"}
    if received.path.startswith("/dingtalk"):
        problem = dingtalk_check(received.query, DINGTALK_SECRET)
        if problem:
            return 200, {"errcode": 310000, "errmsg": f"sign not match: {problem}"}
        markdown = body.get("markdown", {})
        if body.get("msgtype") != "markdown" or not markdown.get("title") or not markdown.get("text"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 markdown"}
        mobiles = body.get("at", {}).get("atMobiles", [])
        if not isinstance(mobiles, list) or not all(str(m).isdigit() for m in mobiles):
            return 200, {"errcode": 40035, "errmsg": "at.atMobiles 格式错误"}
        return 200, {"errcode": 0, "errmsg": "ok"}
    if received.path.startswith("/form"):  # a gateway taking application/x-www-form-urlencoded
        form = {k: v[0] for k, v in parse_qs(received.body.decode()).items()}
        if form.get("apikey") != SMS_KEY or not form.get("mobile", "").isdigit() or not form.get("text"):
            return 200, {"code": "1", "message": "bad request"}
        return 200, {"code": "0", "message": "ok"}
    if received.path.startswith("/sms"):
        if received.headers.get("authorization") != f"Bearer {SMS_KEY}":
            return 401, {"code": 401, "message": "bad key"}
        if not body or not str(body.get("mobile", "")).isdigit() or not body.get("content"):
            return 200, {"code": 2, "message": "bad request"}
        return 200, {"code": 0, "message": "ok"}
    return 404, {"error": "not found"}


@pytest.fixture
def robots() -> Iterator[RobotServer]:
    server_state = RobotServer(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            received = Received(parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body)
            server_state.received.append(received)
            scripted = server_state.script.get(parts.path)
            received.status, received.answer = scripted.pop(0) if scripted else _check(received)
            if received.answer is None:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            send_json(self, received.status, received.answer)

        def log_message(self, *args):
            pass

    with serving(server_state.port, Handler):
        yield server_state


def use_robots(monkeypatch, robots: RobotServer, city_slug: str = "jinan", robot: str = "wecom") -> None:
    """Point a city's group robot and the SMS gateway at the local server."""
    env = f"WAGEWATCH_ROBOT_{city_slug.upper()}"
    path = f"/{robot}/{city_slug}"
    monkeypatch.setenv(
        f"{env}_URL",
        robots.url(f"{path}?key=k-{city_slug}" if robot == "wecom" else f"{path}?access_token=t-{city_slug}"),
    )
    monkeypatch.setenv(f"{env}_SECRET", DINGTALK_SECRET)
    monkeypatch.setenv("WAGEWATCH_SMS_URL", robots.url("/sms"))
    monkeypatch.setenv("WAGEWATCH_SMS_KEY", SMS_KEY)


def later(minutes: float = 0, hours: float = 0, days: float = 0) -> None:
    """Move the frozen clock on."""
    clock.freeze(clock.now() + timedelta(minutes=minutes, hours=hours, days=days))
