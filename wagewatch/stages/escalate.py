"""Escalate stage: leads nobody acknowledged move up the chain (deputy, leader, province)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from wagewatch import clock
from wagewatch.config import AppConfig
from wagewatch.store import Database
from wagewatch.store.models import AlertDelivery, AuditEvent, Lead

CHAIN = ("deputy", "leader", "triage")


def escalate_unacknowledged(db: Database, config: AppConfig) -> int:
    """Queue an escalation delivery for every lead past its next acknowledgement limit."""
    steps = config.policy.escalation.ack_minutes
    queued = 0
    now = clock.now()
    with db.session() as session:
        leads = session.scalars(select(Lead).where(Lead.status == "待签收")).all()
        for lead in leads:
            level = lead.escalation_level
            if level >= len(steps) or now < lead.created_at + timedelta(minutes=steps[level]):
                continue
            role = CHAIN[min(level, len(CHAIN) - 1)]
            office = config.cities.cities.get(lead.city) if lead.city else None
            people = (office.with_role(role) if office and role != "triage" else []) or \
                config.cities.province.with_role("triage")
            for person in people:
                created = db.insert_ignore(session, AlertDelivery, dict(
                    incident_id=lead.incident_id, recipient_id=person.id, channel=person.channels[0].type,
                    channel_index=0, reason=f"escalate-{level + 1}", status="pending", attempts=0,
                    next_attempt_at=now, created_at=now))
                queued += created is not None
            lead.escalation_level = level + 1
            session.add(AuditEvent(actor="system:escalate", entity="lead", entity_id=lead.id, action="escalated",
                                   detail={"level": level + 1, "to": [p.id for p in people]}))
    return queued
