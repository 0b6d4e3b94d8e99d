"""Dispatch stage: turn pending incidents into leads and deliveries, then deliver them.

Delivery semantics: at most once per (incident, recipient, channel, reason). A delivery is marked
`sending` and committed before the message leaves; if the process dies before the result is recorded,
the next run finds it still `sending`, marks it `unknown` (never re-sends it) and tells the ops contact,
while the unacknowledged lead escalates as usual, so the alert is not silently lost either.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import desc, select

from alerts.channels.base import ChannelError, Envelope
from alerts.delivery import record_failed_send, send
from alerts.render import AlertView, PostView, render
from alerts.routing import route
from wagewatch import clock
from wagewatch.config import AppConfig, Policy
from wagewatch.store import Database
from wagewatch.store.models import AlertDelivery, Analysis, AuditEvent, Incident, IndexQueue, Lead, Post

ACTOR = "system:dispatch"


def deadline_days(policy: Policy, incident: Incident) -> int:
    if incident.project_type in ("government", "soe"):
        return policy.deadlines.government_or_soe_days
    return policy.deadlines.default_days


def _lead_kind(incident: Incident, reason: str) -> str:
    return {"clarify": "clarify", "transfer": "transfer"}.get(reason, "new")


def plan_alerts(db: Database, config: AppConfig) -> int:
    """Create the lead and the deliveries of every incident waiting to be alerted."""
    planned = 0
    with db.session() as session:
        incidents = session.scalars(select(Incident).where(Incident.alert_state == "pending").order_by(Incident.id)).all()
        for incident in incidents:
            if incident.label == "real" and (incident.severity or 0) < config.policy.alert_min_severity:
                incident.alert_state = "alerted"
                continue
            now = clock.now()
            targets = route(config.cities, incident.label, incident.city, incident.severity, now)
            if not targets:
                continue
            lead = incident.lead
            if lead is None:
                first = targets[0]
                lead = Lead(incident_id=incident.id, city=first.city, officer_id=first.person.id,
                            kind=_lead_kind(incident, first.reason), status="待签收", created_at=now,
                            deadline=now + timedelta(days=deadline_days(config.policy, incident)))
                session.add(lead)
                session.flush()
                session.add(AuditEvent(actor=ACTOR, entity="lead", entity_id=lead.id, action="created",
                                       detail={"officer": lead.officer_id, "city": lead.city,
                                               "deadline": lead.deadline.isoformat()}))
                db.insert_ignore(session, IndexQueue, {"entity": "lead", "entity_id": lead.id})
            for target in targets:
                created = db.insert_ignore(session, AlertDelivery, dict(
                    incident_id=incident.id, recipient_id=target.person.id, channel=target.person.channels[0].type,
                    channel_index=0, reason=target.reason, status="pending", attempts=0, next_attempt_at=now,
                    created_at=now))
                planned += created is not None
            incident.alert_state = "alerted"
            incident.alerted_severity = incident.severity
    return planned


def recover_interrupted(db: Database, config: AppConfig) -> int:
    """Deliveries left `sending` by a crash become `unknown`; the ops contact is told to check them."""
    with db.session() as session:
        stuck = session.scalars(select(AlertDelivery).where(AlertDelivery.status == "sending")).all()
        for delivery in stuck:
            delivery.status = "unknown"
            delivery.last_error = "进程在发送过程中中断，是否送达未知；为避免重复发送未自动重发，请人工核实"
            session.add(AuditEvent(actor=ACTOR, entity="delivery", entity_id=delivery.id, action="unknown",
                                   detail={"recipient": delivery.recipient_id, "channel": delivery.channel,
                                           "ops_contact": config.settings.ops_contact}))
        return len(stuck)


def _view(session, incident: Incident, delivery: AlertDelivery, person_name: str, config: AppConfig) -> AlertView:
    posts = session.scalars(
        select(Post).join(Analysis, Analysis.post_id == Post.id).where(Analysis.incident_id == incident.id)
        .order_by(desc((Post.reposts + Post.comments)), Post.id).limit(3)
    ).all()
    lead = incident.lead
    return AlertView(
        incident_id=incident.id, label=incident.label, title=incident.title, city=incident.city,
        county=incident.county, severity=incident.severity, severity_score=incident.severity_score,
        explanation=list(incident.explanation or []), company=incident.company, project=incident.project,
        amount_yuan=incident.amount_yuan, workers=incident.workers,
        posts=[PostView(p.source, p.url, p.text, p.published_at) for p in posts],
        reason=delivery.reason, deadline=lead.deadline if lead else None,
        link=f"{config.settings.public_base_url.rstrip('/')}/leads/{lead.id if lead else ''}",
        recipient_name=person_name,
    )


def deliver_pending(db: Database, config: AppConfig) -> int:
    """Send every due delivery once; returns how many were sent."""
    sent = 0
    with db.session() as session:
        due_ids = session.scalars(
            select(AlertDelivery.id).where(AlertDelivery.status.in_(("pending", "failed")),
                                           AlertDelivery.next_attempt_at <= clock.now()).order_by(AlertDelivery.id)
        ).all()
    for delivery_id in due_ids:
        with db.session() as session:  # claim: committed before anything leaves this process
            delivery = session.get(AlertDelivery, delivery_id)
            if delivery.status not in ("pending", "failed"):
                continue
            person = config.cities.person(delivery.recipient_id)
            if person is None:
                delivery.status = "dead"
                delivery.last_error = f"recipient {delivery.recipient_id} no longer in cities.yaml"
                continue
            delivery.status = "sending"
            delivery.attempts += 1
            incident = session.get(Incident, delivery.incident_id)
            envelope = Envelope(delivery.id, person, person.channels[delivery.channel_index],
                                render(_view(session, incident, delivery, person.name, config)))
        try:
            message_id = send(envelope, config.settings)
        except ChannelError as exc:
            _record_failure(db, config, delivery_id, exc)
            continue
        with db.session() as session:
            delivery = session.get(AlertDelivery, delivery_id)
            delivery.status = "sent"
            delivery.sent_at = clock.now()
            delivery.message_id = message_id
            session.add(AuditEvent(actor=ACTOR, entity="delivery", entity_id=delivery_id, action="sent",
                                   detail={"recipient": delivery.recipient_id, "channel": delivery.channel}))
        sent += 1
    return sent


def _record_failure(db: Database, config: AppConfig, delivery_id: int, exc: ChannelError) -> None:
    with db.session() as session:
        delivery = session.get(AlertDelivery, delivery_id)
        if record_failed_send(delivery, exc, config.policy):
            session.add(AuditEvent(actor=ACTOR, entity="delivery", entity_id=delivery_id, action="dead",
                                   detail={"error": str(exc)[:500], "ops_contact": config.settings.ops_contact}))


def dispatch(db: Database, config: AppConfig) -> dict[str, int]:
    """The whole stage: recover, plan, deliver."""
    return {
        "unknown": recover_interrupted(db, config),
        "planned": plan_alerts(db, config),
        "sent": deliver_pending(db, config),
    }
