"""Escalate stage: follow every open lead until it is closed.

- Not acknowledged within the configured minutes of the officer being told: the next role of the chain in
  policy.yaml (by default deputy, then leader, then the provincial triage desk; one step per limit in
  escalation.ack_minutes).
- An alert at or above `fallback_min_severity` (3) not acknowledged within `fallback_minutes`: the same people
  again on their next channel (e.g. the robot message went unseen: SMS, then email).
- A reminder to the responsible officer `remind_hours_before_deadline` before the deadline; an open lead
  past its deadline is flagged overdue and the officer and the city leader are told.

Every message goes through the delivery table's unique key, so running the stage again sends nothing twice;
the leads a run changes are locked while it works (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on
SQLite), so several escalate processes never step one lead twice.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from wagewatch.alerts.holding import Release, held_for_digest, release
from wagewatch.alerts.queue import queue_delivery
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, Person
from wagewatch.core.states import Label, LeadStatus, SendStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery, Incident, Lead
from wagewatch.ledger.actions import OPEN, Ledger

ACTOR = "system:escalate"
FOLLOW_UP_PREFIXES = ("ops-", "remind", "overdue")


def _chain_people(config: AppConfig, lead: Lead, role: str) -> list[Person]:
    """The people with `role` on the lead's list (its city's, or the province's for a provincial lead); the
    provincial triage desk when there are none."""
    office = config.cities.cities.get(lead.city) if lead.city else config.cities.province
    return (office.with_role(role) if office else []) or config.cities.province.with_role("triage")


def escalate_unacknowledged(db: Database, config: AppConfig) -> int:
    """Queue an escalation delivery for every lead past its next acknowledgement limit."""
    steps = config.policy.escalation.ack_minutes
    queued = 0
    now = clock.now()
    with db.session(write=True) as session:
        rows = session.execute(
            select(Lead, Incident)
            .join(Incident, Incident.id == Lead.incident_id)
            .where(Lead.status == LeadStatus.OPEN, Lead.notified_at.is_not(None))
            .with_for_update(skip_locked=True, of=Lead)
        ).all()
        for lead, incident in rows:
            level = lead.escalation_level
            if level >= len(steps) or now < lead.notified_at + timedelta(minutes=steps[level]):
                continue
            chain = config.policy.escalation.chain
            people = _chain_people(config, lead, chain[min(level, len(chain) - 1)])
            when = release(
                config.policy, incident.label, incident.severity, now, digest=False, hold=held_for_digest(incident)
            )
            for person in people:
                queued += queue_delivery(session, db, lead.incident_id, person, f"escalate-{level + 1}", when)
            lead.escalation_level = level + 1
            Ledger(db, config).audit(
                session, ACTOR, lead, "escalated", {"level": level + 1, "to": [p.id for p in people]}
            )
    return queued


def fallback_unacknowledged(db: Database, config: AppConfig) -> int:
    """Severity 3-4 alerts not acknowledged in time reach the same person on their next configured channel."""
    now = clock.now()
    limit = now - timedelta(minutes=config.policy.escalation.fallback_minutes)
    queued = 0
    with db.session(write=True) as session:
        deliveries = session.scalars(
            select(AlertDelivery)
            .join(Lead, Lead.incident_id == AlertDelivery.incident_id)
            .join(Incident, Incident.id == AlertDelivery.incident_id)
            .where(
                Lead.status == LeadStatus.OPEN,
                Incident.label == Label.REAL,
                Incident.severity >= config.policy.escalation.fallback_min_severity,
                Incident.needs_review.is_(False),
                func.coalesce(Incident.resolution, "") != "resolved",  # resolved cases page nobody
                AlertDelivery.status.in_((SendStatus.SENT, SendStatus.UNKNOWN)),
                func.coalesce(AlertDelivery.sent_at, AlertDelivery.next_attempt_at) <= limit,
            )
        ).all()
        for delivery in deliveries:
            person = config.cities.person(delivery.recipient_id)
            if person is None or delivery.reason.startswith(FOLLOW_UP_PREFIXES):
                continue
            queued += queue_delivery(
                session,
                db,
                delivery.incident_id,
                person,
                delivery.reason,
                Release(SendStatus.PENDING, now),
                after_channel=delivery.channel_index,
            )
    return queued


def remind_and_flag_overdue(db: Database, config: AppConfig) -> int:
    """Remind officers before deadlines; flag overdue leads and tell the officer and the leader."""
    now = clock.now()
    remind_from = now + timedelta(hours=config.policy.escalation.remind_hours_before_deadline)
    queued = 0
    with db.session(write=True) as session:
        rows = session.execute(
            select(Lead, Incident)
            .join(Incident, Incident.id == Lead.incident_id)
            .where(Lead.status.in_(OPEN), Lead.deadline <= remind_from)
            .with_for_update(skip_locked=True, of=Lead)
        ).all()
        for lead, incident in rows:
            when = release(
                config.policy, incident.label, incident.severity, now, digest=False, hold=held_for_digest(incident)
            )
            officer = config.cities.person(lead.officer_id)
            if lead.deadline > now:
                if officer is not None:
                    queued += queue_delivery(session, db, lead.incident_id, officer, "remind", when)
                continue
            if lead.overdue:
                continue
            lead.overdue = True
            Ledger(db, config).audit(session, ACTOR, lead, "overdue", {"deadline": lead.deadline.isoformat()})
            people = ([officer] if officer else []) + _chain_people(config, lead, "leader")
            queued += sum(queue_delivery(session, db, lead.incident_id, p, "overdue", when) for p in people)
    return queued


def follow_up(db: Database, config: AppConfig) -> int:
    """The whole stage; returns how many messages it queued."""
    return (
        escalate_unacknowledged(db, config) + fallback_unacknowledged(db, config) + remind_and_flag_overdue(db, config)
    )


CHAIN_NAMES = {"deputy": "专班副组长", "leader": "分管领导", "triage": "省欠薪办研判值班"}


def _elapsed(delta: timedelta) -> str:
    """2天3小时, 45分钟: whole minutes, largest units first, zero parts left out."""
    days, rest = divmod(max(int(delta.total_seconds() // 60), 0), 24 * 60)
    hours, minutes = divmod(rest, 60)
    text = (f"{days}天" if days else "") + (f"{hours}小时" if hours else "")
    return text + (f"{minutes}分钟" if minutes or not text else "")


def follow_up_note(config: AppConfig, lead: Lead | None, reason: str) -> str | None:
    """What an escalation, reminder or overdue message says beyond the case itself: who has not acted, since
    when, and what happens next. None for any other message."""
    if lead is None or not reason.startswith(("escalate-", "remind", "overdue")):
        return None
    now = clock.now()
    owner = config.cities.person(lead.officer_id)
    who = f"{owner.name if owner else lead.officer_id}（{lead.city or '省级'}）"
    if reason.startswith("escalate-"):
        level = int(reason.rsplit("-", 1)[1])
        since = lead.notified_at or lead.created_at
        text = f"{who}自{clock.local(since):%m月%d日%H:%M}收到预警，已{_elapsed(now - since)}未签收。"
        steps, chain = config.policy.escalation.ack_minutes, config.policy.escalation.chain
        role = chain[min(level, len(chain) - 1)]
        if level < len(steps):
            next_at = since + timedelta(minutes=steps[level])
            return (
                text + f"下一步：如至{clock.local(next_at):%m月%d日%H:%M}仍未签收，"
                f"将升级提醒{CHAIN_NAMES.get(role, role)}。"
            )
        last = chain[min(level - 1, len(chain) - 1)]
        return text + f"已升级至最后一级（{CHAIN_NAMES.get(last, last)}），请立即督促属地签收办理。"
    deadline = f"{clock.local(lead.deadline):%m月%d日%H:%M}"
    if reason.startswith("remind"):
        return (
            f"{who}负责的线索当前为“{lead.status}”，办结时限{deadline}，剩余{_elapsed(lead.deadline - now)}。"
            "下一步：到期仍未办结将标记逾期，并通报责任人和分管领导。"
        )
    return (
        f"{who}负责的线索当前为“{lead.status}”，已于{deadline}超过办结时限（逾期{_elapsed(now - lead.deadline)}）。"
        "下一步：逾期情况计入周调度、月通报，请立即办理并在页面说明情况。"
    )
