"""Texts the model cannot call reach provincial triage as 待研判 in the digest, with their passage; resolved
cases are recorded and alerted with the digest, never paged at night, and do not escalate by channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.alerts.conftest import FRIDAY_10, later, make_incident, use_robots
from wagewatch.alerts.holding import release
from wagewatch.alerts.routing import route
from wagewatch.core import clock
from wagewatch.core.config import load_config
from wagewatch.core.store.models import AlertDelivery, Analysis, Incident, Lead
from wagewatch.stages.cluster import cluster_pending, signature
from wagewatch.stages.dispatch import dispatch, plan_alerts
from wagewatch.stages.escalate import follow_up

PASSAGE = "在临沂兰山区干活的五名木工说，包工头欠他们三万二，已经两个月联系不上。"
SATURDAY_2AM = datetime(2026, 11, 28, 2, 0, tzinfo=clock.LOCAL_TZ)


def _set(store, incident_id: int, **values) -> None:
    with store.db.session() as session:
        incident = session.get(Incident, incident_id)
        for key, value in values.items():
            setattr(incident, key, value)


def test_review_goes_to_provincial_triage_whatever_the_label():
    cities = load_config().cities
    for label, city in (("real", "济南"), ("irrelevant", None), ("false", "青岛")):
        assert [(t.person.id, t.reason) for t in route(cities, label, city, 4, FRIDAY_10, review=True)] == [
            ("sd-triage", "review")
        ]


def test_held_incidents_wait_for_the_digest_whatever_the_severity():
    policy = load_config().policy
    held = release(policy, "real", 4, SATURDAY_2AM, hold=True)
    assert held.status == "digest" and clock.local(held.at).strftime("%H:%M") == "09:00"
    assert release(policy, "real", 4, SATURDAY_2AM).status == "pending"


def test_a_review_text_reaches_triage_in_the_digest_with_its_passage(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "province", "wecom")
    incident_id = make_incident(store.db, label="irrelevant", city=None, severity=None, title="一篇长文")
    _set(store, incident_id, needs_review=True, explanation=["判定为无关信息（置信度55%）", f"依据段落：“{PASSAGE}”"])
    config = store.reload()
    dispatch(store.db, config)
    with store.db.session() as session:
        [delivery] = session.scalars(select(AlertDelivery)).all()
        lead = session.scalar(select(Lead))
        assert (delivery.recipient_id, delivery.reason, delivery.status) == ("sd-triage", "review", "digest")
        assert lead.city is None
    assert not robots.received
    clock.freeze(FRIDAY_10.replace(hour=16, minute=30))
    assert dispatch(store.db, config)["sent"] == 1
    [digest] = robots.accepted("/wecom/province")
    content = digest.json()["markdown"]["content"]
    assert "【待研判】" in content and "包工头欠他们三万二" in content


def test_a_resolved_severe_case_pages_nobody_at_night_and_does_not_fall_back(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    use_robots(monkeypatch, robots, "province", "wecom")
    clock.freeze(SATURDAY_2AM)
    incident_id = make_incident(store.db, city="济南", severity=4, title="欠薪已追回")
    _set(store, incident_id, resolution="resolved")
    config = store.reload()
    plan_alerts(store.db, config)
    with store.db.session() as session:
        statuses = {d.status for d in session.scalars(select(AlertDelivery))}
    assert statuses == {"digest"}  # recorded and alerted, with the morning digest
    later(hours=12)
    dispatch(store.db, config)
    later(hours=2)
    follow_up(store.db, config)
    with store.db.session() as session:
        first_alerts = [d for d in session.scalars(select(AlertDelivery)) if d.reason == "severity-4"]
    assert first_alerts and all(d.channel_index == 0 for d in first_alerts)  # no fallback to SMS or email


def test_clustering_keeps_review_posts_and_a_callable_post_settles_the_incident(store):
    incident_id = make_incident(store.db, label="real", severity=2)
    _set(
        store,
        incident_id,
        needs_review=True,
        resolution="unresolved",
        signature=[int(v) for v in signature("某工地拖欠农民工工资").hashvalues],
    )
    with store.db.session() as session:
        [analysis] = session.scalars(select(Analysis).where(Analysis.incident_id == incident_id)).all()
        post_id = analysis.post_id
    with store.db.session() as session:
        post = session.get(Analysis, analysis.id).post
        clone = post.__class__(
            **{
                c: getattr(post, c)
                for c in ("source", "url", "text", "text_raw", "published_at", "reposts", "comments", "fetched_at")
            },
            external_id=f"{post_id}-again",
            state="analyzed",
        )
        session.add(clone)
        session.flush()
        session.add(
            Analysis(
                post_id=clone.id,
                label="real",
                scores={"real": 0.99},
                severity=2,
                severity_score=35.0,
                city="济南",
                explanation=[],
                model_version="test",
                needs_review=False,
                resolution="handling",
                clustered=False,
            )
        )
    cluster_pending(store.db, store.config.policy)
    with store.db.session() as session:
        incident = session.get(Incident, incident_id)
        assert incident.post_count == 2 and not incident.needs_review and incident.resolution == "handling"
