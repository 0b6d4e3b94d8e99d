"""Delivery you can trust: retries with backoff, dead letters and the ops contact, fallback to the next
channel, no duplicate after a crash between send and record, digests, and re-alerts only when it matters."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import select

from tests.alerts.conftest import FRIDAY_10, later, make_incident, use_robots
from tests.conftest import REPO
from wagewatch.core import clock
from wagewatch.core.store.models import AlertDelivery, Analysis, Incident, Post
from wagewatch.stages.cluster import _merge
from wagewatch.stages.dispatch import dispatch
from wagewatch.stages.escalate import follow_up


def _deliveries(store, **where) -> list[AlertDelivery]:
    with store.db.session() as session:
        query = select(AlertDelivery).order_by(AlertDelivery.id)
        for key, value in where.items():
            query = query.where(getattr(AlertDelivery, key) == value)
        return list(session.scalars(query))


def test_retries_with_backoff_then_succeeds(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    config = store.reload()
    robots.script["/wecom/jinan"] = [(502, {"error": "bad gateway"}), (200, {"errcode": 45009, "errmsg": "freq"})]
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, config)
    [delivery] = _deliveries(store, recipient_id="jinan-duty-day")
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.next_attempt_at == FRIDAY_10 + timedelta(seconds=60)
    assert dispatch(store.db, config)["sent"] == 0  # not due yet: nothing is tried
    later(minutes=1)
    dispatch(store.db, config)  # the rate limit (45009) is retryable too, after twice the wait
    [delivery] = _deliveries(store, recipient_id="jinan-duty-day")
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=120)
    later(minutes=2)
    assert dispatch(store.db, config)["sent"] == 1
    assert len(robots.accepted("/wecom/jinan")) == 1 and len(robots.mentions("/wecom/jinan")) == 1
    assert len(robots.received) == 4  # two refusals, then the alert and its @-mention


def test_dead_letter_after_the_last_retry_tells_ops_and_falls_back(store, robots, monkeypatch, config_files):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    config_files.update("policy.yaml", lambda p: p.update(max_send_attempts=2))
    config = store.reload()
    robots.script["/wecom/jinan"] = [(503, {"error": "down"})] * 2
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, config)
    later(minutes=1)
    dispatch(store.db, config)
    [dead] = _deliveries(store, channel="wecom")
    assert dead.status == "dead" and "HTTP 503" in dead.last_error
    dispatch(store.db, config)
    [sms] = _deliveries(store, channel="sms", recipient_id="jinan-duty-day")
    assert (sms.status, sms.reason) == ("sent", dead.reason)
    [ops] = _deliveries(store, recipient_id="sd-ops")
    assert ops.reason == f"ops-dead-{dead.id}" and ops.status == "sent"
    mail = message_from_bytes(
        (store.root / "outbox" / f"delivery-{ops.id:08d}-email.eml").read_bytes(), policy=policy.default
    )
    assert "投递失败" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "jinan-duty-day" in text and "HTTP 503" in text


def test_unacknowledged_severe_alert_reaches_the_same_person_on_the_next_channel(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    config = store.reload()
    make_incident(store.db, city="济南", severity=3)
    dispatch(store.db, config)
    assert len(robots.accepted("/wecom/jinan")) == 1 and len(robots.accepted("/sms")) == 1  # duty robot, leader SMS
    later(minutes=config.policy.escalation.fallback_minutes - 1)
    assert follow_up(store.db, config) == 0
    later(minutes=2)
    assert follow_up(store.db, config) == 2  # duty officer: SMS; leader: email
    dispatch(store.db, config)
    assert {r.json()["mobile"] for r in robots.accepted("/sms")} == {"00000000014", "00000000011"}
    assert follow_up(store.db, config) == 0
    later(minutes=config.policy.escalation.fallback_minutes + 1)
    assert follow_up(store.db, config) == 2  # then email for the duty officer; deputy escalation at 30 min
    # A low-severity alert does not fall back: escalation is enough.
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, config)
    later(minutes=20)
    before = len(_deliveries(store))
    follow_up(store.db, config)
    assert not [d for d in _deliveries(store)[before:] if d.incident_id == 2 and not d.reason.startswith("escalate")]


CRASH_AFTER_SEND = """
import os, sys
from wagewatch.core.config import load_config
from wagewatch.core.store import Database
import wagewatch.alerts.delivery as delivery_module
from wagewatch.stages.dispatch import dispatch

real_send = delivery_module.send
def send_then_die(*args):
    result = real_send(*args)
    os._exit(9)  # the message left; the process dies before recording it
delivery_module.send = send_then_die
config = load_config(sys.argv[1])
dispatch(Database(config.settings.database_url), config)
"""


def test_no_duplicate_after_a_crash_between_send_and_record(store, robots, monkeypatch, config_files):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    # One message in flight at a time: the crash then leaves exactly that one unknown (with several senders,
    # each message in flight at the crash would be; see test_concurrent_sends).
    config_files.update("settings.yaml", lambda s: s.update(dispatch={"senders": 1}))
    config = store.reload()
    make_incident(store.db, city="济南", severity=3)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_SEND, str(store.root / "config")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 9, crashed.stderr[-2000:]
    assert len(robots.accepted("/wecom/jinan")) == 1
    [stuck] = _deliveries(store, status="sending")
    clock.freeze(None)
    dispatch(store.db, config)  # its lease is not over: the worker may still be sending, so it is left alone
    assert _deliveries(store, id=stuck.id)[0].status == "sending" and not _deliveries(store, recipient_id="sd-ops")
    clock.freeze(stuck.lease_until + timedelta(seconds=1))
    for _ in range(2):
        dispatch(store.db, config)
    assert len(robots.accepted("/wecom/jinan")) == 1  # never sent again
    assert _deliveries(store, id=stuck.id)[0].status == "unknown"
    [ops] = _deliveries(store, recipient_id="sd-ops")
    assert ops.reason == f"ops-unknown-{stuck.id}" and ops.status == "sent"
    assert len(robots.accepted("/sms")) == 1  # the leader's alert went out normally


def test_connection_dropped_after_sending_is_not_retried(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    config = store.reload()
    robots.script["/wecom/jinan"] = [(200, None)]
    make_incident(store.db, city="济南", severity=2)
    dispatch(store.db, config)
    later(hours=1)
    dispatch(store.db, config)
    [robot] = _deliveries(store, channel="wecom")
    assert robot.status == "unknown" and robot.attempts == 1 and "connection broke after sending" in robot.last_error
    assert len(robots.received) == 1


def test_low_severity_alerts_go_out_together_in_one_digest(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    config = store.reload()
    for i in range(3):
        make_incident(store.db, city="济南", severity=1, title=f"济南第{i}起个人欠薪")
    dispatch(store.db, config)
    assert not robots.received and {d.status for d in _deliveries(store)} == {"digest"}
    clock.freeze(FRIDAY_10.replace(hour=16, minute=30))
    assert dispatch(store.db, config)["sent"] == 3
    [digest] = robots.accepted("/wecom/jinan")
    content = digest.json()["markdown"]["content"]
    assert "一般欠薪线索汇总（3条）" in content and all(f"济南第{i}起" in content for i in range(3))
    assert len({d.message_id for d in _deliveries(store)}) == 1


def _add_post(store, incident_id: int, *, severity: int | None = None, city: str = "济南", reach: int = 0) -> None:
    """What clustering does when one more post joins an alerted incident."""
    with store.db.session() as session:
        incident = session.get(Incident, incident_id)
        post = Post(
            source="weibo",
            external_id=f"more-{incident.post_count}",
            url="https://x/y",
            text="后续",
            text_raw="后续",
            reposts=reach,
            comments=0,
            fetched_at=clock.now(),
            state="analyzed",
        )
        session.add(post)
        session.flush()
        analysis = Analysis(
            post_id=post.id,
            label=incident.label,
            scores={},
            severity=severity or incident.severity,
            severity_score=10,
            city=city,
            explanation=["更新"],
            model_version="t",
            extreme=False,
            incident_id=incident.id,
            clustered=True,
        )
        session.add(analysis)
        _merge(incident, analysis, post, store.config.policy)


def test_realert_only_on_severity_rise_heat_jump_or_new_city(store):
    incident = make_incident(store.db, city="济南", severity=2, reach=1000)
    dispatch(store.db, store.config)
    first = len(_deliveries(store))
    _add_post(store, incident, reach=300)  # a little more reach: nothing new
    _add_post(store, incident, city="济南")
    assert dispatch(store.db, store.config)["planned"] == 0
    _add_post(store, incident, severity=3)  # severity rises: duty officer again, and now the leader
    dispatch(store.db, store.config)
    new = [(d.recipient_id, d.reason) for d in _deliveries(store)[first:]]
    assert new == [("jinan-duty-day", "severity-3"), ("jinan-leader", "severity-3")]
    _add_post(store, incident, reach=2000)  # reach 1300 -> 3300: more than doubled
    dispatch(store.db, store.config)
    heat = [(d.recipient_id, d.reason) for d in _deliveries(store)[first + 2 :]]
    assert heat == [("jinan-duty-day", "heat-3300"), ("jinan-leader", "heat-3300")]
    _add_post(store, incident, city="泰安")  # a second city is involved
    dispatch(store.db, store.config)
    assert [(d.recipient_id, d.reason) for d in _deliveries(store)[first + 4 :]] == [
        ("taian-duty-day", "severity-3"),
        ("taian-leader", "severity-3"),
    ]
    assert dispatch(store.db, store.config) == {
        "planned": 0,
        "sent": 0,
        "failed": 0,
        "dead": 0,
        "unknown": 0,
        "folded": 0,
    }
