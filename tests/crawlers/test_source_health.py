"""Source health and ops alerts: a blocked, failing or silent source reaches the ops contact once per episode,
`wagewatch sources` shows it, and a source that cannot be reached is recorded, not raised."""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import time
from datetime import datetime, timedelta
from email.header import decode_header, make_header

import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.crawlers.conftest import REPO_CONFIG, source_config
from tests.crawlers.site import Reply
from wagewatch.core import clock
from wagewatch.core.config import load_config
from wagewatch.core.store.models import AuditEvent, CrawlRun, OpsAlert
from wagewatch.crawlers.dates import CST
from wagewatch.stages.crawl import crawl_stage
from wagewatch.stages.sources import check_sources, deliver_ops_alerts, source_health

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=CST)


@pytest.fixture
def frozen():
    yield clock.freeze
    clock.freeze(None)


def subject(path) -> str:
    return str(make_header(decode_header(email.message_from_bytes(path.read_bytes())["Subject"])))


def test_blocked_source_alerts_ops_once_and_waits_out_its_back_off(web, env):
    # With a download delay (as in production) the queries waiting behind the blocked one are not sent; at
    # most one already on its way when the block was recognised still arrives.
    env.write_sources({"weibo": source_config(f"{web.base}/weibo", block_backoff_minutes=60, download_delay=0.5)})
    web.route("GET", "/weibo/api/container/getIndex", lambda r: Reply(432, b""))
    config, db = load_config(env.directory), env.db()

    first = crawl_stage(config, db)

    assert first["ops_alerts"] == {"opened": 1, "sent": 1}  # one ops person in cities.yaml
    (mail,) = env.outbox.glob("ops-*.eml")
    assert subject(mail) == "【数据源告警】weibo：被封禁/需验证"
    body = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
    assert "HTTP 432 微博要求登录Cookie" in body and "cookie_env" in body
    crawled = len(web.log)
    assert crawled <= 2  # of five queries

    second = crawl_stage(config, db)
    assert second["sources"][0]["message"].startswith("被封禁后退避中")
    assert second["ops_alerts"] == {"opened": 0, "sent": 0}
    assert len(web.log) == crawled  # the backed-off source was not crawled
    with db.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.entity == "ops_alert"))]
    assert actions == ["opened", "sent"]

    shown = env.cli("sources")
    assert shown.exit_code == 0 and "weibo" in shown.output and "退避中" in shown.output
    (line,) = env.cli("sources", "--json").output.splitlines()
    health = json.loads(line)
    assert health["health"] == "backoff" and health["last_run"]["status"] == "blocked"
    assert health["problems"][0]["kind"] == "blocked" and health["blocked_until"]


def add_run(db, status: str, at: datetime, posts_new: int = 0, message: str | None = None) -> None:
    with db.session() as session:
        session.add(
            CrawlRun(
                source="heimao",
                started_at=at,
                finished_at=at + timedelta(minutes=1),
                status=status,
                posts_new=posts_new,
                posts_found=posts_new,
                error_message=message,
            )
        )


def open_alerts(db) -> list[tuple[str, str]]:
    with db.session() as session:
        return [
            (a.kind, a.episode)
            for a in session.scalars(select(OpsAlert).where(OpsAlert.closed_at.is_(None)).order_by(OpsAlert.id))
        ]


def test_failing_and_silent_episodes_alert_once_each(env, frozen):
    env.write_sources({"heimao": source_config("https://tousu.sina.com.cn", failure_alert_after=3, silence_hours=12)})
    config, db = load_config(env.directory), env.db()
    frozen(T0)
    add_run(db, "ok", T0 - timedelta(hours=3), posts_new=5)
    add_run(db, "failed", T0 - timedelta(hours=2), message="无法连接：tousu.sina.com.cn（CannotResolveHostError）")
    add_run(db, "failed", T0 - timedelta(hours=1), message="无法连接：tousu.sina.com.cn（CannotResolveHostError）")
    assert check_sources(config, db)["opened"] == 0  # two failures in a row: not yet

    add_run(db, "failed", T0, message="无法连接：tousu.sina.com.cn（CannotResolveHostError）")
    assert check_sources(config, db) == {"opened": 1, "sent": 1}
    assert check_sources(config, db) == {"opened": 0, "sent": 0}
    (health,) = source_health(config, db)
    assert health.health == "failing" and health.failures_in_a_row == 3
    assert health.problems[0].summary.startswith("连续3次抓取失败，最近一次：无法连接")

    frozen(T0 + timedelta(hours=1))
    add_run(db, "ok", T0 + timedelta(hours=1))  # recovered, but still nothing new
    check_sources(config, db)
    assert open_alerts(db) == []  # the failing episode is over

    frozen(T0 + timedelta(hours=10))
    assert check_sources(config, db)["opened"] == 1  # silent since the last new post, 13 hours ago
    assert check_sources(config, db)["opened"] == 0
    assert [kind for kind, _ in open_alerts(db)] == ["silent"]

    for hours in (11, 12, 13):  # a new streak of failures is a new episode
        add_run(db, "failed", T0 + timedelta(hours=hours), message="无法连接")
    frozen(T0 + timedelta(hours=13, minutes=5))
    assert check_sources(config, db)["opened"] == 1
    assert sorted(kind for kind, _ in open_alerts(db)) == ["failing", "silent"]
    assert len(list(env.outbox.glob("ops-*.eml"))) == 3


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def test_ops_alert_over_smtp_and_no_resend_after_a_crash_mid_send(env, frozen):
    inbox = _Inbox()
    port = closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = yaml.safe_load((env.directory / "settings.yaml").read_text(encoding="utf-8"))
        settings["smtp"].update(host="127.0.0.1", port=port)
        (env.directory / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        env.write_sources({"heimao": source_config("https://tousu.sina.com.cn", failure_alert_after=1)})
        config, db = load_config(env.directory), env.db()
        frozen(T0)
        add_run(db, "blocked", T0)
        with db.session() as session:
            session.get(CrawlRun, 1).blocked_reason = "新浪登录页面 (https://tousu.sina.com.cn/api/index/s)"
        assert check_sources(config, db) == {"opened": 1, "sent": 1}
        (message,) = inbox.messages
        assert message["Message-ID"] == "<ops-1@wagewatch>" and message["To"].endswith("<ops@sd.example.gov.cn>")
        assert "新浪登录页面" in message.get_body(("plain",)).get_content()

        # A process that died between claiming a message and recording it: never sent twice.
        add_run(db, "failed", T0 + timedelta(minutes=5), message="无法连接")
        with db.session() as session:
            session.add(
                OpsAlert(
                    source="heimao",
                    kind="failing",
                    episode="run-2",
                    recipient_id="sd-ops",
                    channel="email",
                    summary="连续1次抓取失败",
                    status="sending",
                    attempts=1,
                    opened_at=T0,
                )
            )
        report = source_health(config, db)
        assert deliver_ops_alerts(config, db, report) == 0
        with db.session() as session:
            assert session.scalars(select(OpsAlert.status).where(OpsAlert.episode == "run-2")).one() == "unknown"
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_shipped_sources_fail_fast_and_are_recorded_when_nothing_answers(env):
    """The shipped sources.yaml with every host pointed at a closed port (an offline machine): each source
    records its connection failure after one attempt per host, and the stage carries on."""
    shipped = yaml.safe_load((REPO_CONFIG / "sources.yaml").read_text(encoding="utf-8"))
    offline = _rewrite(shipped, f"http://127.0.0.1:{closed_port()}")
    (env.directory / "sources.yaml").write_text(yaml.safe_dump(offline, allow_unicode=True), encoding="utf-8")
    config, db = load_config(env.directory), env.db()

    started = time.monotonic()
    result = crawl_stage(config, db)
    elapsed = time.monotonic() - started

    with db.session() as session:
        runs = {r.source: r for r in session.scalars(select(CrawlRun))}
    assert set(runs) == set(shipped["sources"]) == {o["source"] for o in result["sources"]}
    for source, run in runs.items():
        assert run.status == "failed" and run.error_message.startswith("无法连接：127.0.0.1"), (
            source,
            run.error_message,
        )
        assert run.requests <= 10, source  # no retries of an unreachable host
    print(f"all shipped sources offline: {elapsed:.1f} s")


def _rewrite(value, origin: str):
    """Every URL in the configuration, moved to `origin` (scheme and host replaced, path kept)."""
    if isinstance(value, str):
        return re.sub(r"^https?://[^/]+", origin, value)
    if isinstance(value, dict):
        return {k: _rewrite(v, origin) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, origin) for v in value]
    return value


def quiet_history(db, until: datetime) -> None:
    """Ten days of runs every six hours before `until`: new posts in three runs of four, so the longest quiet
    spell is one empty run, twelve hours between new posts."""
    for i in range(40):
        add_run(db, "ok", until - timedelta(hours=6 * (40 - i)), posts_new=0 if i % 4 == 1 else 2)


def test_silence_learned_from_the_sources_own_history_shows_in_sources(env, frozen):
    env.write_sources({"heimao": source_config("https://tousu.sina.com.cn")})  # no silence thresholds configured
    config, db = load_config(env.directory), env.db()
    quiet_history(db, T0)
    for hours in (0, 6):  # two empty runs: within what this source has shown before
        frozen(T0 + timedelta(hours=hours, minutes=5))
        add_run(db, "ok", T0 + timedelta(hours=hours))
        assert check_sources(config, db)["opened"] == 0
    (health,) = source_health(config, db)
    assert health.health == "ok" and health.problems == []

    frozen(T0 + timedelta(hours=12, minutes=5))
    add_run(db, "ok", T0 + timedelta(hours=12))  # a third: twice the longest quiet spell (one run), at least 3
    assert check_sources(config, db) == {"opened": 1, "sent": 1}
    shown = env.cli("sources")
    assert shown.exit_code == 0 and "沉默" in shown.output
    (line,) = env.cli("sources", "--json").output.splitlines()
    silent = json.loads(line)
    assert silent["health"] == "silent"
    assert silent["problems"][0]["summary"] == "已连续3次运行没有新帖（阈值3次，按历史学得）"
    (mail,) = env.outbox.glob("ops-*.eml")
    assert subject(mail) == "【数据源告警】heimao：沉默（长时间无新帖）"

    frozen(T0 + timedelta(hours=30, minutes=5))
    add_run(db, "ok", T0 + timedelta(hours=18))
    add_run(db, "ok", T0 + timedelta(hours=24))
    add_run(db, "ok", T0 + timedelta(hours=30))
    assert check_sources(config, db)["opened"] == 0  # still the same episode: ops were told once
    (health,) = source_health(config, db)
    # 12 h between new posts at most before: 25 h learned; the last new post was 36 h 4 min ago.
    assert health.problems[0].summary == (
        "已连续6次运行没有新帖（阈值3次，按历史学得）；已36小时没有新帖（阈值25小时，按历史学得）"
    )

    add_run(db, "ok", T0 + timedelta(hours=31), posts_new=1)  # it yields again: the episode is over
    check_sources(config, db)
    assert open_alerts(db) == []
    assert source_health(config, db)[0].health == "ok"
    assert len(list(env.outbox.glob("ops-*.eml"))) == 1


def test_configured_silence_thresholds_win_over_the_learned_ones(env, frozen):
    env.write_sources({"heimao": source_config("https://tousu.sina.com.cn", silence_runs=5, silence_hours=100)})
    config, db = load_config(env.directory), env.db()
    quiet_history(db, T0)
    for hours in (0, 6, 12, 18):
        add_run(db, "ok", T0 + timedelta(hours=hours))
    frozen(T0 + timedelta(hours=18, minutes=5))
    assert source_health(config, db)[0].problems == []  # four empty runs: the learned 3 would have flagged it
    add_run(db, "ok", T0 + timedelta(hours=24))
    frozen(T0 + timedelta(hours=24, minutes=5))
    (health,) = source_health(config, db)
    assert health.health == "silent" and health.problems[0].summary == "已连续5次运行没有新帖（阈值5次，配置）"


def test_nothing_is_learned_from_a_short_history(env, frozen):
    """Two days of runs teach nothing: runs are not counted, and the default hours apply."""
    env.write_sources({"heimao": source_config("https://tousu.sina.com.cn")})
    config, db = load_config(env.directory), env.db()
    for i in range(8):
        add_run(db, "ok", T0 - timedelta(hours=6 * (8 - i)), posts_new=2)
    for hours in range(0, 42, 6):
        add_run(db, "ok", T0 + timedelta(hours=hours))
    frozen(T0 + timedelta(hours=42))
    assert source_health(config, db)[0].problems == []  # seven empty runs, 48 h not yet reached
    frozen(T0 + timedelta(hours=49))
    (health,) = source_health(config, db)
    assert health.problems[0].summary == "已54小时没有新帖（阈值48小时，默认）"
