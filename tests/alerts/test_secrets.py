"""A full run with group robots, an SMS gateway, an SMTP password and an officer using the page: no link token,
robot key, signing secret or password appears in any log line, group-robot messages carry no personal token,
and the outbox (which does hold officers' own links) is readable by the service's user only."""

from __future__ import annotations

import logging
import re
import stat
import threading
import time
from email import message_from_bytes, policy

import httpx
import uvicorn

from tests.alerts.conftest import DINGTALK_SECRET, SMS_KEY, later, make_incident, use_robots
from tests.conftest import free_port
from wagewatch import logs
from wagewatch.pipeline import run_stage
from wagewatch.web.app import create_app

SMTP_PASSWORD = "smtp-口令-不要外传"


def _decoded(path) -> str:
    """Every header and text part of an .eml file, decoded."""
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    parts = [str(v) for v in message.values()]
    parts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join(parts)


def test_no_secret_in_logs_robot_messages_or_world_readable_files(store, robots, monkeypatch, caplog):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    use_robots(monkeypatch, robots, "qingdao", "dingtalk")
    monkeypatch.setenv("WAGEWATCH_SMTP_PASSWORD", SMTP_PASSWORD)
    config = store.reload()
    logs.install()
    caplog.set_level(logging.DEBUG)
    make_incident(store.db, city="济南", severity=3)
    make_incident(store.db, city="青岛", severity=4)
    make_incident(store.db, label="false", city="济南", severity=None)
    run_stage("dispatch", config, store.db)
    later(minutes=config.policy.escalation.ack_minutes[0] + 1)
    run_stage("escalate", config, store.db)
    run_stage("dispatch", config, store.db)

    outbox = store.root / "outbox"
    mails = sorted(outbox.glob("*.eml"))
    assert mails
    text = "\n".join(_decoded(mail) for mail in mails)
    tokens = set(re.findall(r"[?&]t=([\w-]{16,})", text))
    assert tokens  # the personal emails do carry their owner's link
    assert robots.accepted("/wecom/jinan") and robots.accepted("/dingtalk/qingdao")
    for message in robots.accepted("/wecom") + robots.accepted("/dingtalk"):  # the group robots never do
        assert "?t=" not in message.body.decode() and not any(t in message.body.decode() for t in tokens)

    # An officer opens the link: uvicorn's access log sees the token in the query string.
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, store.db),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=True,
            log_level="info",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        for token in sorted(tokens)[:3]:
            assert httpx.get(f"http://127.0.0.1:{port}/leads?t={token}").status_code == 303
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    lines = [record.getMessage() for record in caplog.records]
    assert any("HTTP Request: POST" in line and "key=[已隐去]" in line for line in lines)  # httpx did log
    assert any("GET /leads?t=[已隐去]" in line for line in lines)  # and so did uvicorn
    secrets = [*tokens, "k-jinan", "t-qingdao", DINGTALK_SECRET, SMS_KEY, SMTP_PASSWORD]
    leaks = [(secret, line) for line in lines for secret in secrets if secret in line]
    assert not leaks, leaks[:3]
    assert not [s for s in ("k-jinan", "t-qingdao", DINGTALK_SECRET, SMS_KEY, SMTP_PASSWORD) if s in text]
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert {stat.S_IMODE(mail.stat().st_mode) for mail in mails} == {0o600}
